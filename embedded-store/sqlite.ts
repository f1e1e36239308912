/**
 * The SQLite backend (better-sqlite3), modelled on kine: one append-only
 * table whose row id is the revision. Writes are group-committed: requests
 * that arrive in the same turn of the event loop share one fsync'd
 * transaction, which is what lets synchronous=FULL sustain thousands of
 * acknowledged writes per second. Watches are fed in-process at commit.
 */
import Database from 'better-sqlite3';
import { FutureRevisionError, StoreClosedError, StoreError } from './errors.js';
import { compareKeys, prefixUpperBound } from './keys.js';
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

export interface SqliteOptions {
  /** Automatic compaction keeps at least this many recent revisions (default 10,000: at a busy 3,000 writes/s, a few seconds in which a cut watch can resume instead of re-listing). */
  retainRevisions?: number;
  /** Run maintenance (compact, vacuum, checkpoint) after this many writes (default 1000; 0: never). */
  compactEveryWrites?: number;
  /** Also run maintenance on this period in ms, for slow writers (default 60000; 0: never). */
  maintenanceIntervalMs?: number;
  /** Where errors thrown by watch callbacks go (default: a process warning). */
  onWatchCallbackError?: ListenerErrorHandler;
}

/** A row as SQLite returns it; the shape is fixed by the schema below. */
interface SqlRow {
  id: number;
  name: string;
  created: number;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  value: string;
}

interface PendingWrite {
  op: WriteOp;
  resolve: (kv: KeyValue) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; row: StoredRow; prev: StoredRow | undefined } | { ok: false; error: StoreError };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_name_id ON kv (name, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const COLUMNS = 'id, name, created, create_revision, prev_revision, deleted, value';
const KV_COLUMNS = COLUMNS.split(', ')
  .map((c) => `kv.${c}`)
  .join(', ');

function fromSql(r: SqlRow): StoredRow {
  return {
    revision: r.id,
    key: r.name,
    created: r.created === 1,
    createRevision: r.created === 1 ? r.id : r.create_revision,
    prevRevision: r.prev_revision,
    deleted: r.deleted === 1,
    value: r.value,
  };
}

/** Range conditions on `name` for a prefix scan, optionally only past `startAfter`. */
function nameRange(prefix: string, startAfter?: string, column = 'name'): { sql: string[]; params: Record<string, string> } {
  const sql: string[] = [];
  const params: Record<string, string> = {};
  if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) {
    sql.push(`${column} > @lo`);
    params.lo = startAfter;
  } else if (prefix !== '') {
    sql.push(`${column} >= @lo`);
    params.lo = prefix;
  }
  if (prefix !== '') {
    sql.push(`${column} < @hi`);
    params.hi = prefixUpperBound(prefix);
  }
  return { sql, params };
}

type NamedParams = Record<string, string | number>;

/** Prepared statements for the few dynamic query shapes, built once each. */
class StatementCache<R> {
  private readonly byText = new Map<string, Database.Statement<[NamedParams], R>>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement<[NamedParams], R> {
    let stmt = this.byText.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<[NamedParams], R>(sql);
      this.byText.set(sql, stmt);
    }
    return stmt;
  }
}

/** Revisioned key-value store in one SQLite file. */
export class SqliteBackend implements Backend {
  private revision: number;
  private compacted: number;
  private pending: PendingWrite[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private writesSinceMaintenance = 0;
  private readonly maintenanceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly retainRevisions: number;
  private readonly compactEveryWrites: number;
  private readonly rowQueries: StatementCache<SqlRow>;
  private readonly countQueries: StatementCache<{ n: number }>;

  private readonly latestRow: Database.Statement<[string], SqlRow>;
  private readonly rowAtRevision: Database.Statement<[string, number], SqlRow>;
  private readonly rowById: Database.Statement<[number], SqlRow>;
  private readonly insertRow: Database.Statement<[string, number, number, number, number, string]>;
  private readonly setMeta: Database.Statement<[string, number]>;
  private readonly deleteSuperseded: Database.Statement<[number, number]>;
  private readonly deleteTombstones: Database.Statement<[number, number]>;

  private constructor(
    private readonly db: Database.Database,
    options: SqliteOptions,
  ) {
    this.hub = new WatchHub(options.onWatchCallbackError);
    this.retainRevisions = options.retainRevisions ?? 10_000;
    this.rowQueries = new StatementCache(db);
    this.countQueries = new StatementCache(db);
    this.compactEveryWrites = options.compactEveryWrites ?? 1000;

    this.latestRow = db.prepare(`SELECT ${COLUMNS} FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1`);
    this.rowAtRevision = db.prepare(`SELECT ${COLUMNS} FROM kv WHERE name = ? AND id <= ? ORDER BY id DESC LIMIT 1`);
    this.rowById = db.prepare(`SELECT ${COLUMNS} FROM kv WHERE id = ?`);
    this.insertRow = db.prepare(
      'INSERT INTO kv (name, created, create_revision, prev_revision, deleted, value) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.setMeta = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value');
    // Every row superseded by a row in (previous compaction, target] is named
    // by that row's prev_revision; older superseded rows went last time.
    this.deleteSuperseded = db.prepare(
      'DELETE FROM kv WHERE id IN (SELECT prev_revision FROM kv WHERE id > ? AND id <= ? AND prev_revision > 0)',
    );
    this.deleteTombstones = db.prepare('DELETE FROM kv WHERE deleted = 1 AND id > ? AND id <= ?');

    // AUTOINCREMENT's sequence never goes back, even when the newest rows
    // (a compacted tombstone) are gone: it is the current revision.
    const seq = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'kv'").get();
    this.revision = seq?.seq ?? 0;
    const meta = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'compacted'").get();
    this.compacted = meta?.value ?? 0;

    const interval = options.maintenanceIntervalMs ?? 60_000;
    if (interval > 0) {
      this.maintenanceTimer = setInterval(() => this.runMaintenance(), interval);
      this.maintenanceTimer.unref();
    }
  }

  /** Open (creating if needed) the store at `path`. */
  static open(path: string, options: SqliteOptions = {}): SqliteBackend {
    const db = new Database(path);
    try {
      // auto_vacuum only takes effect before the first table exists (or
      // through a VACUUM), so it goes first; converting an old file is a
      // one-time cost.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      // Acknowledged means fsynced: group commit pays for it.
      db.pragma('synchronous = FULL');
      // SQLite checkpoints inside a commit once the WAL holds this many pages.
      // A smaller step than the default 1000 keeps each such pause near 3 ms
      // instead of 10-15 ms (measured: a checkpoint of a thousand 1 KB writes).
      // A checkpoint thread was tried and was worse: under steady writes its
      // PASSIVE checkpoints never let the WAL restart.
      db.pragma('wal_autocheckpoint = 256');
      // When the WAL restarts, give its space back above 4 MiB.
      db.pragma('journal_size_limit = 4194304');
      db.exec(SCHEMA);
      if (db.pragma('auto_vacuum', { simple: true }) !== 2) db.exec('VACUUM');
      return new SqliteBackend(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
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
    const r = this.rowAtRevision.get(key, at);
    return r && r.deleted === 0 ? toKeyValue(fromSql(r)) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    // better-sqlite3 is synchronous, so every statement below sees the same
    // committed state; reading "as of `at`" makes the snapshot explicit.
    const at = resolveReadRevision(options.revision, this.compacted, this.revision);
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : 0;
    const range = nameRange(prefix, options.startAfter);
    // The grouped subquery walks the (name, id) index in name order, so the
    // join streams in order and LIMIT stops it early: no sort of the range.
    const rows = this.rowQueries.get(
      `SELECT ${KV_COLUMNS} FROM (${this.latestIdsSql(range.sql)}) m JOIN kv ON kv.id = m.id ` +
        'WHERE kv.deleted = 0 ORDER BY m.name LIMIT @limit',
    ).all({ ...range.params, at, limit: limit > 0 ? limit + 1 : -1 });
    if (limit === 0 || rows.length <= limit) {
      return { items: rows.map((r) => toKeyValue(fromSql(r))), revision: at, more: false, remaining: 0 };
    }
    const items = rows.slice(0, limit).map((r) => toKeyValue(fromSql(r)));
    const remaining = this.countLive(prefix, at, items[items.length - 1].key);
    return { items, revision: at, more: true, remaining };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.countLive(prefix, this.revision);
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue({ kind: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'update', key, value, expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue({ kind: 'delete', key, expectedModRevision });
  }

  async watch(options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<Watcher> {
    this.assertOpen();
    checkWatchRevision(options.afterRevision, this.compacted, this.revision);
    // Replay and subscribe in one synchronous step: no commit can run in
    // between, so nothing is missed or delivered twice.
    // `+name` keeps SQLite on the primary key: a watch usually starts near
    // the head of history, so scanning ids from afterRevision is the short way.
    const range = nameRange(options.prefix, undefined, '+name');
    const where = ['id > @after', ...range.sql].join(' AND ');
    const rows = this.rowQueries.get(`SELECT ${COLUMNS} FROM kv WHERE ${where} ORDER BY id`).all({
      ...range.params,
      after: options.afterRevision,
    });
    const replay = rows.map((r) => {
      const row = fromSql(r);
      const prev = row.created || row.prevRevision === 0 ? undefined : this.rowById.get(row.prevRevision);
      return eventForRow(row, prev && fromSql(prev));
    });
    return this.hub.subscribe(options.prefix, replay, onEvent);
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    this.compactTo(revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flush();
    this.closed = true;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    this.hub.closeAll();
    // A clean close leaves no WAL behind. This process holds the only
    // connection, so nothing can hold TRUNCATE up.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }

  private enqueue(op: WriteOp): Promise<KeyValue> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise<KeyValue>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      this.flushScheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commit every queued write in one transaction, then settle and publish. */
  private flush(): void {
    this.flushScheduled = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      outcomes = this.commitBatch(batch);
    } catch (error) {
      // The transaction rolled back: none of these writes happened.
      for (const w of batch) w.reject(error);
      return;
    }
    const events: WatchEvent[] = [];
    batch.forEach((w, i) => {
      const o = outcomes[i];
      if (o.ok) {
        this.revision = o.row.revision;
        events.push(eventForRow(o.row, o.prev));
        w.resolve(toKeyValue(o.row));
      } else {
        w.reject(o.error);
      }
    });
    this.hub.publish(events);
    this.writesSinceMaintenance += events.length;
    if (this.compactEveryWrites > 0 && this.writesSinceMaintenance >= this.compactEveryWrites) this.runMaintenance();
  }

  private commitBatch(batch: readonly PendingWrite[]): Outcome[] {
    const run = this.db.transaction((): Outcome[] =>
      batch.map(({ op }): Outcome => {
        const latestSql = this.latestRow.get(op.key);
        const latest = latestSql && fromSql(latestSql);
        let planned;
        try {
          planned = planWrite(op, latest);
        } catch (error) {
          // A failed CAS fails only its own request; anything else (I/O)
          // propagates and rolls the whole batch back.
          if (error instanceof StoreError) return { ok: false, error };
          throw error;
        }
        const info = this.insertRow.run(
          planned.key,
          planned.created ? 1 : 0,
          planned.createRevision,
          planned.prevRevision,
          planned.deleted ? 1 : 0,
          planned.value,
        );
        return { ok: true, row: materialize(planned, Number(info.lastInsertRowid)), prev: latest };
      }),
    );
    return run.immediate();
  }

  /** Compact to keep `retainRevisions`, return freed pages to the OS and reset the WAL. */
  private runMaintenance(): void {
    if (this.closed) return;
    this.writesSinceMaintenance = 0;
    try {
      this.maintain();
    } catch (error) {
      // Runs after writes were acknowledged or from a timer: there is no
      // caller to reject, and a failed compaction loses nothing. Report it.
      const message = error instanceof Error ? error.message : String(error);
      process.emitWarning(`store maintenance failed: ${message}`, 'StoreMaintenanceWarning');
    }
  }

  private maintain(): void {
    const target = this.revision - this.retainRevisions;
    if (target > this.compacted) this.compactTo(target);
    this.db.pragma('incremental_vacuum');
    // Checkpoints happen in small steps inside commits (wal_autocheckpoint);
    // nothing more to do here.
  }

  private compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    const from = this.compacted;
    this.db.transaction(() => {
      // Superseded rows first: tombstones in range name their predecessors.
      this.deleteSuperseded.run(from, revision);
      this.deleteTombstones.run(from, revision);
      this.setMeta.run('compacted', revision);
    }).immediate();
    this.compacted = revision;
  }

  /** Live keys under `prefix` at revision `at`, optionally only those after `startAfter`. */
  private countLive(prefix: string, at: number, startAfter?: string): number {
    const range = nameRange(prefix, startAfter);
    const row = this.countQueries.get(
      `SELECT COUNT(*) AS n FROM (${this.latestIdsSql(range.sql)}) m JOIN kv ON kv.id = m.id WHERE kv.deleted = 0`,
    ).get({ ...range.params, at });
    return row?.n ?? 0;
  }

  /** SQL selecting, per key in range, the id of its newest row at or below @at. */
  private latestIdsSql(rangeSql: readonly string[]): string {
    const where = [...rangeSql, 'id <= @at'].join(' AND ');
    return `SELECT MAX(id) AS id, name FROM kv WHERE ${where} GROUP BY name ORDER BY name`;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
