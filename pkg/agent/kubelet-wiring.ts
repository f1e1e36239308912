/**
 * Starts what runs pods on a node: the kubelet over the container runtime,
 * and the tunnel through which the API server reaches it for logs, exec,
 * attach and port-forward. Loaded by cmd wiring only (it pulls in the
 * kubelet and, through the runtime, Docker code).
 */
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { Informer } from '../client/informer.js';
import type { BackoffOptions } from '../kubelet/backoff.js';
import { startKubelet } from '../kubelet/kubelet.js';
import { serveStream } from '../kubelet/streaming.js';
import { startTunnel } from './tunnel.js';
import { dockerNetworkApi } from '../network/docker-network.js';
import { DEFAULT_CLUSTER_CIDR, startPodNetwork, type PodNetwork } from '../network/network.js';
import { parseCidr } from '../network/plan.js';
import type { KubeletDeps } from './agent.js';

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

/** The pod network the agent runs, from the environment. */
export interface PodNetworkConfig {
  mode: 'host-gw';
  clusterCidr: string;
}

/**
 * EXPERIMENTAL until the service proxy and cluster DNS are wired:
 * ORCH_POD_NETWORK=host-gw gives the node a pod bridge of its own on its
 * spec.podCIDR, routes to the other nodes' podCIDRs (all nodes on one L2
 * segment) and masquerading (pkg/network); ORCH_CLUSTER_CIDR must match the
 * server's --cluster-cidr (default 10.42.0.0/16). Unset: pods stay on
 * Docker's default bridge, reachable from their own node only.
 */
export function podNetworkFromEnv(env: NodeJS.ProcessEnv): PodNetworkConfig | undefined {
  const mode = env['ORCH_POD_NETWORK'];
  if (mode === undefined || mode === '' || mode === 'none') return undefined;
  if (mode !== 'host-gw') throw new Error(`ORCH_POD_NETWORK=${JSON.stringify(mode)}: want host-gw (or none)`);
  const clusterCidr = env['ORCH_CLUSTER_CIDR'] || DEFAULT_CLUSTER_CIDR;
  if (!parseCidr(clusterCidr)) throw new Error(`ORCH_CLUSTER_CIDR=${JSON.stringify(clusterCidr)}: want an IPv4 network such as 10.42.0.0/16`);
  return { mode, clusterCidr };
}

/** Starts the node's pod network (with a Node informer of its own); stop() leaves routes, rules and the network in place. */
async function startNodePodNetwork(deps: KubeletDeps, config: PodNetworkConfig): Promise<{ net: PodNetwork; stop(): Promise<void> }> {
  const nodes = new Informer<Node>(deps.client.resource('nodes'), { onError: (e) => deps.log(`pod network: node informer: ${e instanceof Error ? e.message : String(e)}`) });
  nodes.start();
  try {
    const net = await startPodNetwork({ nodeName: deps.nodeName, nodes, docker: dockerNetworkApi(deps.runtimeEndpoint), clusterCidr: config.clusterCidr, log: deps.log });
    return {
      net,
      async stop() {
        await net.stop();
        await nodes.stop();
      },
    };
  } catch (e) {
    await nodes.stop();
    throw e;
  }
}

/** startKubelet for the agent: the kubelet plus its tunnel to the server (and, with ORCH_POD_NETWORK, the pod network). */
export async function startNodeKubelet(deps: KubeletDeps): Promise<{ stop(): Promise<void> }> {
  const runtime = deps.runtime;
  if (!runtime) throw new Error('the kubelet needs a container runtime');
  const dataDir = kubeletDataDir(deps.dataDir);
  const netConfig = podNetworkFromEnv(process.env);
  const podNetwork = netConfig ? await startNodePodNetwork(deps, netConfig) : undefined;
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
      ...(podNetwork ? { podNetwork: podNetwork.net.network } : {}),
      onError: (e, what) => deps.log(`kubelet: ${what}: ${e instanceof Error ? e.message : String(e)}`),
    });
  } catch (e) {
    await podNetwork?.stop();
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
      await podNetwork?.stop();
    },
  };
}
