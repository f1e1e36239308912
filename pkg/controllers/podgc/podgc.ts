/**
 * The pure half of pod garbage collection, after Kubernetes'
 * pkg/controller/podgc: which nodes have been missing long enough
 * (quarantine), whose pods are orphaned, which terminating pods never got
 * a node, and which finished pods exceed the threshold (evicted first,
 * then oldest).
 */
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';

/** Kubernetes' default --terminated-pod-gc-threshold. */
export const DEFAULT_TERMINATED_POD_GC_THRESHOLD = 12_500;
/** How long a node must have been gone before its pods are collected (Kubernetes 1.32). */
export const DEFAULT_QUARANTINE_MS = 40_000;

/** The condition PodGC sets on a pod of a vanished node before deleting it. */
export const ORPHAN_CONDITION: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };

/** Succeeded or Failed. */
export function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Failed because the kubelet evicted it. */
export function isPodEvicted(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted';
}

function createdMs(pod: Pod): number {
  const t = Date.parse(pod.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** Evicted pods first, then by creation time, then by name (Kubernetes' byEvictionAndCreationTimestamp). */
export function compareForTerminatedGC(a: Pod, b: Pod): number {
  const ea = isPodEvicted(a);
  const eb = isPodEvicted(b);
  if (ea !== eb) return ea ? -1 : 1;
  const d = createdMs(a) - createdMs(b);
  if (d !== 0) return d;
  const na = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
  const nb = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** The finished pods beyond `threshold` to delete, evicted and oldest first; none when threshold ≤ 0 (disabled). */
export function terminatedPodsToDelete(pods: readonly Pod[], threshold: number): Pod[] {
  if (threshold <= 0) return [];
  // Pods already being deleted are on their way out (a finalizer holds them): neither counted nor deleted again.
  const terminated = pods.filter((p) => isPodTerminated(p) && p.metadata?.deletionTimestamp == null);
  const excess = terminated.length - threshold;
  if (excess <= 0) return [];
  return terminated.sort(compareForTerminatedGC).slice(0, excess);
}

/** Terminating pods that never got a node: nothing else will finish them. */
export function unscheduledTerminatingPods(pods: readonly Pod[]): Pod[] {
  return pods.filter((p) => p.metadata?.deletionTimestamp != null && !p.spec?.nodeName);
}

/** Pods bound to one of `goneNodes`. */
export function orphanedPods(pods: readonly Pod[], goneNodes: ReadonlySet<string>): Pod[] {
  if (goneNodes.size === 0) return [];
  return pods.filter((p) => p.spec?.nodeName !== undefined && goneNodes.has(p.spec.nodeName));
}

export interface QuarantineResult {
  /** Node name → when it was first seen missing (ms), for the nodes still missing. */
  missingSince: Map<string, number>;
  /** Nodes missing for at least the quarantine: to confirm with the API, then collect their pods. */
  expired: string[];
  /** When the next node's quarantine ends, in ms from now; undefined when none is waiting. */
  nextInMs?: number;
}

/**
 * Tracks nodes that pods reference but the node cache does not hold. A
 * node must stay missing for `quarantineMs` (the cache may lag, or the
 * node be re-registering) before its pods are collected.
 */
export function quarantine(prev: ReadonlyMap<string, number>, pods: readonly Pod[], nodeExists: (name: string) => boolean, now: number, quarantineMs: number): QuarantineResult {
  const missingSince = new Map<string, number>();
  for (const p of pods) {
    const node = p.spec?.nodeName;
    if (!node || missingSince.has(node) || nodeExists(node)) continue;
    missingSince.set(node, prev.get(node) ?? now);
  }
  const expired: string[] = [];
  let nextInMs: number | undefined;
  for (const [node, since] of missingSince) {
    const left = since + quarantineMs - now;
    if (left <= 0) expired.push(node);
    else nextInMs = nextInMs === undefined ? left : Math.min(nextInMs, left);
  }
  expired.sort();
  return { missingSince, expired, nextInMs };
}

/**
 * The status patch PodGC sends before force-deleting a pod that is not
 * finished yet: phase Failed (no kubelet is left to say so), with a
 * condition for orphans; undefined for a finished pod.
 */
export function failedStatusPatch(pod: Pod, condition?: PodCondition, now?: string): { status: { phase: 'Failed'; conditions?: PodCondition[] } } | undefined {
  if (isPodTerminated(pod)) return undefined;
  const status: { phase: 'Failed'; conditions?: PodCondition[] } = { phase: 'Failed' };
  if (condition !== undefined) status.conditions = [{ ...condition, ...(now !== undefined ? { lastTransitionTime: now } : {}) }];
  return { status };
}
