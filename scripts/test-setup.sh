#!/usr/bin/env bash
# Prepares this machine for the test suite: a fresh build of the CLI (the
# end-to-end tests run dist/cmd/orch.js like a user would), kubectl, and a
# running Docker daemon (scripts/docker-setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v kubectl >/dev/null 2>&1; then
  echo "test-setup: kubectl is required for the end-to-end tests (not found on PATH)" >&2
  exit 1
fi
# Docker for the kubelet/agent tests: installed and started when absent.
bash scripts/docker-setup.sh
npm run --silent build
