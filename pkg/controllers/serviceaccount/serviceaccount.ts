/**
 * Which ServiceAccounts a namespace is missing: every namespace that is
 * not being deleted holds the `default` one (as kube-controller-manager's
 * serviceaccount-controller ensures).
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

/** True while the namespace is being deleted: nothing may be created in it. */
export function isNamespaceTerminating(ns: Namespace): boolean {
  return ns.metadata?.deletionTimestamp != null || ns.status?.phase === 'Terminating';
}

/** The ServiceAccounts to create in `ns`: those of `names` not in `existing` (none when it is gone or terminating). */
export function missingServiceAccounts(ns: Namespace | undefined, existing: readonly ServiceAccount[], names: readonly string[] = [DEFAULT_SERVICE_ACCOUNT]): ServiceAccount[] {
  if (ns === undefined || isNamespaceTerminating(ns)) return [];
  const have = new Set(existing.filter((sa) => sa.metadata?.namespace === ns.metadata?.name).map((sa) => sa.metadata?.name));
  return names
    .filter((n) => !have.has(n))
    .map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns.metadata?.name } }));
}
