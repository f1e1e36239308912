/**
 * An in-memory Backend with the same semantics as the SQLite one: for tests,
 * benchmarks of the layers above, and as the second implementation that keeps
 * the interface honest. Writes commit synchronously at call time; promises
 * still settle asynchronously, like every other backend.
 */
import { FutureRevisionError, StoreClosedError } from './errors.js';
import { compareKeys, keyHasPrefix } from './keys.js';
import {
  checkWatchRevision,
  eventForRow,
  materialize,
  planWrite,
  resolveReadRevision,
  toKeyValue,
  type StoredRow,
  type WriteOp,
} from './rows.js';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent, WatchOptions, Watcher } from './types.js';
import { WatchHub, type ListenerErrorHandler } from './watch-hub.js';

export interface MemoryOptions {
  /** Where errors thrown by watch callbacks go (default: a process warning). */
  onWatchCallbackError?: ListenerErrorHandler;
}

/** Revisioned key-value store held in process memory. */
export class MemoryBackend implements Backend {
  /** Every stored row in revision order. */
  private history: StoredRow[] = [];
  /** Each key's stored rows in revision order. */
  private readonly byKey = new Map<string, StoredRow[]>();
  private revision = 0;
  private compacted = 0;
  private closed = false;
  private readonly hub: WatchHub;

  constructor(options: MemoryOptions = {}) {
    this.hub = new WatchHub(options.onWatchCallbackError);
  }

  currentRevision(): number {
    return this.revision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  async get(key: string, revision?: number): Promise<KeyValue | undefined> {
    this.assertOpen();
    const at = resolveReadRevision(revision, this.compacted, this.revision);
    const row = this.rowAt(key, at);
    return row && !row.deleted ? toKeyValue(row) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const at = resolveReadRevision(options.revision, this.compacted, this.revision);
    const { startAfter } = options;
    const matching: KeyValue[] = [];
    for (const key of this.byKey.keys()) {
      if (!keyHasPrefix(key, prefix)) continue;
      if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
      const row = this.rowAt(key, at);
      if (row && !row.deleted) matching.push(toKeyValue(row));
    }
    matching.sort((a, b) => compareKeys(a.key, b.key));
    const limit = options.limit ?? 0;
    if (limit <= 0 || matching.length <= limit) return { items: matching, revision: at, more: false, remaining: 0 };
    return { items: matching.slice(0, limit), revision: at, more: true, remaining: matching.length - limit };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    let n = 0;
    for (const [key, rows] of this.byKey) {
      if (keyHasPrefix(key, prefix) && !rows[rows.length - 1].deleted) n++;
    }
    return n;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.write({ kind: 'create', key, value });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.write({ kind: 'update', key, value, expectedModRevision });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ kind: 'delete', key, expectedModRevision });
  }

  async watch(options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<Watcher> {
    this.assertOpen();
    checkWatchRevision(options.afterRevision, this.compacted, this.revision);
    const replay: WatchEvent[] = [];
    for (const row of this.history) {
      if (row.revision <= options.afterRevision || !keyHasPrefix(row.key, options.prefix)) continue;
      replay.push(eventForRow(row, this.rowAtExactly(row.key, row.prevRevision)));
    }
    return this.hub.subscribe(options.prefix, replay, onEvent);
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    if (revision <= this.compacted) return;
    const dropped = new Set<StoredRow>();
    for (const [key, rows] of this.byKey) {
      // Keep the newest row at or below `revision` unless it is a tombstone.
      let lastAtOrBelow = -1;
      while (lastAtOrBelow + 1 < rows.length && rows[lastAtOrBelow + 1].revision <= revision) lastAtOrBelow++;
      if (lastAtOrBelow < 0) continue;
      const cut = rows[lastAtOrBelow].deleted ? lastAtOrBelow + 1 : lastAtOrBelow;
      for (const row of rows.slice(0, cut)) dropped.add(row);
      const kept = rows.slice(cut);
      if (kept.length === 0) this.byKey.delete(key);
      else this.byKey.set(key, kept);
    }
    this.history = this.history.filter((row) => !dropped.has(row));
    this.compacted = revision;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.closeAll();
  }

  private write(op: WriteOp): KeyValue {
    this.assertOpen();
    const rows = this.byKey.get(op.key);
    const latest = rows?.[rows.length - 1];
    const row = materialize(planWrite(op, latest), this.revision + 1);
    this.revision = row.revision;
    this.history.push(row);
    if (rows) rows.push(row);
    else this.byKey.set(op.key, [row]);
    this.hub.publish([eventForRow(row, latest)]);
    return toKeyValue(row);
  }

  private rowAt(key: string, revision: number): StoredRow | undefined {
    const rows = this.byKey.get(key);
    if (!rows) return undefined;
    for (let i = rows.length - 1; i >= 0; i--) if (rows[i].revision <= revision) return rows[i];
    return undefined;
  }

  private rowAtExactly(key: string, revision: number): StoredRow | undefined {
    return this.byKey.get(key)?.find((r) => r.revision === revision);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
