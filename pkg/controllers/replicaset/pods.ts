/**
 * Pod and ownership helpers shared by the workload controllers (replicaset,
 * deployment, daemonset), after k8s.io/kubernetes/pkg/controller's
 * controller_utils.go and pkg/api/v1/pod/util.go. Pure functions over plain
 * objects.
 */
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';

/** Enough of an object to become an owner. */
export interface OwnerLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string; namespace?: string; deletionTimestamp?: string };
}

/** The controller ownerReference of an object, if any (metav1.GetControllerOf). */
export function getControllerOf(obj: { metadata?: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.NewControllerRef: controller and blockOwnerDeletion both true. */
export function newControllerRef(owner: OwnerLike, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Active: not Succeeded, not Failed, not being deleted (controller.IsPodActive). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata?.deletionTimestamp === undefined;
}

/** The pod's Ready condition, if reported. */
function readyCondition(pod: Pod): { status: string; lastTransitionTime?: string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready=True (podutil.IsPodReady). */
export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** When the pod last turned Ready, in ms since the epoch; undefined when unknown. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = readyCondition(pod);
  if (c?.status !== 'True' || c.lastTransitionTime === undefined) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? undefined : t;
}

/** Older first, then by name (Kubernetes' ...ByCreationTimestamp orderings). */
export function byCreation(a: { metadata?: ObjectMeta }, b: { metadata?: ObjectMeta }): number {
  const ta = timeOf(a.metadata?.creationTimestamp) ?? 0;
  const tb = timeOf(b.metadata?.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/**
 * Ready for at least minReadySeconds at `now` (podutil.IsPodAvailable). With
 * minReadySeconds 0 readiness is enough; otherwise an unknown transition time
 * means not yet available.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const t = podReadyTime(pod);
  return t !== undefined && t + minReadySeconds * 1000 < now;
}

/** Label maps of a template (copied so a pod never aliases its owner). */
function copyMap(m: Record<string, string> | undefined): Record<string, string> | undefined {
  return m === undefined ? undefined : { ...m };
}

/**
 * controller.GetPodFromTemplate: a pod to create for `owner`, named
 * `<owner>-<random>` by the server, carrying the template's labels,
 * annotations, finalizers and spec and the controller ownerReference.
 */
export function podFromTemplate(template: PodTemplateSpec, namespace: string, ownerName: string, controllerRef: OwnerReference): Pod {
  const meta = template.metadata ?? {};
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ownerName}-`,
      namespace,
      ownerReferences: [{ ...controllerRef }],
    },
    spec: structuredClone(template.spec ?? { containers: [] }),
  };
  const labels = copyMap(meta.labels);
  const annotations = copyMap(meta.annotations);
  if (labels !== undefined) pod.metadata = { ...pod.metadata, labels };
  if (annotations !== undefined) pod.metadata = { ...pod.metadata, annotations };
  if (meta.finalizers !== undefined) pod.metadata = { ...pod.metadata, finalizers: [...meta.finalizers] };
  return pod;
}

/** Milliseconds of an RFC 3339 timestamp; undefined for none ("zero time"). */
export function timeOf(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** afterOrZero: t1 is "less" when it is zero or after t2. */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

const PHASE_ORDINAL: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

/** The pod-deletion-cost annotation as an int32; 0 when absent or invalid. */
function deletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

/** Max restart counts of regular containers and of restartable init containers (sidecars). */
function maxRestarts(pod: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  let sidecar = 0;
  for (const s of pod.status?.containerStatuses ?? []) regular = Math.max(regular, s.restartCount);
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const s of pod.status?.initContainerStatuses ?? []) if (sidecars.has(s.name)) sidecar = Math.max(sidecar, s.restartCount);
  return { regular, sidecar };
}

/**
 * The order in which a controller deletes pods (ActivePodsWithRanks.Less):
 * negative when `a` should go before `b`. `rankA`/`rankB` count related
 * active pods on the same node (doubled-up pods go first). Ready-time and
 * age compare plainly (newer first), not in the logarithmic buckets
 * Kubernetes' LogarithmicScaleDown uses.
 */
export function comparePodsForDeletion(a: Pod, b: Pod, rankA = 0, rankB = 0): number {
  const na = a.spec?.nodeName ?? '';
  const nb = b.spec?.nodeName ?? '';
  // 1. unassigned < assigned
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  // 2. Pending < Unknown < Running
  const pa = PHASE_ORDINAL[a.status?.phase ?? ''] ?? 0;
  const pb = PHASE_ORDINAL[b.status?.phase ?? ''] ?? 0;
  if (pa !== pb) return pa - pb;
  // 3. not ready < ready
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. lower deletion cost first
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  // 5. more colocated related pods first
  if (rankA !== rankB) return rankB - rankA;
  // 6. ready for less time first
  if (ra && rb) {
    const ta = podReadyTime(a);
    const tb = podReadyTime(b);
    if (ta !== tb) return afterOrZero(ta, tb) ? -1 : 1;
  }
  // 7. more restarts first
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa.regular !== xb.regular) return xb.regular - xa.regular;
  if (xa.sidecar !== xb.sidecar) return xb.sidecar - xa.sidecar;
  // 8. newer first
  const ka = timeOf(a.metadata?.creationTimestamp);
  const kb = timeOf(b.metadata?.creationTimestamp);
  if (ka !== kb) return afterOrZero(ka, kb) ? -1 : 1;
  return 0;
}

/**
 * The `count` pods to delete first (getPodsToDelete): ranked by
 * comparePodsForDeletion, with ranks from `related` (pods of sibling
 * controllers, e.g. the deployment's other replica sets) on the same node.
 */
export function podsToDelete(pods: Pod[], related: Pod[], count: number): Pod[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod, i) => ({ pod, i, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  // Stable: equal pods keep their input order, as Go's sort.Sort does not promise but tests like.
  ranked.sort((x, y) => comparePodsForDeletion(x.pod, y.pod, x.rank, y.rank) || x.i - y.i);
  return ranked.slice(0, count).map((r) => r.pod);
}

/**
 * The batch sizes of Kubernetes' slowStartBatch for `count` operations:
 * 1, 2, 4, … until the remainder. A failure in a batch stops later batches.
 */
export function slowStartBatchSizes(count: number, initial = 1): number[] {
  const sizes: number[] = [];
  let remaining = count;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    sizes.push(size);
    remaining -= size;
  }
  return sizes;
}

/**
 * Runs `fn` `count` times in slow-start batches (each batch concurrently);
 * stops after the first batch with a failure. Returns how many succeeded and
 * the first error.
 */
export async function slowStartBatch(count: number, fn: () => Promise<void>, initial = 1): Promise<{ successes: number; error?: unknown }> {
  let successes = 0;
  for (const size of slowStartBatchSizes(count, initial)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += size - failed.length;
    if (failed.length > 0) return { successes, error: failed[0].reason };
  }
  return { successes };
}
