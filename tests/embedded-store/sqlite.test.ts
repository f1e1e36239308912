import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { SqliteBackend } from '../../embedded-store/sqlite.js';
import { runConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'orch-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `state-${++files}.db`);

// Automatic maintenance is off in the conformance run so that the suite sees
// exactly the history it wrote.
runConformance('sqlite', async (options) =>
  SqliteBackend.open(freshPath(), { compactEveryWrites: 0, maintenanceIntervalMs: 0, ...options }),
);

/** Bytes of the database file plus its WAL and shared-memory files. */
function storeSize(path: string): number {
  let total = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      total += statSync(path + suffix).size;
    } catch {
      // A missing -wal/-shm (after a clean close) counts as zero.
    }
  }
  return total;
}

/** Rows stored in the table, read through a separate connection. */
function rowCount(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM kv').get();
    return row?.n ?? -1;
  } finally {
    db.close();
  }
}

t.test('sqlite: reopen keeps data, revision and compacted revision', async (t) => {
  const path = freshPath();
  const first = SqliteBackend.open(path, { compactEveryWrites: 0, maintenanceIntervalMs: 0 });
  const a = await first.create('/a', 'a1');
  const a2 = await first.update('/a', 'a2', a.modRevision);
  await first.create('/b', 'b1');
  await first.compact(a2.modRevision);
  await first.create('/gone', 'x');
  const tomb = await first.delete('/gone');
  await first.compact(tomb.modRevision);
  await first.close();

  const second = SqliteBackend.open(path, { compactEveryWrites: 0, maintenanceIntervalMs: 0 });
  t.teardown(() => second.close());
  t.equal(second.currentRevision(), tomb.modRevision, 'revision survives even with the newest row compacted');
  t.equal(second.compactedRevision(), tomb.modRevision);
  t.same(
    (await second.list('')).items.map((i) => [i.key, i.value, i.createRevision]),
    [
      ['/a', 'a2', a.modRevision],
      ['/b', 'b1', a2.modRevision + 1],
    ],
  );
  const next = await second.create('/c', 'c');
  t.equal(next.modRevision, tomb.modRevision + 1);
});

t.test('sqlite: pragmas persisted in the file', async (t) => {
  const path = freshPath();
  const store = SqliteBackend.open(path);
  await store.create('/a', '1');
  const raw = new Database(path, { readonly: true });
  t.teardown(() => raw.close());
  t.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(raw.pragma('auto_vacuum', { simple: true }), 2, 'incremental');
  await store.close();
});

t.test('sqlite: compaction deletes superseded rows', async (t) => {
  const path = freshPath();
  const store = SqliteBackend.open(path, { compactEveryWrites: 0, maintenanceIntervalMs: 0 });
  let x = await store.create('/x', '0');
  let y = await store.create('/y', '0');
  for (let i = 1; i <= 10; i++) {
    x = await store.update('/x', String(i), x.modRevision);
    y = await store.update('/y', String(i), y.modRevision);
  }
  await store.create('/z', 'z');
  await store.delete('/z');
  const r = store.currentRevision();
  await store.update('/x', 'after', x.modRevision);
  await store.compact(r);
  await store.close();
  // Left: the latest /x and /y at r, and the /x write after r.
  t.equal(rowCount(path), 3);
});

t.test('sqlite: close flushes queued writes', async (t) => {
  const path = freshPath();
  const store = SqliteBackend.open(path);
  const writes = [store.create('/a', '1'), store.create('/b', '2')];
  await store.close();
  const done = await Promise.all(writes);
  t.same(done.map((kv) => kv.modRevision), [1, 2]);
  const again = SqliteBackend.open(path);
  t.teardown(() => again.close());
  t.equal(await again.count(''), 2);
});

t.test('sqlite: automatic maintenance compacts behind the retained window', async (t) => {
  const store = SqliteBackend.open(freshPath(), { retainRevisions: 10, compactEveryWrites: 20, maintenanceIntervalMs: 0 });
  t.teardown(() => store.close());
  let kv = await store.create('/a', '0');
  for (let i = 1; i < 100; i++) kv = await store.update('/a', String(i), kv.modRevision);
  const compacted = store.compactedRevision();
  t.ok(compacted > 0, 'compacted automatically');
  t.ok(compacted <= store.currentRevision() - 10, 'the retained window is kept');
  t.equal((await store.get('/a', store.currentRevision() - 10))?.value, '89');
});

t.test('sqlite: 100,000 updates of 100 keys of 1 KB stay under 20 MB', async (t) => {
  const path = freshPath();
  const store = SqliteBackend.open(path);
  const value = 'x'.repeat(1024);
  const keys = 100;
  const perKey = 1000;
  await Promise.all(
    Array.from({ length: keys }, async (_, k) => {
      let kv = await store.create(`/churn/${k}`, value);
      for (let i = 1; i < perKey; i++) kv = await store.update(kv.key, value, kv.modRevision);
    }),
  );
  t.equal(store.currentRevision(), keys * perKey);
  const size = storeSize(path);
  t.ok(size < 20 * 1024 * 1024, `state.db + WAL = ${size} bytes`);
  t.equal(await store.count('/churn/'), keys);
  await store.close();
  t.ok(storeSize(path) < 20 * 1024 * 1024, 'still bounded after close');
});

t.test('sqlite: every acknowledged write survives SIGKILL', async (t) => {
  const path = freshPath();
  const fixture = fileURLToPath(new URL('./fixtures/durable-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import=tsx', fixture, path, '50'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<string, number>();
  let buffered = '';
  let lines = 0;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      const [key, rev] = line.split(' ');
      acked.set(key, Math.max(acked.get(key) ?? 0, Number(rev)));
      // Kill mid-load, with writes in flight.
      if (++lines === 5000) child.kill('SIGKILL');
    }
  });
  t.equal(await exited, 'SIGKILL');
  t.ok(lines >= 5000, `${lines} acknowledged writes seen`);
  const store = SqliteBackend.open(path);
  t.teardown(() => store.close());
  const missing: string[] = [];
  for (const [key, rev] of acked) {
    const kv = await store.get(key);
    if (!kv || kv.modRevision < rev) missing.push(`${key}@${rev} (found ${kv?.modRevision ?? 'nothing'})`);
  }
  t.same(missing, [], 'no acknowledged write lost');
  t.equal(acked.size, 50);
});
