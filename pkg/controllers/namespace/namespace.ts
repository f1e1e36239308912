/**
 * The pure half of namespace deletion, after Kubernetes'
 * pkg/controller/namespace/deletion: which namespaces are ours to empty,
 * the status conditions a deletion pass reports, and how long to wait for
 * pods still within their grace period.
 */
import type { Namespace, NamespaceCondition, Pod } from 'kubernetes-types/core/v1.js';

/** The spec.finalizers entry this controller owns. */
export const KUBERNETES_FINALIZER = 'kubernetes';

/** True when the namespace is being deleted and still waits for us to empty it. */
export function needsFinalization(ns: Namespace | undefined): ns is Namespace {
  return ns?.metadata?.deletionTimestamp != null && (ns.spec?.finalizers ?? []).includes(KUBERNETES_FINALIZER);
}

/** The body of PUT namespaces/NAME/finalize: the namespace without our finalizer. */
export function finalizedNamespace(ns: Namespace): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: structuredClone(ns.metadata ?? {}),
    spec: { ...ns.spec, finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== KUBERNETES_FINALIZER) },
  };
}

/** What one pass over the namespace's content found. */
export interface DeletionReport {
  /** Resources whose deletion failed, 'pods: <error>' (or discovery-style failures). */
  failures: string[];
  /** Objects still present per group-resource ('pods', 'deployments.apps'). */
  remaining: Map<string, number>;
  /** Remaining objects per metadata.finalizers entry. */
  finalizers: Map<string, number>;
}

const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

type ConditionType = (typeof CONDITION_TYPES)[number];

/** Kubernetes' reasons and messages for a condition that is fine (status False). */
const OK: Record<ConditionType, { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  NamespaceDeletionGroupVersionParsingFailure: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  NamespaceDeletionContentFailure: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: { reason: 'ContentHasNoFinalizers', message: 'All content-preserving finalizers finished' },
};

function counts(m: Map<string, number>, what: string): string {
  return [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => `${k} ${what} ${n} resource instances`)
    .join(', ');
}

/**
 * The namespace's conditions after a pass: the five deletion conditions
 * Kubernetes reports (True with the problem, else False with its "all
 * fine" reason); a condition whose status, reason and message are
 * unchanged keeps its lastTransitionTime. Other conditions are kept.
 */
export function namespaceConditions(report: DeletionReport, previous: readonly NamespaceCondition[] | undefined, now: string): NamespaceCondition[] {
  const bad = new Map<ConditionType, { reason: string; message: string }>();
  if (report.failures.length > 0) {
    bad.set('NamespaceDeletionContentFailure', {
      reason: 'ContentDeletionFailed',
      message: `Failed to delete all resource types, ${report.failures.length} remaining: ${report.failures.join(', ')}`,
    });
  }
  if (report.remaining.size > 0) {
    bad.set('NamespaceContentRemaining', { reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${counts(report.remaining, 'has')}` });
  }
  if (report.finalizers.size > 0) {
    bad.set('NamespaceFinalizersRemaining', {
      reason: 'SomeFinalizersRemain',
      message: `Some content in the namespace has finalizers remaining: ${counts(report.finalizers, 'in')}`,
    });
  }
  const prev = new Map((previous ?? []).map((c) => [c.type, c]));
  const ours: NamespaceCondition[] = CONDITION_TYPES.map((type) => {
    const b = bad.get(type);
    const want = { type, status: b ? 'True' : 'False', reason: (b ?? OK[type]).reason, message: (b ?? OK[type]).message };
    const old = prev.get(type);
    const same = old !== undefined && old.status === want.status && old.reason === want.reason && old.message === want.message;
    return { ...want, lastTransitionTime: same ? old.lastTransitionTime : now };
  });
  const others = (previous ?? []).filter((c) => !(CONDITION_TYPES as readonly string[]).includes(c.type));
  return [...ours, ...others];
}

/** True when the conditions differ in anything but order. */
export function conditionsChanged(a: readonly NamespaceCondition[] | undefined, b: readonly NamespaceCondition[]): boolean {
  const key = (cs: readonly NamespaceCondition[] | undefined): string =>
    JSON.stringify([...(cs ?? [])].map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '', c.lastTransitionTime ?? '']).sort());
  return key(a) !== key(b);
}

/** True when nothing is left and nothing failed: the namespace may be finalized. */
export function isEmptied(report: DeletionReport): boolean {
  return report.failures.length === 0 && report.remaining.size === 0;
}

/**
 * When to look again while pods are still terminating, as Kubernetes does:
 * half the longest grace period of the pods still running, plus a second;
 * undefined when no pod is left that could take its time.
 */
export function podGraceEstimateMs(pods: readonly Pod[]): number | undefined {
  let max = -1;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    max = Math.max(max, p.spec?.terminationGracePeriodSeconds ?? 30);
  }
  return max < 0 ? undefined : (Math.floor(max / 2) + 1) * 1000;
}
