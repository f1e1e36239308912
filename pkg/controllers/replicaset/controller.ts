/**
 * The ReplicaSet controller wired to the API: informer handlers only enqueue
 * keys; sync(key) reads the shared caches, plans with planReplicaSet, acts
 * through the client in slow-start batches, and writes the status that
 * computeReplicaSetStatus derives.
 */
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Client, ObjectLike } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type IndexFunc, type Informer, type SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { errorMessage, runControllerLoop, type RunningController } from '../common/loop.js';
import { fromLabelSelectorObject, matchesLabels } from '../../api/selectors.js';
import { withControllerRef, withoutOwnerRef } from './claim.js';
import { Expectations } from './expectations.js';
import { getControllerOf, isPodActive, isPodReady, newControllerRef, slowStartBatch } from './pods.js';
import { computeReplicaSetStatus, nextAvailableIn, planReplicaSet, replicaSetPod, replicaSetStatusChanged, type ManageFailure } from './reconcile.js';

/** Options of startReplicaSetController. */
export interface ReplicaSetControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  /** Concurrent syncs (default 5, as kube-controller-manager's --concurrent-replicaset-syncs). */
  workers?: number;
  burst?: number;
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
}

export type { RunningController } from '../common/loop.js';


/**
 * Index of objects by the uid of their controller ownerReference, so a
 * controller's sync reads its own objects instead of its whole namespace
 * (Kubernetes' "controller-uid" index). Shared by the ReplicaSet and
 * Deployment controllers on the pods and replicasets informers.
 */
export const CONTROLLER_UID_INDEX = 'orch-controller-uid';
/** Index of objects without a controller ref by namespace: the orphans a controller may adopt. */
export const ORPHANS_BY_NAMESPACE_INDEX = 'orch-orphans-by-namespace';

/** CONTROLLER_UID_INDEX's function: the controller ref's uid, if any. */
export function controllerUidOf(obj: ObjectLike): string[] {
  const ref = getControllerOf(obj);
  return ref === undefined ? [] : [ref.uid];
}

/** ORPHANS_BY_NAMESPACE_INDEX's function: the namespace of an object with no controller ref. */
export function orphanNamespaceOf(obj: ObjectLike): string[] {
  return getControllerOf(obj) === undefined ? [obj.metadata?.namespace ?? ''] : [];
}

/**
 * Adds an indexer unless the informer has one of that name already: informers
 * are shared, and several controllers (or restarts on one factory) add the same
 * index, which addIndexer refuses twice.
 */
export function ensureIndexer<T extends ObjectLike>(informer: Informer<T>, name: string, fn: IndexFunc<T>): void {
  try {
    informer.byIndex(name, '');
    return;
  } catch {
    // byIndex throws only for an unknown index: add it below.
  }
  informer.addIndexer(name, fn);
}

/** Adds the controller-uid and orphan indexes to an informer (idempotent). */
export function ensureOwnershipIndexes<T extends ObjectLike>(informer: Informer<T>): void {
  ensureIndexer(informer, CONTROLLER_UID_INDEX, controllerUidOf);
  ensureIndexer(informer, ORPHANS_BY_NAMESPACE_INDEX, orphanNamespaceOf);
}

/**
 * What a controller with `uid` in `namespace` may claim: objects whose
 * controller ref is `uid` (owned, or to release) plus the namespace's orphans
 * (to adopt). Objects of other controllers are never read.
 */
export function claimCandidates<T extends ObjectLike>(informer: Informer<T>, namespace: string, uid: string): T[] {
  return [...controlledBy(informer, namespace, uid), ...informer.byIndex(ORPHANS_BY_NAMESPACE_INDEX, namespace)];
}

/** Objects of `namespace` whose controller ref has `uid` (owner references never cross namespaces). */
export function controlledBy<T extends ObjectLike>(informer: Informer<T>, namespace: string, uid: string): T[] {
  return informer.byIndex(CONTROLLER_UID_INDEX, uid).filter((o) => (o.metadata?.namespace ?? '') === namespace);
}

/** The ownerReferences patch that adopts `obj` for `owner` (or releases it). */
export function ownerRefsPatch(refs: OwnerReference[], uid: string | undefined): { metadata: { ownerReferences: OwnerReference[]; uid?: string } } {
  return { metadata: { ownerReferences: refs, ...(uid !== undefined ? { uid } : {}) } };
}

/** Enqueues the ReplicaSet that controls `pod`, or every matching one for an orphan. */
function ownersOfPod(rsInformer: Informer<ReplicaSet>, pod: Pod): ReplicaSet[] {
  const ref = getControllerOf(pod);
  const ns = pod.metadata?.namespace ?? '';
  if (ref !== undefined) {
    if (ref.kind !== 'ReplicaSet') return [];
    const rs = rsInformer.getByName(ns, ref.name);
    return rs !== undefined && rs.metadata?.uid === ref.uid ? [rs] : [];
  }
  if (pod.metadata?.deletionTimestamp !== undefined) return [];
  return rsInformer.byNamespace(ns).filter((rs) => {
    try {
      return matchesLabels(fromLabelSelectorObject(rs.spec?.selector), pod.metadata?.labels);
    } catch {
      return false;
    }
  });
}

/** Starts the ReplicaSet controller on shared informers; resolves once caches are synced. */
export async function startReplicaSetController(opts: ReplicaSetControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'replicaset-controller' });
  const rsInformer = opts.informerFactory.informerFor('replicasets');
  const podInformer = opts.informerFactory.informerFor('pods');
  const queue = new WorkQueue<string>();
  const expectations = new Expectations(now);
  const rsClient = client.resource('replicasets');
  const podClient = client.resource('pods');
  ensureOwnershipIndexes(podInformer);
  ensureOwnershipIndexes(rsInformer);

  const enqueuePodOwners = (pod: Pod): void => {
    for (const rs of ownersOfPod(rsInformer, pod)) queue.add(keyOf(rs));
  };
  const detach = [
    rsInformer.addEventHandler({
      onAdd: (rs) => queue.add(keyOf(rs)),
      onUpdate: (_o, rs) => queue.add(keyOf(rs)),
      onDelete: (rs) => {
        expectations.delete(keyOf(rs));
        queue.add(keyOf(rs));
      },
    }),
    podInformer.addEventHandler({
      onAdd: (pod) => {
        const ref = getControllerOf(pod);
        if (ref?.kind === 'ReplicaSet' && pod.metadata?.deletionTimestamp === undefined) {
          expectations.creationObserved(`${pod.metadata?.namespace ?? ''}/${ref.name}`);
        }
        enqueuePodOwners(pod);
      },
      onUpdate: (old, pod) => {
        if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
        const ref = getControllerOf(pod);
        // A pod marked for deletion counts as deleted for expectations.
        if (ref?.kind === 'ReplicaSet' && old.metadata?.deletionTimestamp === undefined && pod.metadata?.deletionTimestamp !== undefined) {
          expectations.deletionObserved(`${pod.metadata?.namespace ?? ''}/${ref.name}`, pod.metadata?.uid ?? '');
        }
        enqueuePodOwners(pod);
        if (getControllerOf(old)?.uid !== ref?.uid || JSON.stringify(old.metadata?.labels) !== JSON.stringify(pod.metadata?.labels)) enqueuePodOwners(old);
      },
      onDelete: (pod) => {
        const ref = getControllerOf(pod);
        if (ref?.kind === 'ReplicaSet') expectations.deletionObserved(`${pod.metadata?.namespace ?? ''}/${ref.name}`, pod.metadata?.uid ?? '');
        enqueuePodOwners(pod);
      },
    }),
  ];

  async function sync(key: string): Promise<void> {
    const cached = rsInformer.get(key);
    if (cached === undefined) {
      expectations.delete(key);
      return;
    }
    const rs = cached;
    const { namespace = '' } = splitKey(key);
    // Our pods (owned, or to release) and the namespace's orphans (to adopt): never other controllers' pods.
    const candidates = claimCandidates(podInformer, namespace, rs.metadata?.uid ?? '');
    const ownerUid = getControllerOf(rs)?.uid;
    // Sibling ReplicaSets' active pods, read only when the plan deletes some.
    const related = (): Pod[] => {
      if (ownerUid === undefined) return [];
      const siblings = controlledBy(rsInformer, namespace, ownerUid).filter((x) => x !== rs);
      return siblings.flatMap((x) => controlledBy(podInformer, namespace, x.metadata?.uid ?? '').filter(isPodActive));
    };
    const plan = planReplicaSet(rs, candidates, { burst: opts.burst, related, manage: expectations.satisfied(key) });

    let failure: ManageFailure | undefined;
    const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
    for (const pod of plan.adopt) {
      try {
        await podClient.namespace(namespace).patch(pod.metadata?.name ?? '', 'merge', ownerRefsPatch(withControllerRef(pod.metadata?.ownerReferences, ref), pod.metadata?.uid));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    for (const pod of plan.release) {
      try {
        await podClient.namespace(namespace).patch(pod.metadata?.name ?? '', 'merge', ownerRefsPatch(withoutOwnerRef(pod.metadata?.ownerReferences, ref.uid), pod.metadata?.uid));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }

    if (plan.create > 0) {
      expectations.expect(key, plan.create);
      const template = replicaSetPod(rs);
      const { successes, error } = await slowStartBatch(plan.create, async () => {
        try {
          const created = await podClient.namespace(namespace).create(structuredClone(template));
          recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
        } catch (e) {
          recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`);
          throw e;
        }
      });
      // Failed and never-attempted creations will never be observed.
      expectations.creationObserved(key, plan.create - successes);
      if (error !== undefined) failure = { message: errorMessage(error) };
    } else if (plan.delete.length > 0) {
      expectations.expect(key, 0, plan.delete.map((p) => p.metadata?.uid ?? ''));
      const results = await Promise.allSettled(
        plan.delete.map(async (pod) => {
          try {
            await podClient.namespace(namespace).delete(pod.metadata?.name ?? '', { preconditions: { uid: pod.metadata?.uid } });
            recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata?.name ?? ''}`);
          } catch (e) {
            expectations.deletionObserved(key, pod.metadata?.uid ?? '');
            if (isNotFound(e)) return;
            recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(e)}`);
            throw e;
          }
        }),
      );
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected !== undefined) failure = { message: errorMessage(rejected.reason) };
    }

    const status = computeReplicaSetStatus(rs, plan.pods, now(), failure);
    if (replicaSetStatusChanged(rs.status, status)) {
      await rsClient.namespace(namespace).updateStatus({ ...rs, status });
    }
    const wait = nextAvailableIn(plan.pods.filter(isPodReady), rs.spec?.minReadySeconds ?? 0, now());
    if (wait !== undefined) queue.addAfter(key, wait);
    if (failure !== undefined) throw new Error(failure.message);
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 5, sync, detach, recorder, onError: opts.onError });
}
