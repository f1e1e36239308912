/**
 * The NoExecute taint manager: evicts (deletes) pods from nodes with
 * NoExecute taints they do not tolerate, at once or when their
 * tolerationSeconds run out. One timer per pod, counted from when the
 * eviction was first scheduled and cancelled when the taint goes or the
 * pod comes to tolerate it.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, type Informer } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import { evictionDecision, noExecuteSignature, noExecuteTaints } from './eviction.js';

/** Index of the pod informer: pods by spec.nodeName. */
export const POD_NODE_INDEX = 'orch-nodelifecycle-node';

export interface TaintManagerOptions {
  client: Client;
  nodes: Informer<Node>;
  pods: Informer<Pod>;
  recorder: EventRecorder;
  now: () => number;
  workers?: number;
  onError?: (key: string, e: unknown) => void;
}

export interface TaintManager {
  /** Pods with an eviction scheduled (keys), for tests and status. */
  scheduled(): string[];
  stop(): Promise<void>;
}

interface Scheduled {
  startMs: number;
  fireAt: number;
  timer: NodeJS.Timeout;
  /** The timer ran (a timer may fire a little before the clock says it is due: then it is set again). */
  fired: boolean;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function sameTolerations(a: Pod, b: Pod): boolean {
  return JSON.stringify(a.spec?.tolerations ?? []) === JSON.stringify(b.spec?.tolerations ?? []);
}

/** Starts the taint manager on the given (shared, synced or syncing) informers. */
export function startTaintManager(opts: TaintManagerOptions): TaintManager {
  const { nodes, pods, recorder, now } = opts;
  const podClient = opts.client.resource('pods');
  try {
    pods.addIndexer(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  } catch {
    // Already there: a node lifecycle controller started earlier on this informer added the same index.
  }
  const queue = new WorkQueue<string>();
  const timers = new Map<string, Scheduled>();

  const enqueueNodePods = (name: string | undefined): void => {
    if (!name) return;
    for (const p of pods.byIndex(POD_NODE_INDEX, name)) queue.add(keyOf(p));
  };
  const cancel = (key: string, pod: Pod | undefined): void => {
    const s = timers.get(key);
    if (s === undefined) return;
    clearTimeout(s.timer);
    timers.delete(key);
    if (pod !== undefined) recorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  };

  const detach = [
    nodes.addEventHandler({
      onAdd: (n) => {
        if (noExecuteTaints(n).length > 0) enqueueNodePods(n.metadata?.name);
      },
      onUpdate: (o, n) => {
        if (noExecuteSignature(o) !== noExecuteSignature(n)) enqueueNodePods(n.metadata?.name);
      },
      onDelete: (n) => enqueueNodePods(n.metadata?.name),
    }),
    pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) queue.add(keyOf(p));
      },
      onUpdate: (o, p) => {
        const moved = o.spec?.nodeName !== p.spec?.nodeName;
        const leaving = (o.metadata?.deletionTimestamp === undefined) !== (p.metadata?.deletionTimestamp === undefined);
        if (moved || leaving || !sameTolerations(o, p)) queue.add(keyOf(p));
      },
      onDelete: (p) => cancel(keyOf(p), undefined),
    }),
  ];

  async function evict(key: string, pod: Pod): Promise<void> {
    cancel(key, undefined);
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    try {
      // As Kubernetes 1.32: say why the pod goes before it goes.
      await podClient.namespace(ns).patch(
        name,
        'strategic',
        {
          status: {
            conditions: [
              { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: timestamp(now()) },
            ],
          },
        },
        { subresource: 'status' },
      );
      await podClient.namespace(ns).delete(name, { preconditions: { uid: pod.metadata?.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async function sync(key: string): Promise<void> {
    const pod = pods.get(key);
    if (pod === undefined || pod.metadata?.deletionTimestamp !== undefined) {
      cancel(key, undefined);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    const node = nodeName ? nodes.get(nodeName) : undefined;
    const decision = evictionDecision(pod.spec?.tolerations ?? [], noExecuteTaints(node));
    if (decision.type === 'keep') {
      cancel(key, pod);
      return;
    }
    if (decision.type === 'now') {
      await evict(key, pod);
      return;
    }
    const t = now();
    const prev = timers.get(key);
    const startMs = prev?.startMs ?? t;
    const fireAt = startMs + decision.ms;
    if (fireAt <= t) {
      await evict(key, pod);
      return;
    }
    if (prev !== undefined && prev.fireAt === fireAt && !prev.fired) return;
    if (prev !== undefined) clearTimeout(prev.timer);
    const entry: Scheduled = {
      startMs,
      fireAt,
      fired: false,
      timer: setTimeout(() => {
        entry.fired = true;
        queue.add(key);
      }, fireAt - t),
    };
    entry.timer.unref();
    timers.set(key, entry);
  }

  const running = runWorkers(queue, opts.workers ?? 8, sync, { onError: opts.onError });
  return {
    scheduled: () => [...timers.keys()],
    async stop() {
      for (const d of detach) d();
      queue.shutDown();
      for (const s of timers.values()) clearTimeout(s.timer);
      timers.clear();
      await running;
    },
  };
}
