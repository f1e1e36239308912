/**
 * Kind-specific side effects around a write (address allocation for
 * Services). A hook returns what to do once the write committed and what to
 * undo when it did not, so allocations never leak and never double up.
 */
import type { KubeObject } from '../../api/object.js';

export interface WriteEffects {
  /** The write was stored. */
  commit(): void;
  /** The write failed or was a dry run: give back what was taken. */
  rollback(): void;
}

export interface KindHooks {
  /** Mutating admission on create, after defaults and before validation. */
  admitCreate?(obj: KubeObject): KubeObject;
  beforeCreate?(obj: KubeObject): WriteEffects;
  /** Pure fix-ups before validation (e.g. carrying allocated values over). */
  prepareUpdate?(next: KubeObject, old: KubeObject): void;
  beforeUpdate?(next: KubeObject, old: KubeObject): WriteEffects;
  afterDelete?(old: KubeObject): void;
}

export const NO_EFFECTS: WriteEffects = { commit() {}, rollback() {} };
