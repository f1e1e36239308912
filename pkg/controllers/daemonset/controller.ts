/**
 * The DaemonSet controller wired to the API: handlers enqueue daemon set
 * keys (any node change wakes every daemon set); sync(key) runs the pure
 * syncDaemonSet over the shared caches, creates pods in slow-start batches,
 * deletes, and writes status. Expectations keep a sync from acting again
 * before the watch has shown its previous creates and deletes.
 */
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type Informer, type SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { runControllerLoop } from '../common/loop.js';
import { fromLabelSelectorObject, matchesLabels } from '../../api/selectors.js';
import { withControllerRef, withoutOwnerRef } from '../replicaset/claim.js';
import { ownerRefsPatch, type RunningController } from '../replicaset/controller.js';
import { Expectations } from '../replicaset/expectations.js';
import { getControllerOf, newControllerRef, slowStartBatch } from '../replicaset/pods.js';
import { daemonPod, daemonSetStatusChanged, syncDaemonSet } from './sync.js';

/** Options of startDaemonSetController. */
export interface DaemonSetControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  /** Concurrent syncs (default 2, as --concurrent-daemonset-syncs). */
  workers?: number;
  burst?: number;
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
}

function daemonSetsForPod(dsInformer: Informer<DaemonSet>, pod: Pod): DaemonSet[] {
  const ns = pod.metadata?.namespace ?? '';
  const ref = getControllerOf(pod);
  if (ref !== undefined) {
    if (ref.kind !== 'DaemonSet') return [];
    const ds = dsInformer.getByName(ns, ref.name);
    return ds !== undefined && ds.metadata?.uid === ref.uid ? [ds] : [];
  }
  if (pod.metadata?.deletionTimestamp !== undefined) return [];
  return dsInformer.byNamespace(ns).filter((ds) => {
    try {
      return matchesLabels(fromLabelSelectorObject(ds.spec?.selector), pod.metadata?.labels);
    } catch {
      return false;
    }
  });
}

/** Node changes that can change where daemon pods belong. */
function nodeChanged(a: Node, b: Node): boolean {
  return (
    JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels) ||
    JSON.stringify(a.spec?.taints) !== JSON.stringify(b.spec?.taints) ||
    a.spec?.unschedulable !== b.spec?.unschedulable
  );
}

/** Starts the DaemonSet controller on shared informers; resolves once caches are synced. */
export async function startDaemonSetController(opts: DaemonSetControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'daemonset-controller' });
  const dsInformer = opts.informerFactory.informerFor('daemonsets');
  const nodeInformer = opts.informerFactory.informerFor('nodes');
  const podInformer = opts.informerFactory.informerFor('pods');
  const queue = new WorkQueue<string>();
  const expectations = new Expectations(now);
  const dsClient = client.resource('daemonsets');
  const podClient = client.resource('pods');

  const enqueueAll = (): void => {
    for (const ds of dsInformer.list()) queue.add(keyOf(ds));
  };
  const ownerKey = (pod: Pod): string | undefined => {
    const ref = getControllerOf(pod);
    return ref?.kind === 'DaemonSet' ? `${pod.metadata?.namespace ?? ''}/${ref.name}` : undefined;
  };
  const enqueuePod = (pod: Pod): void => {
    for (const ds of daemonSetsForPod(dsInformer, pod)) queue.add(keyOf(ds));
  };
  const detach = [
    dsInformer.addEventHandler({
      onAdd: (ds) => queue.add(keyOf(ds)),
      onUpdate: (_o, ds) => queue.add(keyOf(ds)),
      onDelete: (ds) => {
        expectations.delete(keyOf(ds));
        queue.add(keyOf(ds));
      },
    }),
    nodeInformer.addEventHandler({
      onAdd: enqueueAll,
      onUpdate: (o, n) => {
        if (nodeChanged(o, n)) enqueueAll();
      },
      onDelete: enqueueAll,
    }),
    podInformer.addEventHandler({
      onAdd: (pod) => {
        const k = ownerKey(pod);
        if (k !== undefined && pod.metadata?.deletionTimestamp === undefined) expectations.creationObserved(k);
        enqueuePod(pod);
      },
      onUpdate: (old, pod) => {
        if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
        const k = ownerKey(pod);
        if (k !== undefined && old.metadata?.deletionTimestamp === undefined && pod.metadata?.deletionTimestamp !== undefined) {
          expectations.deletionObserved(k, pod.metadata?.uid ?? '');
        }
        enqueuePod(pod);
        if (getControllerOf(old)?.uid !== getControllerOf(pod)?.uid) enqueuePod(old);
      },
      onDelete: (pod) => {
        const k = ownerKey(pod);
        if (k !== undefined) expectations.deletionObserved(k, pod.metadata?.uid ?? '');
        enqueuePod(pod);
      },
    }),
  ];

  async function sync(key: string): Promise<void> {
    const ds = dsInformer.get(key);
    if (ds === undefined) {
      expectations.delete(key);
      return;
    }
    const { namespace = '' } = splitKey(key);
    const result = syncDaemonSet({
      daemonSet: ds,
      nodes: nodeInformer.list(),
      pods: podInformer.byNamespace(namespace),
      now: now(),
      expectationsSatisfied: expectations.satisfied(key),
      burst: opts.burst,
    });
    const ref = newControllerRef(ds, 'apps/v1', 'DaemonSet');
    for (const e of result.events) recorder.event(ds, e.type, e.reason, e.message);
    for (const pod of [...result.adopt, ...result.release]) {
      const adopt = result.adopt.includes(pod);
      const refs = adopt ? withControllerRef(pod.metadata?.ownerReferences, ref) : withoutOwnerRef(pod.metadata?.ownerReferences, ref.uid);
      try {
        await podClient.namespace(namespace).patch(pod.metadata?.name ?? '', 'merge', ownerRefsPatch(refs, pod.metadata?.uid));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    let firstError: unknown;
    if (result.createOnNodes.length > 0 || result.delete.length > 0) {
      expectations.expect(key, result.createOnNodes.length, result.delete.map((p) => p.metadata?.uid ?? ''));
      let i = 0;
      const { successes, error } = await slowStartBatch(result.createOnNodes.length, async () => {
        const nodeName = result.createOnNodes[i++];
        try {
          const created = await podClient.namespace(namespace).create(daemonPod(ds, nodeName, result.hash));
          recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
        } catch (e) {
          recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
      });
      expectations.creationObserved(key, result.createOnNodes.length - successes);
      firstError = error;
      const deletions = await Promise.allSettled(
        result.delete.map(async (pod) => {
          try {
            await podClient.namespace(namespace).delete(pod.metadata?.name ?? '', { preconditions: { uid: pod.metadata?.uid } });
            recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata?.name ?? ''}`);
          } catch (e) {
            expectations.deletionObserved(key, pod.metadata?.uid ?? '');
            if (!isNotFound(e)) throw e;
          }
        }),
      );
      const rejected = deletions.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (firstError === undefined && rejected !== undefined) firstError = rejected.reason;
    }
    if (daemonSetStatusChanged(ds.status, result.status)) {
      await dsClient.namespace(namespace).updateStatus({ ...ds, status: result.status });
    }
    if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
    if (firstError !== undefined) throw firstError;
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 2, sync, detach, recorder, onError: opts.onError });
}
