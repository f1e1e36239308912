import t from 'tap';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpointer } from '../../embedded-store/checkpointer.js';

t.test('a worker-thread checkpoint copies the WAL and lets the writer restart it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-ckpt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('journal_size_limit = 65536');
  db.exec('CREATE TABLE t (v TEXT)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  for (let i = 0; i < 2000; i++) insert.run('x'.repeat(1000));
  const before = statSync(`${file}-wal`).size;
  t.ok(before > 1_000_000, `the WAL grew without inline checkpoints (${before} bytes)`);

  const ckpt = new Checkpointer(file);
  const first = ckpt.checkpoint();
  t.equal(ckpt.checkpoint(), first, 'a request while one runs shares it');
  t.ok(ckpt.busy);
  const r = await first;
  t.ok(r.log > 0);
  t.equal(r.checkpointed, r.log, 'caught up with every frame');
  t.notOk(ckpt.busy);
  insert.run('after'); // the writer restarts the WAL and trims it to journal_size_limit
  t.ok(statSync(`${file}-wal`).size <= 65536 + 8192, 'the WAL file shrank');
  t.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 2001);
  await ckpt.close();
  await t.rejects(ckpt.checkpoint(), /closed/);
  db.close();
});
