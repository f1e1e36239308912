/**
 * The garbage collector's decisions as pure functions, after Kubernetes'
 * attemptToDeleteItem / processDeletingDependentsItem / orphanDependents:
 * given an object, what its owners look like and what depends on it, what
 * should happen next.
 */
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

/** What the collector needs of any object. */
export interface Meta {
  metadata?: ObjectMeta;
}

/**
 * How an owner reference resolves: `solid` the owner exists; `dangling`
 * no object with that uid exists; `waiting` it exists and is being deleted
 * in the foreground (waiting for its dependents); `unknown` its kind is
 * not served, so nothing can be said and nothing is done.
 */
export type OwnerState = 'solid' | 'dangling' | 'waiting' | 'unknown';

export type Propagation = 'Background' | 'Foreground' | 'Orphan';

export type DependentAction =
  | { type: 'none' }
  /** Some owners are solid: only drop the references to dead or waiting owners. */
  | { type: 'removeOwnerRefs'; uids: string[] }
  /** Break a possible cycle, then delete in the foreground. */
  | { type: 'unblockAndDelete'; uids: string[]; policy: 'Foreground' }
  | { type: 'delete'; policy: Propagation };

/** True when the object has a deletionTimestamp. */
export function isDeleting(o: Meta): boolean {
  return o.metadata?.deletionTimestamp !== undefined && o.metadata.deletionTimestamp !== null;
}

/** True when the object carries `finalizer`. */
export function hasFinalizer(o: Meta, finalizer: string): boolean {
  return (o.metadata?.finalizers ?? []).includes(finalizer);
}

/** Being deleted in the foreground: deletionTimestamp plus the foregroundDeletion finalizer. */
export function isDeletingDependents(o: Meta): boolean {
  return isDeleting(o) && hasFinalizer(o, FOREGROUND_FINALIZER);
}

/** The state of an owner object found for a reference (undefined: not found). */
export function ownerStateOf(ref: Pick<OwnerReference, 'uid'>, found: Meta | undefined): OwnerState {
  if (found === undefined || found.metadata?.uid !== ref.uid) return 'dangling';
  return isDeletingDependents(found) ? 'waiting' : 'solid';
}

/**
 * What to do with an object that has owner references, given each
 * owner's state (by uid), whether anything depends on the object itself,
 * and whether one of those dependents is itself deleting its dependents.
 * The object must not be being deleted already.
 */
export function planDependent(
  obj: Meta,
  states: ReadonlyMap<string, OwnerState>,
  deps: { hasDependents: boolean; dependentDeletingDependents: boolean },
): DependentAction {
  const refs = obj.metadata?.ownerReferences ?? [];
  if (refs.length === 0) return { type: 'none' };
  const solid: string[] = [];
  const dangling: string[] = [];
  const waiting: string[] = [];
  for (const ref of refs) {
    const s = states.get(ref.uid) ?? 'unknown';
    if (s === 'solid' || s === 'unknown') solid.push(ref.uid);
    else if (s === 'dangling') dangling.push(ref.uid);
    else waiting.push(ref.uid);
  }
  if (solid.length > 0) {
    if (dangling.length === 0 && waiting.length === 0) return { type: 'none' };
    return { type: 'removeOwnerRefs', uids: [...dangling, ...waiting] };
  }
  if (waiting.length > 0 && deps.hasDependents) {
    // Our own dependents block us; if one of them also waits on its dependents a cycle may form, so stop blocking the owners.
    if (deps.dependentDeletingDependents) return { type: 'unblockAndDelete', uids: waiting, policy: 'Foreground' };
    return { type: 'delete', policy: 'Foreground' };
  }
  if (hasFinalizer(obj, ORPHAN_FINALIZER)) return { type: 'delete', policy: 'Orphan' };
  if (hasFinalizer(obj, FOREGROUND_FINALIZER)) return { type: 'delete', policy: 'Foreground' };
  return { type: 'delete', policy: 'Background' };
}

/** The owner references without those to `uids` (undefined when none remain). */
export function withoutOwnerRefs(refs: readonly OwnerReference[] | undefined, uids: readonly string[]): OwnerReference[] | undefined {
  const drop = new Set(uids);
  const kept = (refs ?? []).filter((r) => !drop.has(r.uid));
  return kept.length > 0 ? kept : undefined;
}

/** The owner references with blockOwnerDeletion cleared on those to `uids`. */
export function unblockOwnerRefs(refs: readonly OwnerReference[] | undefined, uids: readonly string[]): OwnerReference[] {
  const set = new Set(uids);
  return (refs ?? []).map((r) => (set.has(r.uid) && r.blockOwnerDeletion === true ? { ...r, blockOwnerDeletion: false } : r));
}

/** The finalizers without `finalizer` (undefined when none remain). */
export function withoutFinalizer(finalizers: readonly string[] | undefined, finalizer: string): string[] | undefined {
  const kept = (finalizers ?? []).filter((f) => f !== finalizer);
  return kept.length > 0 ? kept : undefined;
}

/** True when `dep` holds a blocking reference to the owner with `ownerUid`. */
export function blocksOwner(dep: Meta, ownerUid: string): boolean {
  return (dep.metadata?.ownerReferences ?? []).some((r) => r.uid === ownerUid && r.blockOwnerDeletion === true);
}

export type OwnerAction =
  | { type: 'none' }
  /** Drop the reference to the owner from each dependent, then the owner's orphan finalizer. */
  | { type: 'orphan'; dependents: Meta[] }
  /**
   * Foreground: look at each of `process` (dependents not yet on their way
   * out) as a dependent of a waiting owner, which deletes it unless another
   * owner holds it; the finalizer goes once no blocking dependent remains.
   */
  | { type: 'foreground'; process: Meta[]; removeFinalizer: boolean };

/** What to do about an owner that is being deleted, given its dependents. */
export function planDeletingOwner(owner: Meta, dependents: readonly Meta[]): OwnerAction {
  if (!isDeleting(owner)) return { type: 'none' };
  const uid = owner.metadata?.uid ?? '';
  if (hasFinalizer(owner, ORPHAN_FINALIZER)) return { type: 'orphan', dependents: [...dependents] };
  if (hasFinalizer(owner, FOREGROUND_FINALIZER)) {
    // A dependent on its way out (deletionTimestamp) still blocks until it is gone, but needs no second delete.
    const process = dependents.filter((d) => !isDeleting(d));
    const blocking = dependents.some((d) => blocksOwner(d, uid));
    return { type: 'foreground', process, removeFinalizer: !blocking };
  }
  return { type: 'none' };
}
