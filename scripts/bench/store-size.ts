/**
 * File size of the SQLite backend under churn: 100,000 updates of 100 keys
 * with 1 KB values, with default maintenance settings.
 * Usage: node --import=tsx scripts/bench/store-size.ts [--updates 100000] [--keys 100]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteBackend } from '../../embedded-store/sqlite.js';

const { values } = parseArgs({
  options: { updates: { type: 'string', default: '100000' }, keys: { type: 'string', default: '100' } },
});
const updates = Number(values.updates);
const keys = Number(values.keys);

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MB`;

const dir = mkdtempSync(join(tmpdir(), 'orch-bench-size-'));
const path = join(dir, 'state.db');
const store = SqliteBackend.open(path);
const value = 'x'.repeat(1024);
let peak = 0;
try {
  const started = process.hrtime.bigint();
  const perKey = Math.ceil(updates / keys);
  await Promise.all(
    Array.from({ length: keys }, async (_, k) => {
      let kv = await store.create(`/churn/${k}`, value);
      for (let i = 1; i < perKey; i++) {
        kv = await store.update(kv.key, value, kv.modRevision);
        if (k === 0 && i % 50 === 0) peak = Math.max(peak, size(path) + size(`${path}-wal`) + size(`${path}-shm`));
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const db = size(path);
  const wal = size(`${path}-wal`);
  const shm = size(`${path}-shm`);
  console.log(`${store.currentRevision()} writes in ${elapsed.toFixed(1)} s (${Math.round(store.currentRevision() / elapsed)}/s)`);
  console.log(`state.db ${mb(db)} + wal ${mb(wal)} + shm ${mb(shm)} = ${mb(db + wal + shm)} (peak seen ${mb(peak)})`);
  await store.close();
  console.log(`after close: state.db ${mb(size(path))}, wal ${mb(size(`${path}-wal`))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
