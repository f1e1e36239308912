/**
 * The pod network of a node (host-gw): the node's spec.podCIDR becomes a
 * Docker bridge network the agent owns and the kubelet puts sandboxes on;
 * every other node's podCIDR is routed via that node's InternalIP (so all
 * nodes must share one L2 segment); pod traffic leaving the cluster CIDR is
 * masqueraded, and forwarding within it accepted, in two iptables chains of
 * our own. Everything is reconciled from the Node informer and on a timer,
 * and cleanup() removes it all.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { NetworkApi } from './docker-network.js';
import { enableHairpin, ensureRules, execRun, listRoutes, removeRoute, removeRules, replaceRoute, type Run } from './kernel.js';
import {
  desiredRoutes,
  diffRoutes,
  internalIPOf,
  networkMismatch,
  networkSpec,
  parseCidr,
  podCidrOf,
  cidrContains,
  NETWORK_LABEL,
  BRIDGE_NAME_OPTION,
  type NetworkSpec,
} from './plan.js';

/** Nodes as the pod network reads them; an Informer<Node> is one. */
export interface NodeSource {
  list(): Node[];
  addEventHandler(h: { onAdd?(n: Node): void; onUpdate?(o: Node, n: Node): void; onDelete?(n: Node): void }): () => void;
  /** False until the first list is in: routes are not pruned against a partial view. */
  hasSynced?(): boolean;
  /** Resolves once the first list is in (awaited before anything else). */
  waitForSync?(signal?: AbortSignal): Promise<void>;
}

/** Options of startPodNetwork. */
export interface PodNetworkOptions {
  nodeName: string;
  nodes: NodeSource;
  docker: NetworkApi;
  /** Default 10.42.0.0/16. */
  clusterCidr?: string;
  /** Runs `ip` and `iptables` (default: on this machine). */
  run?: Run;
  log?: (msg: string) => void;
  /** Routes and rules are re-asserted this often, and a failed sync retried (default 30 s). */
  resyncMs?: number;
  /** Aborts the wait for the node's podCIDR. */
  signal?: AbortSignal;
}

/** A running pod network. */
export interface PodNetwork {
  /** The Docker network for KubeletOptions.podNetwork. */
  network: string;
  podCIDR: string;
  /** The bridge's address, the pods' default gateway. */
  gateway: string;
  /** The Linux bridge device. */
  bridge: string;
  /** Reconciles routes and rules now; resolves when done (rejects with the error of this pass). */
  sync(): Promise<void>;
  /** Puts every pod port of the bridge in hairpin mode (call after a sandbox starts; the resync does it too). */
  ensureHairpin(): Promise<void>;
  /** Stops following nodes; routes, rules and the network stay (pods keep their network). */
  stop(): Promise<void>;
  /** stop(), then removes our routes, chains, jumps and the Docker network. */
  cleanup(): Promise<void>;
}

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Resolves with the node's podCIDR once it has one (logging while it waits). */
function waitPodCIDR(nodes: NodeSource, nodeName: string, log: (m: string) => void, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const find = (): string | undefined => {
      const self = nodes.list().find((n) => n.metadata?.name === nodeName);
      return self ? podCidrOf(self) : undefined;
    };
    let unsubscribe: (() => void) | undefined;
    const finish = (err: Error | undefined, cidr?: string): void => {
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      unsubscribe?.();
      if (err) reject(err);
      else if (cidr !== undefined) resolve(cidr);
    };
    const check = (): void => {
      const cidr = find();
      if (cidr !== undefined) finish(undefined, cidr);
    };
    const onAbort = (): void => finish(new Error(`pod network: stopped while waiting for the podCIDR of node ${nodeName}`));
    const timer = setInterval(() => log(`pod network: waiting for spec.podCIDR of node ${nodeName} (the server's node IPAM assigns it from --cluster-cidr)`), 10_000);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    unsubscribe = nodes.addEventHandler({ onAdd: check, onUpdate: check });
    check();
  });
}

/** Creates the node's Docker network, or replaces one of ours that does not match; refuses to take over someone else's. */
async function ensureNetwork(docker: NetworkApi, spec: NetworkSpec, nodeName: string, log: (m: string) => void): Promise<void> {
  const have = await docker.inspect(spec.name);
  if (have) {
    if (have.labels[NETWORK_LABEL] === undefined) {
      throw new Error(`a Docker network named ${spec.name} exists that orch did not create (no ${NETWORK_LABEL} label): remove it (docker network rm ${spec.name})`);
    }
    const why = networkMismatch(have, spec);
    if (why.length === 0) return;
    log(`pod network: Docker network ${spec.name} does not match node ${nodeName}: ${why.join(', ')}; recreating it (${have.containers.length} containers disconnected)`);
    for (const id of have.containers) await docker.disconnect(spec.name, id);
    await docker.remove(spec.name);
  }
  await docker.create(spec);
  log(`pod network: created Docker network ${spec.name} (${spec.subnet}, bridge ${spec.options['com.docker.network.bridge.name'] ?? ''})`);
}

/**
 * Removes what a pod network put in the kernel and in Docker: our routes and
 * chains, and those of `networks` that carry our label (their containers
 * disconnected first). Idempotent; PodNetwork.cleanup() and `orch cleanup`.
 */
export async function removePodNetwork(run: Run, docker: NetworkApi, networks: string[]): Promise<void> {
  for (const r of await listRoutes(run)) await removeRoute(run, r);
  await removeRules(run);
  for (const name of networks) {
    const have = await docker.inspect(name);
    if (!have || have.labels[NETWORK_LABEL] === undefined) continue;
    for (const id of have.containers) await docker.disconnect(name, id);
    await docker.remove(name);
  }
}

/** Starts the node's pod network: waits for its podCIDR, sets up the bridge network, rules and routes, and follows node changes. */
export async function startPodNetwork(opts: PodNetworkOptions): Promise<PodNetwork> {
  const log = opts.log ?? (() => {});
  const run = opts.run ?? execRun;
  const clusterCidr = opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR;
  const cluster = parseCidr(clusterCidr);
  if (!cluster) throw new Error(`pod network: cluster CIDR ${JSON.stringify(clusterCidr)} is not an IPv4 network`);
  const { nodeName, nodes, docker } = opts;

  await nodes.waitForSync?.(opts.signal);
  const podCIDR = await waitPodCIDR(nodes, nodeName, log, opts.signal);
  const own = parseCidr(podCIDR);
  if (!own || !cidrContains(cluster, own)) throw new Error(`pod network: podCIDR ${podCIDR} of node ${nodeName} is not inside the cluster CIDR ${clusterCidr}`);
  const spec = networkSpec(nodeName, podCIDR);
  await ensureNetwork(docker, spec, nodeName, log);
  const bridge = spec.options[BRIDGE_NAME_OPTION] ?? '';

  const selfIP = (): string | undefined => {
    const n = nodes.list().find((x) => x.metadata?.name === nodeName);
    return n ? internalIPOf(n) : undefined;
  };

  // Set by node events (routes only) and by the timer (routes and rules); one pass at a time.
  let routesDue = true;
  let rulesDue = true;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let lastError: unknown;

  const syncOnce = async (): Promise<void> => {
    if (rulesDue) {
      rulesDue = false;
      try {
        await ensureRules(run, podCIDR, clusterCidr);
        // Ports of sandboxes started before this agent (adopted after a restart) too.
        await enableHairpin(run, bridge);
      } catch (e) {
        rulesDue = true;
        throw e;
      }
    }
    if (!routesDue) return;
    // Pruning against a cache that has not listed yet would drop every route for a moment.
    if (nodes.hasSynced && !nodes.hasSynced()) return;
    routesDue = false;
    try {
      const want = desiredRoutes(nodes.list(), { nodeName, podCIDR, nodeIP: selfIP() }, clusterCidr);
      const { replace, remove } = diffRoutes(await listRoutes(run), want);
      const errors: string[] = [];
      for (const r of remove) {
        await removeRoute(run, r).then(
          () => log(`pod network: removed route ${r.cidr} via ${r.via}`),
          (e: unknown) => errors.push(message(e)),
        );
      }
      for (const r of replace) {
        await replaceRoute(run, r).then(
          () => log(`pod network: route ${r.cidr} via ${r.via}`),
          (e: unknown) => errors.push(message(e)),
        );
      }
      if (errors.length > 0) throw new Error(errors.join('; '));
    } catch (e) {
      routesDue = true;
      throw e;
    }
  };

  const kick = (): Promise<void> => {
    if (loop) return loop;
    const pass = (async () => {
      try {
        while (!stopped && (rulesDue || (routesDue && (!nodes.hasSynced || nodes.hasSynced())))) {
          await syncOnce();
          lastError = undefined;
        }
      } catch (e) {
        lastError = e;
        log(`pod network: ${message(e)} (retrying)`);
      }
    })();
    // Cleared when done (not inside the async body: with nothing due it finishes before `loop` is even set).
    const current: Promise<void> = pass.finally(() => {
      if (loop === current) loop = undefined;
    });
    loop = current;
    return current;
  };

  const onRouteChange = (): void => {
    routesDue = true;
    void kick();
  };
  const unsubscribe = nodes.addEventHandler({
    onAdd: onRouteChange,
    onDelete: onRouteChange,
    onUpdate: (o, n) => {
      // Heartbeats update every node every few seconds: only address or range changes matter here.
      if (podCidrOf(o) !== podCidrOf(n) || internalIPOf(o) !== internalIPOf(n)) onRouteChange();
      if (n.metadata?.name === nodeName && podCidrOf(n) !== undefined && podCidrOf(n) !== podCIDR) {
        log(`pod network: node ${nodeName} now has podCIDR ${podCidrOf(n) ?? ''}, but its network uses ${podCIDR}: restart the agent to move its pods`);
      }
    },
  });
  const timer = setInterval(() => {
    routesDue = true;
    rulesDue = true;
    void kick();
  }, opts.resyncMs ?? 30_000);
  timer.unref();

  await kick();
  if (lastError !== undefined) {
    // The network is usable even if a route failed; the timer retries.
    log(`pod network: first sync incomplete: ${message(lastError)}`);
  }
  log(`pod network: node ${nodeName} uses Docker network ${spec.name} (${podCIDR}, gateway ${spec.gateway})`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await loop;
    })();
    return stopping;
  };

  return {
    network: spec.name,
    podCIDR,
    gateway: spec.gateway,
    bridge,
    async ensureHairpin() {
      await enableHairpin(run, bridge);
    },
    async sync() {
      routesDue = true;
      rulesDue = true;
      // A pass already running may have read the nodes before this call: wait for it, then run our own.
      await loop;
      await kick();
      if (lastError !== undefined) throw lastError instanceof Error ? lastError : new Error(String(lastError));
    },
    stop,
    async cleanup() {
      await stop();
      await removePodNetwork(run, docker, [spec.name]);
      log(`pod network: removed routes, rules and Docker network ${spec.name}`);
    },
  };
}
