/**
 * One sync of a Deployment as a pure function (after
 * k8s.io/kubernetes/pkg/controller/deployment: sync.go, rolling.go,
 * recreate.go, progress.go). It reads the deployment, the replica sets of
 * its namespace and the pods matching it, and returns the writes to make in
 * order. Kubernetes makes some of these writes mid-sync and carries on with
 * the results; here they are simulated on working copies, so one sync
 * yields the same decisions and a single status write.
 *
 * Not supported: the extensions/v1beta1 rollback annotation
 * (`deprecated.deployment.rollback.to`); kubectl 1.32 does `rollout undo`
 * client-side by patching the template from the chosen ReplicaSet.
 */
import type { Deployment, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { fromLabelSelectorObject } from '../../api/selectors.js';
import { claimObjects } from '../replicaset/claim.js';
import { computeTemplateHash } from '../replicaset/hash.js';
import { getControllerOf, newControllerRef, timeOf } from '../replicaset/pods.js';
import {
  POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, Reasons, activeReplicaSets, actualReplicaCount, availableReplicaCount, byCreation,
  byRevision, bySizeNewer, bySizeOlder, deploymentComplete, deploymentProgressing, deploymentTimedOut, desiredReplicasAnnotation,
  equalIgnoreHash, findNewReplicaSet, getCondition, getProportion, hasProgressDeadline, hasRevisionHistoryLimit, isRollingUpdate,
  isSaturated, maxRevision, maxSurge, maxUnavailable, newCondition, newRSNewReplicas, readyReplicaCount, removeCondition, replicasAnnotationsNeedUpdate,
  replicasOf, safeAvailableCount, setCondition, setNewReplicaSetAnnotations, setReplicasAnnotations, specReplicaCount,
} from './util.js';

/** A write the deployment controller makes, in the order returned. */
export type DeploymentAction =
  | { kind: 'adoptReplicaSet'; replicaSet: ReplicaSet }
  | { kind: 'releaseReplicaSet'; replicaSet: ReplicaSet }
  | { kind: 'createReplicaSet'; replicaSet: ReplicaSet }
  /** PUT of the whole object: spec.replicas, minReadySeconds and annotations may have changed. */
  | { kind: 'updateReplicaSet'; replicaSet: ReplicaSet }
  | { kind: 'deleteReplicaSet'; replicaSet: ReplicaSet }
  /** Metadata annotations of the deployment to set (the revision). */
  | { kind: 'setDeploymentAnnotations'; annotations: Record<string, string> }
  | { kind: 'updateStatus'; status: DeploymentStatus };

/** An Event to record on the deployment. */
export interface DeploymentEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The outcome of one sync. */
export interface DeploymentSyncResult {
  actions: DeploymentAction[];
  events: DeploymentEvent[];
  /** Sync again after this long (progress deadline checks). */
  requeueAfterMs?: number;
}

/** What one sync reads. */
export interface DeploymentSyncInput {
  deployment: Deployment;
  /** The ReplicaSets this deployment controls plus the namespace's orphans (claiming picks ours). */
  replicaSets: readonly ReplicaSet[];
  /** Pods of those ReplicaSets; Recreate waits for old ones to be gone. */
  pods: readonly Pod[];
  /** ms since the epoch. */
  now: number;
}

/** Working state of a sync: copies of the deployment and its replica sets, and the writes so far. */
class Sync {
  readonly d: Deployment;
  readonly originalStatus: DeploymentStatus;
  rsList: ReplicaSet[] = [];
  readonly actions: DeploymentAction[] = [];
  readonly events: DeploymentEvent[] = [];
  annotationsDirty = false;
  requeueAfterMs: number | undefined;

  constructor(readonly input: DeploymentSyncInput) {
    this.d = structuredClone(input.deployment);
    this.d.status = this.d.status ?? {};
    this.originalStatus = structuredClone(this.d.status);
  }

  get name(): string {
    return this.d.metadata?.name ?? '';
  }

  event(type: DeploymentEvent['type'], reason: string, message: string): void {
    this.events.push({ type, reason, message });
  }

  /** Records a replica set write and replaces the working copy. */
  putReplicaSet(rs: ReplicaSet): void {
    const key = rs.metadata?.name;
    this.rsList = this.rsList.map((x) => (x.metadata?.name === key ? rs : x));
    const pending = this.actions.find((a) => (a.kind === 'createReplicaSet' || a.kind === 'updateReplicaSet') && a.replicaSet.metadata?.name === key);
    if (pending !== undefined && (pending.kind === 'createReplicaSet' || pending.kind === 'updateReplicaSet')) pending.replicaSet = rs;
    else this.actions.push({ kind: 'updateReplicaSet', replicaSet: rs });
  }

  finish(): DeploymentSyncResult {
    if (this.annotationsDirty) {
      // Before the status write, so a watcher never sees a status for a revision it cannot name.
      const action: DeploymentAction = { kind: 'setDeploymentAnnotations', annotations: { ...(this.d.metadata?.annotations ?? {}) } };
      const at = this.actions.findIndex((a) => a.kind === 'updateStatus');
      if (at < 0) this.actions.push(action);
      else this.actions.splice(at, 0, action);
    }
    return { actions: this.actions, events: this.events, requeueAfterMs: this.requeueAfterMs };
  }
}

/** Decides what one sync of the deployment does (syncDeployment). */
export function syncDeployment(input: DeploymentSyncInput): DeploymentSyncResult {
  const s = new Sync(input);
  const d = s.d;
  const sel = d.spec?.selector;
  if (sel !== undefined && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) {
    s.event('Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
      s.actions.push({ kind: 'updateStatus', status: { ...d.status, observedGeneration: d.metadata?.generation ?? 0 } });
    }
    return s.finish();
  }

  claimReplicaSets(s);

  if (d.metadata?.deletionTimestamp !== undefined) {
    const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, false);
    syncDeploymentStatus(s, [...oldRSs, newRS], newRS);
    return s.finish();
  }

  checkPausedConditions(s);
  if (d.spec?.paused === true) {
    scaleSync(s);
    return s.finish();
  }
  if (isScalingEvent(s)) {
    scaleSync(s);
    return s.finish();
  }
  if (isRollingUpdate(d)) rolloutRolling(s);
  else rolloutRecreate(s);
  return s.finish();
}

function claimReplicaSets(s: Sync): void {
  const d = s.d;
  const result = claimObjects(
    {
      uid: d.metadata?.uid ?? '',
      namespace: d.metadata?.namespace ?? '',
      deleting: d.metadata?.deletionTimestamp !== undefined,
      selector: fromLabelSelectorObject(d.spec?.selector),
    },
    s.input.replicaSets,
  );
  for (const rs of result.adopt) s.actions.push({ kind: 'adoptReplicaSet', replicaSet: rs });
  for (const rs of result.release) s.actions.push({ kind: 'releaseReplicaSet', replicaSet: rs });
  s.rsList = [...result.owned, ...result.adopt].map((rs) => structuredClone(rs));
}

/** getAllReplicaSetsAndSyncRevision: the new replica set (created if asked) and all old ones. */
function getAllReplicaSetsAndSyncRevision(s: Sync, createIfNotExisted: boolean): { newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] } {
  const existing = findNewReplicaSet(s.d, s.rsList);
  const oldRSs = s.rsList.filter((rs) => rs !== existing);
  const newRS = getNewReplicaSet(s, existing, oldRSs, createIfNotExisted);
  return { newRS, oldRSs };
}

function getNewReplicaSet(s: Sync, existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): ReplicaSet | undefined {
  const d = s.d;
  const newRevision = maxRevision(oldRSs) + 1;
  if (existing !== undefined) {
    const copy = structuredClone(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
    const minReady = d.spec?.minReadySeconds ?? 0;
    if (annotationsUpdated || (copy.spec?.minReadySeconds ?? 0) !== minReady) {
      copy.spec = { ...copy.spec, selector: copy.spec?.selector ?? {}, minReadySeconds: minReady };
      s.putReplicaSet(copy);
      return copy;
    }
    setDeploymentRevision(s, copy.metadata?.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(d) && getCondition(d.status, 'Progressing') === undefined) {
      setCondition(d.status ?? {}, newCondition('Progressing', 'True', Reasons.FoundNewRS, `Found new replica set "${copy.metadata?.name ?? ''}"`, s.input.now));
    }
    return copy;
  }
  if (!create) return undefined;

  const template = structuredClone(d.spec?.template ?? {});
  const hash = computeTemplateHash(d.spec?.template ?? {}, d.status?.collisionCount);
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  template.metadata = { ...template.metadata, labels };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const rsName = `${s.name}-${hash}`;
  const newRS: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: rsName,
      namespace: d.metadata?.namespace,
      ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      labels: { ...labels },
    },
    spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
  };
  const count = newRSNewReplicas(d, [...oldRSs, newRS], newRS);
  newRS.spec = { ...newRS.spec, selector, replicas: count };
  setNewReplicaSetAnnotations(d, newRS, newRevision, false);
  s.rsList.push(newRS);
  s.actions.push({ kind: 'createReplicaSet', replicaSet: newRS });
  if (count > 0) s.event('Normal', 'ScalingReplicaSet', `Scaled up replica set ${rsName} from 0 to ${count}`);
  setDeploymentRevision(s, String(newRevision));
  if (hasProgressDeadline(d)) {
    setCondition(d.status ?? {}, newCondition('Progressing', 'True', Reasons.NewReplicaSet, `Created new replica set "${rsName}"`, s.input.now));
  }
  return newRS;
}

function setDeploymentRevision(s: Sync, revision: string): void {
  const annotations = s.d.metadata?.annotations ?? {};
  if (annotations[REVISION_ANNOTATION] === revision) return;
  s.d.metadata = { ...s.d.metadata, annotations: { ...annotations, [REVISION_ANNOTATION]: revision } };
  s.annotationsDirty = true;
}

function checkPausedConditions(s: Sync): void {
  const d = s.d;
  if (!hasProgressDeadline(d)) return;
  const cond = getCondition(d.status, 'Progressing');
  if (cond?.reason === Reasons.TimedOut) return;
  const pausedExists = cond?.reason === Reasons.Paused;
  const status = d.status ?? {};
  if (d.spec?.paused === true && !pausedExists) {
    setCondition(status, newCondition('Progressing', 'Unknown', Reasons.Paused, 'Deployment is paused', s.input.now));
  } else if (d.spec?.paused !== true && pausedExists) {
    setCondition(status, newCondition('Progressing', 'Unknown', Reasons.Resumed, 'Deployment is resumed', s.input.now));
  }
}

function isScalingEvent(s: Sync): boolean {
  const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, false);
  for (const rs of activeReplicaSets([...oldRSs, newRS])) {
    const desired = desiredReplicasAnnotation(rs);
    if (desired !== undefined && desired !== replicasOf(s.d)) return true;
  }
  return false;
}

/** sync(): scaling only (paused deployments and scaling events), then status. */
function scaleSync(s: Sync): void {
  const { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, false);
  scale(s, newRS, oldRSs);
  if (s.d.spec?.paused === true) cleanupDeployment(s, current(s, oldRSs));
  const latest = current(s, oldRSs);
  syncDeploymentStatus(s, [...latest, current1(s, newRS)], current1(s, newRS));
}

/** The working copies of `rss` (after any writes this sync). */
function current(s: Sync, rss: readonly ReplicaSet[]): ReplicaSet[] {
  return rss.map((rs) => current1(s, rs)).filter((x): x is ReplicaSet => x !== undefined);
}

function current1(s: Sync, rs: ReplicaSet | undefined): ReplicaSet | undefined {
  if (rs === undefined) return undefined;
  return s.rsList.find((x) => x.metadata?.name === rs.metadata?.name) ?? rs;
}

/** FindActiveOrLatest: the only active replica set, or the newest when none is active. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (newRS === undefined && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

function scale(s: Sync, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): void {
  const d = s.d;
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest !== undefined) {
    if (replicasOf(activeOrLatest) !== replicasOf(d)) scaleReplicaSetAndRecordEvent(s, activeOrLatest, replicasOf(d));
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of activeReplicaSets(oldRSs)) scaleReplicaSetAndRecordEvent(s, old, 0);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const all = activeReplicaSets([...oldRSs, newRS]);
  const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
  const toAdd = allowed - specReplicaCount(all);
  let op = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    op = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    op = 'down';
  }
  let added = 0;
  const sizes = new Map<ReplicaSet, number>();
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = getProportion(rs, d, toAdd, added);
      sizes.set(rs, replicasOf(rs) + p);
      added += p;
    } else {
      sizes.set(rs, replicasOf(rs));
    }
  }
  all.forEach((rs, i) => {
    let size = sizes.get(rs) ?? replicasOf(rs);
    if (i === 0 && toAdd !== 0) size = Math.max(size + toAdd - added, 0);
    scaleReplicaSet(s, rs, size, op);
  });
}

/** Scales `rs` if its size differs; true when it did. */
function scaleReplicaSetAndRecordEvent(s: Sync, rs: ReplicaSet, newScale: number): boolean {
  if (replicasOf(rs) === newScale) return false;
  return scaleReplicaSet(s, rs, newScale, replicasOf(rs) < newScale ? 'up' : 'down');
}

/** Writes size and replica annotations when either is stale; true when the size changed. */
function scaleReplicaSet(s: Sync, rs: ReplicaSet, newScale: number, op: string): boolean {
  const d = s.d;
  const cur = current1(s, rs) ?? rs;
  const sizeChanged = replicasOf(cur) !== newScale;
  const desired = replicasOf(d);
  const max = desired + maxSurge(d);
  if (!sizeChanged && !replicasAnnotationsNeedUpdate(cur, desired, max)) return false;
  const copy = structuredClone(cur);
  const oldScale = replicasOf(cur);
  copy.spec = { ...copy.spec, selector: copy.spec?.selector ?? {}, replicas: newScale };
  setReplicasAnnotations(copy, desired, max);
  s.putReplicaSet(copy);
  if (sizeChanged) s.event('Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${copy.metadata?.name ?? ''} from ${oldScale} to ${newScale}`);
  return sizeChanged;
}

function rolloutRolling(s: Sync): void {
  const got = getAllReplicaSetsAndSyncRevision(s, true);
  const newRS = got.newRS;
  if (newRS === undefined) return;
  const oldRSs = got.oldRSs;
  if (reconcileNewReplicaSet(s, [...oldRSs, newRS], newRS)) {
    syncRolloutStatus(s, [...current(s, oldRSs), current1(s, newRS)], current1(s, newRS));
    return;
  }
  if (reconcileOldReplicaSets(s, current(s, [...oldRSs, newRS]), activeReplicaSets(current(s, oldRSs)), current1(s, newRS) ?? newRS)) {
    syncRolloutStatus(s, [...current(s, oldRSs), current1(s, newRS)], current1(s, newRS));
    return;
  }
  if (deploymentComplete(s.d, s.d.status ?? {})) cleanupDeployment(s, current(s, oldRSs));
  syncRolloutStatus(s, [...current(s, oldRSs), current1(s, newRS)], current1(s, newRS));
}

function reconcileNewReplicaSet(s: Sync, allRSs: ReplicaSet[], newRS: ReplicaSet): boolean {
  const d = s.d;
  if (replicasOf(newRS) === replicasOf(d)) return false;
  if (replicasOf(newRS) > replicasOf(d)) return scaleReplicaSetAndRecordEvent(s, newRS, replicasOf(d));
  return scaleReplicaSetAndRecordEvent(s, newRS, newRSNewReplicas(d, allRSs, newRS));
}

function reconcileOldReplicaSets(s: Sync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): boolean {
  const d = s.d;
  if (specReplicaCount(oldRSs) === 0) return false;
  const allPods = specReplicaCount(allRSs);
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = replicasOf(newRS) - Math.min(newRS.status?.availableReplicas ?? 0, replicasOf(newRS));
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
  const scaledDown = scaleDownOldReplicaSetsForRollingUpdate(s, [...current(s, oldRSs), newRS], current(s, oldRSs));
  return cleaned + scaledDown > 0;
}

/** Scales old replica sets down by their unavailable replicas first: losing those costs no availability. */
function cleanupUnhealthyReplicas(s: Sync, oldRSs: ReplicaSet[], maxCleanup: number): number {
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= maxCleanup) break;
    const replicas = replicasOf(rs);
    const available = Math.min(rs.status?.availableReplicas ?? 0, replicas);
    if (replicas === 0 || replicas === available) continue;
    const down = Math.min(maxCleanup - total, replicas - available);
    scaleReplicaSetAndRecordEvent(s, rs, replicas - down);
    total += down;
  }
  return total;
}

function scaleDownOldReplicaSetsForRollingUpdate(s: Sync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[]): number {
  const d = s.d;
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const available = safeAvailableCount(allRSs);
  if (available <= minAvailable) return 0;
  const target = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(byCreation)) {
    if (total >= target) break;
    if (replicasOf(rs) === 0) continue;
    const down = Math.min(replicasOf(rs), target - total);
    scaleReplicaSetAndRecordEvent(s, rs, replicasOf(rs) - down);
    total += down;
  }
  return total;
}

function rolloutRecreate(s: Sync): void {
  let { newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, false);
  let scaledDown = false;
  for (const rs of activeReplicaSets(oldRSs)) if (scaleReplicaSetAndRecordEvent(s, rs, 0)) scaledDown = true;
  if (scaledDown || oldPodsRunning(s, newRS, current(s, oldRSs))) {
    syncRolloutStatus(s, [...current(s, oldRSs), current1(s, newRS)], current1(s, newRS));
    return;
  }
  if (newRS === undefined) ({ newRS, oldRSs } = getAllReplicaSetsAndSyncRevision(s, true));
  if (newRS !== undefined) scaleReplicaSetAndRecordEvent(s, current1(s, newRS) ?? newRS, replicasOf(s.d));
  if (deploymentComplete(s.d, s.d.status ?? {})) cleanupDeployment(s, current(s, oldRSs));
  syncRolloutStatus(s, [...current(s, oldRSs), current1(s, newRS)], current1(s, newRS));
}

/** Old replica sets still report pods, or non-terminal pods of theirs still exist. */
function oldPodsRunning(s: Sync, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
  if (actualReplicaCount(oldRSs) > 0) return true;
  const ours = new Set(s.rsList.map((rs) => rs.metadata?.uid).filter((u): u is string => u !== undefined));
  const newUid = newRS?.metadata?.uid;
  for (const pod of s.input.pods) {
    const ref = getControllerOf(pod);
    if (ref === undefined || !ours.has(ref.uid) || ref.uid === newUid) continue;
    const phase = pod.status?.phase;
    if (phase !== 'Failed' && phase !== 'Succeeded') return true;
  }
  return false;
}

/** Deletes the oldest fully scaled-down replica sets beyond revisionHistoryLimit. */
function cleanupDeployment(s: Sync, oldRSs: ReplicaSet[]): void {
  const d = s.d;
  if (!hasRevisionHistoryLimit(d)) return;
  const alive = oldRSs.filter((rs) => rs.metadata?.deletionTimestamp === undefined);
  const diff = alive.length - (d.spec?.revisionHistoryLimit ?? 0);
  if (diff <= 0) return;
  alive.sort(byRevision);
  for (const rs of alive.slice(0, diff)) {
    if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
    if ((rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    // Never delete a replica set this sync has just written.
    if (s.actions.some((a) => a.kind === 'updateReplicaSet' && a.replicaSet.metadata?.name === rs.metadata?.name)) continue;
    s.actions.push({ kind: 'deleteReplicaSet', replicaSet: rs });
  }
}

/** calculateStatus: counts from the replica sets and the Available condition. */
export function calculateStatus(d: Deployment, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, now: number): DeploymentStatus {
  const available = availableReplicaCount(allRSs);
  const unavailable = Math.max(specReplicaCount(allRSs) - available, 0);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata?.generation ?? 0,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions !== undefined) status.conditions = d.status.conditions.map((c) => ({ ...c }));
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, newCondition('Available', 'True', Reasons.MinimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition('Available', 'False', Reasons.MinimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  }
  return status;
}

function syncDeploymentStatus(s: Sync, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): void {
  writeStatusIfChanged(s, calculateStatus(s.d, allRSs, newRS, s.input.now));
}

function writeStatusIfChanged(s: Sync, status: DeploymentStatus): void {
  if (!statusEqual(s.originalStatus, status)) s.actions.push({ kind: 'updateStatus', status });
}

/** Statuses equal, reading absent counts as zero. */
export function statusEqual(a: DeploymentStatus, b: DeploymentStatus): boolean {
  const counts = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const;
  for (const k of counts) if ((a[k] ?? 0) !== (b[k] ?? 0)) return false;
  if (a.collisionCount !== b.collisionCount) return false;
  return JSON.stringify(a.conditions ?? []) === JSON.stringify(b.conditions ?? []);
}

/** syncRolloutStatus: status plus the Progressing condition and ReplicaFailure promotion. */
function syncRolloutStatus(s: Sync, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): void {
  const d = s.d;
  const now = s.input.now;
  const status = calculateStatus(d, allRSs, newRS, now);
  if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
  const currentCond = getCondition(d.status, 'Progressing');
  const isComplete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && currentCond?.reason === Reasons.NewRSAvailable;
  if (hasProgressDeadline(d) && !isComplete) {
    const rsName = newRS?.metadata?.name;
    if (deploymentComplete(d, status)) {
      const msg = rsName !== undefined ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${s.name}" has successfully progressed.`;
      setCondition(status, newCondition('Progressing', 'True', Reasons.NewRSAvailable, msg, now));
    } else if (deploymentProgressing(d, status)) {
      const msg = rsName !== undefined ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${s.name}" is progressing.`;
      const cond = newCondition('Progressing', 'True', Reasons.ReplicaSetUpdated, msg, now);
      if (currentCond !== undefined) {
        if (currentCond.status === 'True') cond.lastTransitionTime = currentCond.lastTransitionTime;
        removeCondition(status, 'Progressing');
      }
      setCondition(status, cond);
    } else if (deploymentTimedOut(d, status, now)) {
      const msg = rsName !== undefined ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${s.name}" has timed out progressing.`;
      setCondition(status, newCondition('Progressing', 'False', Reasons.TimedOut, msg, now));
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  if (failure !== undefined) setCondition(status, failure);
  else removeCondition(status, 'ReplicaFailure');
  if (statusEqual(s.originalStatus, status)) {
    s.requeueAfterMs = stuckRequeue(d, status, now);
    return;
  }
  s.actions.push({ kind: 'updateStatus', status });
}

/** getReplicaFailures: the new replica set's ReplicaFailure, else any old one's. */
function replicaFailure(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined) {
  const fromRS = (rs: ReplicaSet | undefined) => rs?.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
  const c = fromRS(newRS) ?? allRSs.map(fromRS).find((x) => x !== undefined);
  if (c === undefined) return undefined;
  return { type: 'ReplicaFailure', status: c.status, reason: c.reason, message: c.message, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime };
}

/** requeueStuckDeployment: when to look again for a progress deadline; undefined if never. */
function stuckRequeue(d: Deployment, status: DeploymentStatus, now: number): number | undefined {
  const cond = getCondition(d.status, 'Progressing');
  if (!hasProgressDeadline(d) || cond === undefined) return undefined;
  if (deploymentComplete(d, status) || cond.reason === Reasons.TimedOut) return undefined;
  const from = timeOf(cond.lastUpdateTime);
  if (from === undefined) return undefined;
  const after = from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - now;
  return after < 1000 ? 0 : after + 1000;
}

/** The collision count to write when creating the new replica set hit an existing one that is not ours. */
export function collisionStatus(d: Deployment, existing: ReplicaSet | undefined): { owned: true } | { owned: false; collisionCount: number } {
  if (existing !== undefined && getControllerOf(existing)?.uid === d.metadata?.uid && equalIgnoreHash(d.spec?.template, existing.spec?.template)) {
    return { owned: true };
  }
  return { owned: false, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
}

/** The status to write when creating the new replica set failed (ReplicaSetCreateError), if it has a deadline. */
export function failedCreateStatus(d: Deployment, rsName: string, message: string, now: number): DeploymentStatus | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const status = structuredClone(d.status ?? {});
  setCondition(status, newCondition('Progressing', 'False', Reasons.FailedRSCreate, `Failed to create new replica set "${rsName}": ${message}`, now));
  return status;
}
