/**
 * The row model shared by the backends: one append-only row per write
 * (kine's model), and the compare-and-swap rules that turn a write request
 * plus the key's latest row into the next row. Keeping the rules here means
 * both backends fail and succeed on exactly the same inputs.
 */
import { CompactedError, ConflictError, FutureRevisionError, KeyExistsError, KeyNotFoundError } from './errors.js';
import type { KeyValue, WatchEvent } from './types.js';

/** One write as stored: the revision is the row id. */
export interface StoredRow {
  revision: number;
  key: string;
  createRevision: number;
  /** The key's previous row (0 when none); what compaction follows. */
  prevRevision: number;
  /** This row created the key (first create or re-create after delete). */
  created: boolean;
  /** A tombstone; `value` is the last live value. */
  deleted: boolean;
  value: string;
}

/** A row before it has a revision; `createRevision` is 0 when `created`. */
export type PlannedRow = Omit<StoredRow, 'revision'>;

/** A write request as queued by a backend. */
export type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expectedModRevision: number }
  | { kind: 'delete'; key: string; expectedModRevision?: number };

/** Apply the CAS rules of `op` to the key's latest row; throws a StoreError when they fail. */
export function planWrite(op: WriteOp, latest: StoredRow | undefined): PlannedRow {
  const live = latest !== undefined && !latest.deleted ? latest : undefined;
  switch (op.kind) {
    case 'create':
      if (live) throw new KeyExistsError(op.key);
      // prevRevision points at the tombstone so compaction can drop it.
      return { key: op.key, createRevision: 0, prevRevision: latest?.revision ?? 0, created: true, deleted: false, value: op.value };
    case 'update':
      if (!live) throw new KeyNotFoundError(op.key);
      if (live.revision !== op.expectedModRevision) throw new ConflictError(op.key, op.expectedModRevision, live.revision);
      return { key: op.key, createRevision: live.createRevision, prevRevision: live.revision, created: false, deleted: false, value: op.value };
    case 'delete':
      if (!live) throw new KeyNotFoundError(op.key);
      if (op.expectedModRevision !== undefined && live.revision !== op.expectedModRevision) {
        throw new ConflictError(op.key, op.expectedModRevision, live.revision);
      }
      return { key: op.key, createRevision: live.createRevision, prevRevision: live.revision, created: false, deleted: true, value: live.value };
  }
}

/** Give a planned row its revision. */
export function materialize(planned: PlannedRow, revision: number): StoredRow {
  return { ...planned, revision, createRevision: planned.created ? revision : planned.createRevision };
}

/** The public view of a row (for a tombstone: the last value at the tombstone's revision). */
export function toKeyValue(row: StoredRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.createRevision, modRevision: row.revision };
}

/** The watch event a row stands for; `prev` is the row at `row.prevRevision`, if still stored. */
export function eventForRow(row: StoredRow, prev: StoredRow | undefined): WatchEvent {
  const type = row.deleted ? 'delete' : row.created ? 'create' : 'update';
  const event: WatchEvent = { type, kv: toKeyValue(row) };
  // A create's prev row, if any, is a tombstone: the key did not exist.
  if (!row.created && prev !== undefined && !prev.deleted) event.prevKv = toKeyValue(prev);
  return event;
}

/**
 * Resolve the revision a read runs at (0/absent: `current`), rejecting ones
 * older than the compacted revision or newer than the current one.
 */
export function resolveReadRevision(requested: number | undefined, compacted: number, current: number): number {
  if (requested === undefined || requested === 0) return current;
  if (requested < compacted) throw new CompactedError(requested, compacted);
  if (requested > current) throw new FutureRevisionError(requested, current);
  return requested;
}

/** Check a watch start revision against the store's window. */
export function checkWatchRevision(afterRevision: number, compacted: number, current: number): void {
  if (afterRevision < compacted) throw new CompactedError(afterRevision, compacted);
  if (afterRevision > current) throw new FutureRevisionError(afterRevision, current);
}
