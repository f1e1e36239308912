/**
 * The ReplicaSet controller's decisions as pure functions (after
 * k8s.io/kubernetes/pkg/controller/replicaset): which pods it manages,
 * how many to create or which to delete, and the status it reports.
 */
import type { ReplicaSet, ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { fromLabelSelectorObject, matchesLabels, selectorFromSet } from '../../api/selectors.js';
import { claimObjects } from './claim.js';
import { isPodActive, isPodAvailable, isPodReady, newControllerRef, podFromTemplate, podReadyTime, podsToDelete } from './pods.js';

/** Most pods a ReplicaSet creates or deletes in one sync (Kubernetes' BurstReplicas). */
export const RS_BURST_REPLICAS = 500;

/** What one sync of a ReplicaSet should do. */
export interface ReplicaSetPlan {
  /** Orphans to adopt (patch our controller ref on). */
  adopt: Pod[];
  /** Our pods that no longer match the selector (take our ref off). */
  release: Pod[];
  /** The active pods the ReplicaSet manages after claiming (owned and adopted). */
  pods: Pod[];
  /** How many pods to create now (burst-limited). */
  create: number;
  /** Which pods to delete now, best candidates first (burst-limited). */
  delete: Pod[];
}

/** Options of planReplicaSet. */
export interface ReplicaSetPlanOptions {
  burst?: number;
  /**
   * Active pods of sibling ReplicaSets under the same owner: doubled-up nodes
   * lose pods first. A function is called only when pods are to be deleted.
   */
  related?: Pod[] | (() => Pod[]);
  /**
   * False while earlier creations/deletions are not yet observed
   * (expectations unsatisfied) or the ReplicaSet is being deleted: claim,
   * but neither create nor delete.
   */
  manage?: boolean;
}

/**
 * Decides adoption/release and the create/delete diff for `rs` over candidate
 * pods: its own and the namespace's orphans suffice (others' pods are ignored).
 */
export function planReplicaSet(rs: ReplicaSet, namespacePods: readonly Pod[], opts: ReplicaSetPlanOptions = {}): ReplicaSetPlan {
  const burst = opts.burst ?? RS_BURST_REPLICAS;
  const claim = claimObjects(
    {
      uid: rs.metadata?.uid ?? '',
      namespace: rs.metadata?.namespace ?? '',
      deleting: rs.metadata?.deletionTimestamp !== undefined,
      selector: fromLabelSelectorObject(rs.spec?.selector),
    },
    namespacePods.filter(isPodActive),
  );
  const pods = [...claim.owned, ...claim.adopt];
  const plan: ReplicaSetPlan = { adopt: claim.adopt, release: claim.release, pods, create: 0, delete: [] };
  const manage = (opts.manage ?? true) && rs.metadata?.deletionTimestamp === undefined;
  if (!manage) return plan;
  const diff = pods.length - (rs.spec?.replicas ?? 1);
  if (diff < 0) plan.create = Math.min(-diff, burst);
  else if (diff > 0) {
    const related = typeof opts.related === 'function' ? opts.related() : (opts.related ?? []);
    plan.delete = podsToDelete(pods, related, Math.min(diff, burst));
  }
  return plan;
}

/** The pod to POST for one replica: template, generateName `<rs>-`, controller ref. */
export function replicaSetPod(rs: ReplicaSet): Pod {
  const ref = newControllerRef(rs, 'apps/v1', 'ReplicaSet');
  return podFromTemplate(rs.spec?.template ?? {}, rs.metadata?.namespace ?? '', rs.metadata?.name ?? '', ref);
}

/** What went wrong creating or deleting pods, for the ReplicaFailure condition. */
export interface ManageFailure {
  message: string;
}

/**
 * The status for `rs` given the pods it manages (calculateStatus): counts,
 * observedGeneration, and a ReplicaFailure condition (FailedCreate /
 * FailedDelete) while pod writes fail. `now` is ms since the epoch.
 */
export function computeReplicaSetStatus(rs: ReplicaSet, pods: readonly Pod[], now: number, failure?: ManageFailure): ReplicaSetStatus {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  const templateSel = selectorFromSet(rs.spec?.template?.metadata?.labels);
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (matchesLabels(templateSel, pod.metadata?.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
  }
  const old = rs.status ?? { replicas: 0 };
  let conditions: ReplicaSetCondition[] = [...(old.conditions ?? [])];
  const hasFailure = conditions.some((c) => c.type === 'ReplicaFailure');
  if (failure !== undefined && !hasFailure) {
    const diff = pods.length - (rs.spec?.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    conditions.push({ type: 'ReplicaFailure', status: 'True', reason, message: failure.message, lastTransitionTime: new Date(now).toISOString() });
  } else if (failure === undefined && hasFailure) {
    conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata?.generation ?? 0,
  };
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** True when writing `next` would change what is stored (zero counts and absent fields compare equal). */
export function replicaSetStatusChanged(old: ReplicaSetStatus | undefined, next: ReplicaSetStatus): boolean {
  const o = old ?? { replicas: 0 };
  return (
    (o.replicas ?? 0) !== next.replicas ||
    (o.fullyLabeledReplicas ?? 0) !== (next.fullyLabeledReplicas ?? 0) ||
    (o.readyReplicas ?? 0) !== (next.readyReplicas ?? 0) ||
    (o.availableReplicas ?? 0) !== (next.availableReplicas ?? 0) ||
    (o.observedGeneration ?? 0) !== (next.observedGeneration ?? 0) ||
    JSON.stringify(o.conditions ?? []) !== JSON.stringify(next.conditions ?? [])
  );
}

/**
 * Milliseconds until the next ready pod passes minReadySeconds, so the
 * controller can resync then and count it available; undefined if none waits.
 */
export function nextAvailableIn(pods: readonly Pod[], minReadySeconds: number, now: number): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let next: number | undefined;
  for (const pod of pods) {
    if (!isPodReady(pod) || isPodAvailable(pod, minReadySeconds, now)) continue;
    const t = podReadyTime(pod);
    const wait = t === undefined ? minReadySeconds * 1000 : t + minReadySeconds * 1000 - now + 1;
    next = next === undefined ? wait : Math.min(next, wait);
  }
  return next === undefined ? undefined : Math.max(next, 0);
}
