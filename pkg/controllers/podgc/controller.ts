/**
 * The pod garbage collector wired to the API. It works on the whole pod
 * cache at once, like Kubernetes' (which runs every 20 s), so it has one
 * queue key: a timer adds it every gcInterval, and node deletions,
 * terminating unscheduled pods and pods finishing add it sooner. A pass
 * force-deletes pods of nodes gone past the quarantine (confirmed with a
 * GET, the cache may lag), unscheduled terminating pods, and the finished
 * pods beyond the threshold.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { errorMessage, runControllerLoop, type RunningController } from '../common/loop.js';
import {
  DEFAULT_QUARANTINE_MS,
  DEFAULT_TERMINATED_POD_GC_THRESHOLD,
  ORPHAN_CONDITION,
  failedStatusPatch,
  isPodTerminated,
  orphanedPods,
  quarantine,
  terminatedPodsToDelete,
  unscheduledTerminatingPods,
} from './podgc.js';

/** Options of startPodGCController. */
export interface PodGCControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  /** Defaults to a recorder for component "pod-garbage-collector". */
  recorder?: EventRecorder;
  /** Finished pods kept at most (default 12500, --terminated-pod-gc-threshold; ≤ 0 disables). */
  terminatedPodGCThreshold?: number;
  /** How long a node must be gone before its pods are deleted (default 40 s). */
  quarantineMs?: number;
  /** Full pass period (default 20 s, as Kubernetes' gcCheckPeriod). */
  gcIntervalMs?: number;
  /** Pod changes wait this long before a pass, folding bursts (default 1 s). */
  batchPeriodMs?: number;
  /** Deletions in flight at once (default 20). */
  parallelism?: number;
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
  signal?: AbortSignal;
}

const KEY = 'podgc';

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Runs `fn` over `items`, `n` at a time; collects the failures. */
async function forEachLimit<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, () => worker()));
  return errors;
}

/** Starts the pod garbage collector on shared informers; resolves once caches are synced. */
export async function startPodGCController(opts: PodGCControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const threshold = opts.terminatedPodGCThreshold ?? DEFAULT_TERMINATED_POD_GC_THRESHOLD;
  const quarantineMs = opts.quarantineMs ?? DEFAULT_QUARANTINE_MS;
  const batchMs = opts.batchPeriodMs ?? 1000;
  const parallelism = opts.parallelism ?? 20;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'pod-garbage-collector' });
  const nodes = opts.informerFactory.informerFor('nodes');
  const pods = opts.informerFactory.informerFor('pods');
  const podClient = client.resource('pods');
  const nodeClient = client.resource('nodes');
  const queue = new WorkQueue<string>();
  let missingSince = new Map<string, number>();

  const timer = setInterval(() => queue.add(KEY), opts.gcIntervalMs ?? 20_000);
  timer.unref();
  const onPod = (p: Pod): void => {
    if (p.metadata?.deletionTimestamp != null && !p.spec?.nodeName) queue.add(KEY);
    else if (isPodTerminated(p) && threshold > 0 && pods.size > threshold) queue.addAfter(KEY, batchMs);
  };
  const detach = [
    () => clearInterval(timer),
    nodes.addEventHandler({ onDelete: (_n: Node) => queue.add(KEY) }),
    pods.addEventHandler({ onAdd: onPod, onUpdate: (_o: Pod, p: Pod) => onPod(p) }),
  ];

  /** Force-deletes one pod, first marking it Failed when no kubelet will. */
  async function forceDelete(pod: Pod, condition?: typeof ORPHAN_CONDITION): Promise<boolean> {
    const ns = podClient.namespace(pod.metadata?.namespace);
    const name = pod.metadata?.name ?? '';
    try {
      const patch = failedStatusPatch(pod, condition, timestamp(now()));
      if (patch !== undefined) await ns.patch(name, 'strategic', patch, { subresource: 'status' });
      await ns.delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      recorder.event(pod, 'Warning', 'FailedDelete', `PodGC failed to delete pod: ${errorMessage(e)}`);
      throw e;
    }
  }

  /** Nodes whose quarantine ran out and that the API confirms are gone. */
  async function goneNodes(all: readonly Pod[]): Promise<Set<string>> {
    const q = quarantine(missingSince, all, (n) => nodes.getByName(undefined, n) !== undefined, now(), quarantineMs);
    missingSince = q.missingSince;
    if (q.nextInMs !== undefined) queue.addAfter(KEY, q.nextInMs);
    const gone = new Set<string>();
    for (const node of q.expired) {
      try {
        await nodeClient.get(node);
        missingSince.delete(node); // back (the cache lagged): start over if it goes again
      } catch (e) {
        if (!isNotFound(e)) throw e;
        gone.add(node);
      }
    }
    return gone;
  }

  async function sync(): Promise<void> {
    const all = pods.list();
    const failures: unknown[] = [];

    const gone = await goneNodes(all);
    failures.push(
      ...(await forEachLimit(orphanedPods(all, gone), parallelism, async (pod) => {
        if (await forceDelete(pod, ORPHAN_CONDITION)) {
          recorder.event(pod, 'Normal', 'DeletionByPodGC', `PodGC: node ${pod.spec?.nodeName ?? ''} no longer exists`);
        }
      })),
    );
    failures.push(
      ...(await forEachLimit(unscheduledTerminatingPods(all), parallelism, async (pod) => {
        await forceDelete(pod);
      })),
    );
    failures.push(
      ...(await forEachLimit(terminatedPodsToDelete(all, threshold), parallelism, async (pod) => {
        await forceDelete(pod);
      })),
    );
    if (failures.length > 0) throw new Error(`podgc: ${failures.length} deletions failed, first: ${errorMessage(failures[0])}`);
  }

  queue.add(KEY);
  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: 1, sync, detach, recorder, onError: opts.onError, signal: opts.signal });
}
