/**
 * ControllerRef claiming (k8s.io/kubernetes/pkg/controller
 * BaseControllerRefManager.ClaimObject): which objects a controller owns,
 * which orphans it adopts and which of its own it releases.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { matchesLabels, type LabelSelector } from '../../api/selectors.js';
import { getControllerOf } from './pods.js';

/** The metadata claiming looks at. */
export interface Claimable {
  metadata?: {
    namespace?: string;
    labels?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    deletionTimestamp?: string;
    uid?: string;
  };
}

/** The claiming controller. */
export interface Claimer {
  uid: string;
  namespace: string;
  /** True while the controller itself is being deleted: it then adopts and releases nothing. */
  deleting: boolean;
  selector: LabelSelector;
}

/** What claiming decides for a set of objects. */
export interface ClaimResult<T> {
  /** Already ours and matching: keep managing them. */
  owned: T[];
  /** Orphans matching the selector: patch our controller ref on, then manage them. */
  adopt: T[];
  /** Ours but no longer matching: take our ownerReference off. */
  release: T[];
}

/** Sorts objects into owned / to adopt / to release for `claimer`; others' objects are ignored. */
export function claimObjects<T extends Claimable>(claimer: Claimer, objects: readonly T[]): ClaimResult<T> {
  const result: ClaimResult<T> = { owned: [], adopt: [], release: [] };
  for (const obj of objects) {
    const matches = matchesLabels(claimer.selector, obj.metadata?.labels);
    const ref = getControllerOf(obj);
    if (ref !== undefined) {
      if (ref.uid !== claimer.uid) continue;
      if (matches) result.owned.push(obj);
      else if (!claimer.deleting) result.release.push(obj);
      continue;
    }
    if (claimer.deleting || !matches) continue;
    if (obj.metadata?.deletionTimestamp !== undefined) continue;
    if (claimer.namespace !== '' && obj.metadata?.namespace !== claimer.namespace) continue;
    result.adopt.push(obj);
  }
  return result;
}

/** The ownerReferences after adopting: ours added as controller (the strategic-merge adopt patch's result). */
export function withControllerRef(refs: readonly OwnerReference[] | undefined, ref: OwnerReference): OwnerReference[] {
  return [...(refs ?? []).filter((r) => r.uid !== ref.uid), ref];
}

/** The ownerReferences after releasing: the one with `uid` removed. */
export function withoutOwnerRef(refs: readonly OwnerReference[] | undefined, uid: string): OwnerReference[] {
  return (refs ?? []).filter((r) => r.uid !== uid);
}
