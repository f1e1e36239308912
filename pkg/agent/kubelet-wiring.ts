/**
 * Starts what runs pods on a node: the kubelet over the container runtime,
 * and the tunnel through which the API server reaches it for logs, exec,
 * attach and port-forward. Loaded by cmd wiring only (it pulls in the
 * kubelet and, through the runtime, Docker code).
 */
import { join } from 'node:path';
import type { BackoffOptions } from '../kubelet/backoff.js';
import { startKubelet } from '../kubelet/kubelet.js';
import { serveStream } from '../kubelet/streaming.js';
import { startTunnel } from './tunnel.js';
import type { KubeletDeps } from './agent.js';
import { nodeNetworkFromFlags } from './network-config.js';
import { startNodeNetworking } from './node-networking.js';

/** The kubelet's state lives in <data-dir>/agent, as k3s keeps it. */
export function kubeletDataDir(dataDir: string): string {
  return join(dataDir, 'agent');
}

/** A positive integer from the environment, else undefined (a bad value is an error that names the variable). */
function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}=${JSON.stringify(v)}: want a positive number of milliseconds`);
  return n;
}

/**
 * The CrashLoopBackOff delays, for tests only: ORCH_KUBELET_BACKOFF_INITIAL_MS
 * and ORCH_KUBELET_BACKOFF_MAX_MS shorten the kubelet's 10 s → 300 s restart
 * back-off so a test sees several restarts in seconds. Unset: the defaults.
 */
export function restartBackoffFromEnv(env: NodeJS.ProcessEnv): BackoffOptions | undefined {
  const initialMs = envMs(env, 'ORCH_KUBELET_BACKOFF_INITIAL_MS');
  const maxMs = envMs(env, 'ORCH_KUBELET_BACKOFF_MAX_MS');
  if (initialMs === undefined && maxMs === undefined) return undefined;
  return { ...(initialMs !== undefined ? { initialMs } : {}), ...(maxMs !== undefined ? { maxMs } : {}) };
}

/**
 * startKubelet for the agent: the node's networking (pod network, Service
 * proxy, cluster DNS, as deps.network says), the kubelet, and its tunnel
 * to the server.
 */
export async function startNodeKubelet(deps: KubeletDeps): Promise<{ stop(): Promise<void> }> {
  const runtime = deps.runtime;
  if (!runtime) throw new Error('the kubelet needs a container runtime');
  const dataDir = kubeletDataDir(deps.dataDir);
  const netConfig = deps.network ?? nodeNetworkFromFlags({});
  const networking = await startNodeNetworking(deps, netConfig);
  const podNetwork = networking.podNetwork;
  let kubelet: Awaited<ReturnType<typeof startKubelet>>;
  try {
    kubelet = await startKubelet({
      client: deps.client,
      runtime,
      nodeName: deps.nodeName,
      nodeIP: deps.nodeIP,
      dataDir,
      imageArchiveDir: join(dataDir, 'images'),
      restartBackoff: restartBackoffFromEnv(process.env),
      clusterDNS: networking.clusterDNS,
      ...(netConfig.clusterDns ? { clusterDomain: netConfig.clusterDns.domain } : {}),
      resolvConfPath: netConfig.resolvConf,
      ...(podNetwork ? { podNetwork: podNetwork.network, afterSandboxStart: () => podNetwork.ensureHairpin() } : {}),
      onError: (e, what) => deps.log(`kubelet: ${what}: ${e instanceof Error ? e.message : String(e)}`),
    });
  } catch (e) {
    await networking.stop();
    throw e;
  }
  const endpoint = deps.tunnel;
  const tunnel = endpoint
    ? startTunnel({
        server: endpoint.server,
        caPem: endpoint.caPem,
        token: endpoint.credential,
        nodeName: deps.nodeName,
        log: deps.log,
        serve: (req, ws) => serveStream(req, ws, { runtime, findContainer: (ns, pod, c, previous) => kubelet.findContainer(ns, pod, c, previous) }),
      })
    : undefined;
  return {
    async stop() {
      await tunnel?.stop();
      await kubelet.stop();
      await networking.stop();
    },
  };
}
