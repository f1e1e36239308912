/** `orch kubectl`: runs the kubectl on PATH against this cluster, as `k3s kubectl` does. */
import type { CommandModule } from 'yargs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';

import { defaultDataDir } from '../pkg/server/datadir.js';
import { defaultKubeconfigPath } from '../pkg/server/kubeconfig.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Runs kubectl with orch's admin kubeconfig unless the caller chose one; resolves to its exit code. */
export function runKubectl(args: string[]): Promise<number> {
  const env = { ...process.env };
  const chose = args.some((a) => a === '--kubeconfig' || a.startsWith('--kubeconfig='));
  if (!chose && !env.KUBECONFIG) {
    const root = isRoot();
    env.KUBECONFIG = defaultKubeconfigPath({ isRoot: root, dataDir: defaultDataDir({ isRoot: root, home: homedir() }) });
    if (!existsSync(env.KUBECONFIG)) {
      process.stderr.write(`orch kubectl: no kubeconfig at ${env.KUBECONFIG}; start \`orch server\` first (or set KUBECONFIG)\n`);
    }
  }
  return new Promise((resolve) => {
    const child = spawn('kubectl', args, { stdio: 'inherit', env });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        process.stderr.write('orch kubectl: kubectl is not installed (not found on PATH). Install kubectl, e.g. from your distribution or https://kubernetes.io/docs/tasks/tools/, then run this again.\n');
        resolve(127);
      } else {
        process.stderr.write(`orch kubectl: cannot run kubectl: ${e.message}\n`);
        resolve(1);
      }
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export const kubectlCommand: CommandModule = {
  command: 'kubectl [args..]',
  describe: "Run kubectl against this cluster with orch's admin kubeconfig",
  handler: async () => {
    // Handled before yargs parses (see orch.ts) so kubectl's own flags pass through.
  },
};

