#!/usr/bin/env bash
# Makes sure Docker (and what the Docker tests use) is installed and running:
#   - installs docker.io, busybox-static, iptables, nftables, iproute2 with apt-get when
#     something is missing (Debian/Ubuntu); elsewhere says how and stops;
#   - starts dockerd when `docker info` fails (systemctl when systemd is PID 1,
#     otherwise a background dockerd logging to /var/log/orch-dockerd.log);
#   - waits for the daemon to answer (up to ~30 s).
# Idempotent, and quick when everything is already there.
set -euo pipefail

log() { echo "docker-setup: $*" >&2; }
die() { log "$*"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

# What is missing: command → Debian package.
missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/busybox ] || [ -x /bin/busybox ] || missing+=(busybox-static)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The agent's Service proxy programs nftables with the nft CLI.
command -v nft >/dev/null 2>&1 || missing+=(nftables)

if [ "${#missing[@]}" -gt 0 ]; then
  # De-duplicate while keeping order.
  pkgs=$(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
  if command -v apt-get >/dev/null 2>&1; then
    log "installing: $pkgs"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs >/dev/null
  else
    die "missing: $pkgs— apt-get not found. On CentOS/RHEL/Fedora install Docker with
  dnf install -y dnf-plugins-core && dnf config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo && dnf install -y docker-ce
or (Fedora) dnf install -y moby-engine; plus busybox (static), iptables, nftables and iproute; then run this script again."
  fi
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(ps -o comm= -p 1 2>/dev/null)" = "systemd" ]; then
  log "starting docker (systemctl start docker)"
  $SUDO systemctl start docker
else
  log "starting dockerd in the background (log: /var/log/orch-dockerd.log)"
  $SUDO sh -c 'nohup dockerd >/var/log/orch-dockerd.log 2>&1 &'
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "docker is running"
    exit 0
  fi
  sleep 0.5
done
die "the Docker daemon did not answer within 30 s (see /var/log/orch-dockerd.log or 'journalctl -u docker'; is the socket /var/run/docker.sock accessible to $(id -un)?)"
