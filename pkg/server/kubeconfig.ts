// The admin kubeconfig the server writes on start, shaped like k3s'
// /etc/rancher/k3s/k3s.yaml but authenticating with a bearer token.

import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './datadir.js';

/** A kubeconfig cannot be written as asked (bad --write-kubeconfig-mode, ...). */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** Default file mode of the admin kubeconfig: it holds the admin token. */
export const DEFAULT_KUBECONFIG_MODE = 0o600;

/** Parses a file mode given as an octal string ("0644", "644") or a number; throws KubeconfigError. */
export function parseFileMode(mode: string | number): number {
  if (typeof mode === 'number') {
    if (Number.isInteger(mode) && mode >= 0 && mode <= 0o777) return mode;
  } else if (/^0?[0-7]{3}$/.test(mode.trim())) {
    return parseInt(mode.trim(), 8);
  }
  throw new KubeconfigError(`invalid kubeconfig mode "${String(mode)}": expected an octal file mode such as 0600 or 0644`);
}

/** Default kubeconfig location: /etc/orch/orch.yaml as root, <dataDir>/kubeconfig.yaml otherwise. */
export function defaultKubeconfigPath(opts: { isRoot: boolean; dataDir: string }): string {
  return opts.isRoot ? '/etc/orch/orch.yaml' : join(opts.dataDir, 'kubeconfig.yaml');
}

/** What goes into a kubeconfig. */
export interface KubeconfigContent {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  caPem: string;
  token: string;
  clusterName?: string;
  userName?: string;
  contextName?: string;
}

/** Options of writeKubeconfig. */
export interface WriteKubeconfigOptions extends KubeconfigContent {
  path: string;
  /** Octal string from the CLI ("0644") or a number; default 0600. */
  mode?: string | number;
}

/** Renders the kubeconfig YAML (keys in the order kubectl itself writes them). */
export async function renderKubeconfig(c: KubeconfigContent): Promise<string> {
  // Loaded here, not at start-up: the YAML library is the server's slowest import after the web framework.
  const { stringify } = await import('yaml');
  const cluster = c.clusterName ?? 'default';
  const user = c.userName ?? 'default';
  const context = c.contextName ?? 'default';
  return stringify({
    apiVersion: 'v1',
    clusters: [
      {
        cluster: {
          'certificate-authority-data': Buffer.from(c.caPem).toString('base64'),
          server: c.server,
        },
        name: cluster,
      },
    ],
    contexts: [{ context: { cluster, user }, name: context }],
    'current-context': context,
    kind: 'Config',
    preferences: {},
    users: [{ name: user, user: { token: c.token } }],
  });
}

/** Writes the kubeconfig atomically with the given mode (default 0600), creating its directory. */
export async function writeKubeconfig(opts: WriteKubeconfigOptions): Promise<void> {
  // Validate before touching the filesystem so a typo leaves nothing behind.
  const mode = opts.mode === undefined ? DEFAULT_KUBECONFIG_MODE : parseFileMode(opts.mode);
  await mkdir(dirname(opts.path), { recursive: true, mode: 0o755 });
  await writeFileAtomic(opts.path, await renderKubeconfig(opts), mode);
}
