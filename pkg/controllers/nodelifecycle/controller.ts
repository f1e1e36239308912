/**
 * The node lifecycle controller wired to the API. Nodes heartbeat through
 * their Lease in kube-node-lease and through their Ready condition; the
 * controller notes the local time at which it last saw either move (as
 * Kubernetes does, so clock skew between a node and the server does not
 * matter, and a restarted server gives every node a full grace period).
 * A node silent past nodeMonitorGracePeriod gets Unknown conditions; the
 * taints follow the conditions; the taint manager evicts pods.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import { lastHeartbeatMs, readyCondition, reconcileTaints, unknownConditions } from './health.js';
import { POD_NODE_INDEX, startTaintManager } from './taint-manager.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** --node-monitor-grace-period of Kubernetes 1.32. */
export const DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS = 50_000;
/** --node-monitor-period. */
export const DEFAULT_NODE_MONITOR_PERIOD_MS = 5_000;

/** Options of startNodeLifecycleController; durations in milliseconds, named after the Kubernetes flags. */
export interface NodeLifecycleControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  /** How long a node may stay silent before it is marked Unknown (default 50 s). */
  nodeMonitorGracePeriod?: number;
  /** How often every node is checked (default 5 s); a node is also checked when its grace period would run out. */
  nodeMonitorPeriod?: number;
  /** Concurrent node syncs (default 5). */
  workers?: number;
  /** The clock (ms). */
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
}

/** A running node lifecycle controller. */
export interface RunningNodeLifecycleController {
  /** Syncs one node by name now (tests). */
  sync(name: string): Promise<void>;
  /** Pods with a pending eviction, as 'namespace/name'. */
  scheduledEvictions(): string[];
  stop(): Promise<void>;
}

interface Health {
  /** The latest heartbeat seen (ms, from the node's clock). */
  heartbeat: number | undefined;
  /** When (local ms) it was seen to move. */
  probeMs: number;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Whether an update touches what sync looks at (conditions carry the heartbeat; taints and cordon what it writes). */
function healthInputsChanged(o: Node, n: Node): boolean {
  return JSON.stringify(o.status?.conditions ?? []) !== JSON.stringify(n.status?.conditions ?? []) || JSON.stringify(o.spec?.taints ?? []) !== JSON.stringify(n.spec?.taints ?? []) || o.spec?.unschedulable !== n.spec?.unschedulable;
}

/** Starts the node lifecycle controller and its taint manager; resolves once caches are synced. */
export async function startNodeLifecycleController(opts: NodeLifecycleControllerOptions): Promise<RunningNodeLifecycleController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const grace = opts.nodeMonitorGracePeriod ?? DEFAULT_NODE_MONITOR_GRACE_PERIOD_MS;
  const period = opts.nodeMonitorPeriod ?? DEFAULT_NODE_MONITOR_PERIOD_MS;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'node-controller' });
  const nodes = opts.informerFactory.informerFor('nodes');
  const leases = opts.informerFactory.informerFor('leases', { namespace: NODE_LEASE_NAMESPACE });
  const pods = opts.informerFactory.informerFor('pods');
  const nodeClient = client.resource('nodes');
  const podClient = client.resource('pods');
  const queue = new WorkQueue<string>();
  const health = new Map<string, Health>();
  /** Nodes that went from Ready to not Ready whose pods are still to be marked not ready. */
  const podsToMark = new Set<string>();

  const detach = [
    nodes.addEventHandler({
      onAdd: (n) => queue.add(n.metadata?.name ?? ''),
      onUpdate: (o, n) => {
        if (healthInputsChanged(o, n)) queue.add(n.metadata?.name ?? '');
      },
      onDelete: (n) => queue.add(n.metadata?.name ?? ''),
    }),
    leases.addEventHandler({
      onAdd: (l: Lease) => queue.add(l.metadata?.name ?? ''),
      onUpdate: (_o, l: Lease) => queue.add(l.metadata?.name ?? ''),
    }),
  ];

  /** Kubernetes' MarkPodsNotReady: the Ready condition of every pod on the node turns False. */
  async function markPodsNotReady(node: Node): Promise<void> {
    const name = node.metadata?.name ?? '';
    const nowIso = timestamp(now());
    for (const pod of pods.byIndex(POD_NODE_INDEX, name)) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready === undefined || ready.status === 'False') continue;
      try {
        await podClient
          .namespace(pod.metadata?.namespace)
          .patch(pod.metadata?.name ?? '', 'strategic', { status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: nowIso }] } }, { subresource: 'status' });
        recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  async function sync(name: string): Promise<void> {
    if (!name) return;
    const node = nodes.get(name);
    if (node === undefined) {
      health.delete(name);
      podsToMark.delete(name);
      return;
    }
    const t = now();
    const hb = lastHeartbeatMs(node, leases.getByName(NODE_LEASE_NAMESPACE, name));
    let h = health.get(name);
    if (h === undefined || (hb !== undefined && (h.heartbeat === undefined || hb > h.heartbeat))) {
      h = { heartbeat: hb, probeMs: t };
      health.set(name, h);
    }
    let current = node;
    if (t - h.probeMs > grace) {
      const conditions = unknownConditions(node, timestamp(t));
      if (conditions !== undefined) {
        const wasReady = readyCondition(node)?.status === 'True';
        current = await nodeClient.updateStatus({ ...node, status: { ...node.status, conditions } });
        if (wasReady) {
          recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
          podsToMark.add(name);
        }
      }
    } else {
      // Look again the moment the grace period would run out.
      queue.addAfter(name, h.probeMs + grace - t + 1);
    }
    const taints = reconcileTaints(current, timestamp(t));
    if (taints !== undefined) {
      current = await nodeClient.patch(name, 'merge', { metadata: { resourceVersion: current.metadata?.resourceVersion }, spec: { taints } });
    }
    if (podsToMark.has(name)) {
      if (readyCondition(current)?.status !== 'True') await markPodsNotReady(current);
      podsToMark.delete(name);
    }
  }

  opts.informerFactory.start();
  await opts.informerFactory.waitForSync();
  // After the sync, so no pod is judged against a node not yet in the cache.
  const taintManager = startTaintManager({ client, nodes, pods, recorder, now, onError: opts.onError });
  const tick = setInterval(() => {
    for (const key of nodes.keys()) queue.add(key);
  }, period);
  tick.unref();
  const running = runWorkers(queue, opts.workers ?? 5, sync, { onError: opts.onError });
  return {
    sync,
    scheduledEvictions: () => taintManager.scheduled(),
    async stop() {
      clearInterval(tick);
      for (const d of detach) d();
      queue.shutDown();
      await running;
      await taintManager.stop();
      await recorder.flush();
    },
  };
}
