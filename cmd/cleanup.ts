/**
 * `orch cleanup`: removes what an agent's networking left in the kernel and
 * in Docker (the uninstall step; stop the agent or server first). Pods'
 * containers are not touched: their network goes, so stop them first too.
 */
import type { Argv, CommandModule } from 'yargs';

interface CleanupFlags {
  containerRuntimeEndpoint?: string;
  clusterDns?: string;
}

export const cleanupCommand: CommandModule<object, CleanupFlags> = {
  command: 'cleanup',
  describe: "Remove the node's Service proxy table, pod network routes, chains and Docker network, and the cluster DNS address (run with orch stopped)",
  builder: (y: Argv) =>
    y.options({
      'container-runtime-endpoint': { type: 'string', describe: 'Docker daemon address (default DOCKER_HOST or unix:///var/run/docker.sock)' },
      'cluster-dns': { type: 'string', describe: 'The cluster DNS address the agent held (default 10.43.0.10)' },
    }) as unknown as Argv<CleanupFlags>,
  handler: async (f) => {
    const [{ cleanupNodeNetworking }, { defaultRuntimeEndpoint }, { DEFAULT_CLUSTER_DNS }] = await Promise.all([
      import('../pkg/agent/node-networking.js'),
      import('./agent.js'),
      import('../pkg/agent/network-config.js'),
    ]);
    try {
      await cleanupNodeNetworking({
        runtimeEndpoint: f.containerRuntimeEndpoint ?? defaultRuntimeEndpoint(process.env),
        clusterDns: f.clusterDns ?? DEFAULT_CLUSTER_DNS,
        log: (m) => process.stderr.write(`orch cleanup: ${m}\n`),
      });
    } catch (e) {
      process.stderr.write(`orch cleanup: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  },
};
