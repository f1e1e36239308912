/** `orch server`: flag parsing (k3s names) and process lifecycle only. */
import type { Argv, CommandModule } from 'yargs';
import { homedir } from 'node:os';
import { defaultDataDir } from '../pkg/server/datadir.js';
import { parseServerFlags, type ServerFlags } from '../pkg/server/flags.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export const serverCommand: CommandModule<object, ServerFlags> = {
  command: 'server',
  describe: 'Run the control plane (API server, store, controllers) and, unless disabled, an agent',
  builder: (y: Argv) =>
    y
      .option('data-dir', { alias: 'd', type: 'string', describe: 'Folder for state (default /var/lib/orch as root, ~/.orch otherwise)' })
      .option('https-listen-port', { type: 'number', default: 6443, describe: 'HTTPS port of the API' })
      .option('bind-address', { type: 'string', default: '0.0.0.0', describe: 'Address the API listens on' })
      .option('write-kubeconfig', { alias: 'o', type: 'string', describe: 'Write the admin kubeconfig here (default /etc/orch/orch.yaml as root)' })
      .option('write-kubeconfig-mode', { type: 'string', describe: 'File mode of the kubeconfig, e.g. 0644 (default 0600)' })
      .option('token', { alias: 't', type: 'string', describe: 'Shared secret agents join with (env ORCH_TOKEN)' })
      .option('cluster-cidr', { type: 'string', default: '10.42.0.0/16', describe: 'IPv4 range for pod addresses' })
      .option('service-cidr', { type: 'string', default: '10.43.0.0/16', describe: 'IPv4 range for Service ClusterIPs' })
      .option('service-node-port-range', { type: 'string', default: '30000-32767', describe: 'Port range for NodePort Services' })
      .option('tls-san', { type: 'string', array: true, default: [] as string[], describe: 'Extra host name or IP for the serving certificate' })
      .option('advertise-address', { type: 'string', describe: 'Address agents and the kubernetes Service use to reach the API' })
      .option('disable-agent', { type: 'boolean', default: false, describe: 'Run the control plane only' })
      .option('node-name', { type: 'string', describe: 'Name of the embedded agent node (default: host name)' })
      .option('node-label', { type: 'string', array: true, default: [] as string[], describe: 'Label for the embedded agent node (key=value)' })
      .option('node-taint', { type: 'string', array: true, default: [] as string[], describe: 'Taint for the embedded agent node (key=value:Effect)' })
      .env('ORCH') as unknown as Argv<ServerFlags>,
  handler: async (argv) => {
    const root = isRoot();
    let cfg;
    try {
      cfg = parseServerFlags({ ...argv, dataDir: argv.dataDir ?? defaultDataDir({ isRoot: root, home: homedir() }) }, root);
    } catch (e) {
      process.stderr.write(`orch server: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    }
    const { startServer } = await import('../pkg/server/server.js');
    const log = (m: string) => process.stderr.write(`${m}\n`);
    if (!argv.disableAgent) log('orch server: the embedded agent is not part of this build yet; running the control plane only');
    let running;
    try {
      running = await startServer({ ...cfg, log });
    } catch (e) {
      process.stderr.write(`orch server: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    }
    const stop = (signal: string) => {
      log(`orch server: ${signal} received, shutting down`);
      running.close().then(
        () => process.exit(0),
        (e: unknown) => {
          process.stderr.write(`orch server: shutdown failed: ${String(e)}\n`);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  },
};
