/**
 * The Deployment controller wired to the API: handlers enqueue deployment
 * keys; sync(key) runs the pure syncDeployment over the shared caches and
 * applies its writes in order. Replica set names are deterministic
 * (`<deployment>-<hash>`), so no expectations are needed: a second create
 * of the same set is an AlreadyExists, resolved like Kubernetes does.
 */
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isAlreadyExists, isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type Informer, type SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { runControllerLoop } from '../common/loop.js';
import { fromLabelSelectorObject, matchesLabels, type LabelSelector } from '../../api/selectors.js';
import { withControllerRef, withoutOwnerRef } from '../replicaset/claim.js';
import { claimCandidates, controlledBy, ensureOwnershipIndexes, ownerRefsPatch, type RunningController } from '../replicaset/controller.js';
import { getControllerOf, newControllerRef } from '../replicaset/pods.js';
import { collisionStatus, failedCreateStatus, syncDeployment } from './sync.js';

/** Options of startDeploymentController. */
export interface DeploymentControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  /** Concurrent syncs (default 5, as --concurrent-deployment-syncs). */
  workers?: number;
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
}

function selects(d: Deployment, labels: Record<string, string> | undefined): boolean {
  try {
    return matchesLabels(fromLabelSelectorObject(d.spec?.selector), labels);
  } catch {
    return false;
  }
}

/** Deployments that own `rs`, or might adopt it. */
function deploymentsForReplicaSet(dInformer: Informer<Deployment>, rs: ReplicaSet): Deployment[] {
  const ns = rs.metadata?.namespace ?? '';
  const ref = getControllerOf(rs);
  if (ref !== undefined) {
    if (ref.kind !== 'Deployment') return [];
    const d = dInformer.getByName(ns, ref.name);
    return d !== undefined && d.metadata?.uid === ref.uid ? [d] : [];
  }
  return dInformer.byNamespace(ns).filter((d) => selects(d, rs.metadata?.labels));
}

/**
 * The pods of `replicaSets` that the deployment's selector matches: all that
 * sync reads (Recreate waits for old ones to be gone), without scanning the namespace.
 */
export function podsOf(podInformer: Informer<Pod>, d: Deployment, namespace: string, replicaSets: readonly ReplicaSet[]): Pod[] {
  let selector: LabelSelector;
  try {
    selector = fromLabelSelectorObject(d.spec?.selector);
  } catch {
    return [];
  }
  return replicaSets.flatMap((rs) => controlledBy(podInformer, namespace, rs.metadata?.uid ?? '').filter((p) => matchesLabels(selector, p.metadata?.labels)));
}

/** Starts the Deployment controller on shared informers; resolves once caches are synced. */
export async function startDeploymentController(opts: DeploymentControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'deployment-controller' });
  const dInformer = opts.informerFactory.informerFor('deployments');
  const rsInformer = opts.informerFactory.informerFor('replicasets');
  const podInformer = opts.informerFactory.informerFor('pods');
  const queue = new WorkQueue<string>();
  const dClient = client.resource('deployments');
  const rsClient = client.resource('replicasets');
  ensureOwnershipIndexes(rsInformer);
  ensureOwnershipIndexes(podInformer);

  const enqueueFor = (rs: ReplicaSet): void => {
    for (const d of deploymentsForReplicaSet(dInformer, rs)) queue.add(keyOf(d));
  };
  const detach = [
    dInformer.addEventHandler({
      onAdd: (d) => queue.add(keyOf(d)),
      onUpdate: (_o, d) => queue.add(keyOf(d)),
      onDelete: (d) => queue.add(keyOf(d)),
    }),
    rsInformer.addEventHandler({
      onAdd: enqueueFor,
      onUpdate: (old, rs) => {
        enqueueFor(rs);
        if (getControllerOf(old)?.uid !== getControllerOf(rs)?.uid) enqueueFor(old);
      },
      onDelete: enqueueFor,
    }),
    // Recreate waits for old pods to be gone: their deletion must wake it.
    podInformer.addEventHandler({
      onDelete: (pod: Pod) => {
        const ref = getControllerOf(pod);
        if (ref?.kind !== 'ReplicaSet') return;
        const rs = rsInformer.getByName(pod.metadata?.namespace ?? '', ref.name);
        if (rs !== undefined) enqueueFor(rs);
      },
    }),
  ];

  async function sync(key: string): Promise<void> {
    const d = dInformer.get(key);
    if (d === undefined) return;
    const { namespace = '' } = splitKey(key);
    const name = d.metadata?.name ?? '';
    // Our replica sets and the namespace's orphans (claiming picks); their pods that the selector (parsed once) matches.
    const rsList = claimCandidates(rsInformer, namespace, d.metadata?.uid ?? '');
    const pods = podsOf(podInformer, d, namespace, rsList);
    const result = syncDeployment({ deployment: d, replicaSets: rsList, pods, now: now() });
    let resourceVersion = d.metadata?.resourceVersion;
    const ref = newControllerRef(d, 'apps/v1', 'Deployment');
    for (const e of result.events) recorder.event(d, e.type, e.reason, e.message);
    for (const a of result.actions) {
      switch (a.kind) {
        case 'adoptReplicaSet':
        case 'releaseReplicaSet': {
          const refs = a.kind === 'adoptReplicaSet' ? withControllerRef(a.replicaSet.metadata?.ownerReferences, ref) : withoutOwnerRef(a.replicaSet.metadata?.ownerReferences, ref.uid);
          try {
            await rsClient.namespace(namespace).patch(a.replicaSet.metadata?.name ?? '', 'merge', ownerRefsPatch(refs, a.replicaSet.metadata?.uid));
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
          break;
        }
        case 'createReplicaSet': {
          const rsName = a.replicaSet.metadata?.name ?? '';
          try {
            await rsClient.namespace(namespace).create(a.replicaSet);
          } catch (e) {
            if (isAlreadyExists(e)) {
              const existing = rsInformer.getByName(namespace, rsName) ?? (await rsClient.namespace(namespace).get(rsName));
              const c = collisionStatus(d, existing);
              if (!c.owned) {
                await dClient.namespace(namespace).updateStatus({ ...d, metadata: { ...d.metadata, resourceVersion }, status: { ...d.status, collisionCount: c.collisionCount } });
                throw new Error(`hash collision creating replica set ${rsName}; collisionCount is now ${c.collisionCount}`);
              }
              // Ours already: the cache is behind. Look again once it has caught up.
              queue.addAfter(key, 100);
              return;
            }
            const status = failedCreateStatus(d, rsName, e instanceof Error ? e.message : String(e), now());
            recorder.event(d, 'Warning', 'ReplicaSetCreateError', `Failed to create new replica set "${rsName}": ${e instanceof Error ? e.message : String(e)}`);
            if (status !== undefined) await dClient.namespace(namespace).updateStatus({ ...d, metadata: { ...d.metadata, resourceVersion }, status });
            throw e;
          }
          break;
        }
        case 'updateReplicaSet':
          await rsClient.namespace(namespace).update(a.replicaSet);
          break;
        case 'deleteReplicaSet':
          try {
            await rsClient.namespace(namespace).delete(a.replicaSet.metadata?.name ?? '', { preconditions: { uid: a.replicaSet.metadata?.uid } });
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
          break;
        case 'setDeploymentAnnotations': {
          const patched = await dClient.namespace(namespace).patch(name, 'merge', { metadata: { annotations: a.annotations } });
          resourceVersion = patched.metadata?.resourceVersion;
          break;
        }
        case 'updateStatus':
          await dClient.namespace(namespace).updateStatus({ ...d, metadata: { ...d.metadata, resourceVersion }, status: a.status });
          break;
      }
    }
    if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 5, sync, detach, recorder, onError: opts.onError });
}
