/**
 * Acknowledged compare-and-swap updates per second on the SQLite backend
 * with synchronous=FULL: 50 concurrent writers, each updating its own key.
 * Usage: node --import=tsx scripts/bench/store-cas.ts [--seconds 5] [--writers 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteBackend } from '../../embedded-store/sqlite.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, writers: { type: 'string', default: '50' } },
});
const seconds = Number(values.seconds);
const writers = Number(values.writers);

const dir = mkdtempSync(join(tmpdir(), 'orch-bench-cas-'));
const store = SqliteBackend.open(join(dir, 'state.db'));
const value = JSON.stringify({ spec: 'x'.repeat(512) });
let acknowledged = 0;
let conflicts = 0;
let running = true;

async function writer(i: number): Promise<void> {
  let kv = await store.create(`/bench/${i}`, value);
  while (running) {
    kv = await store.update(kv.key, value, kv.modRevision);
    acknowledged++;
  }
}

/** Writers that share keys (5 per key), so some CAS attempts conflict, as in real controllers. */
async function contender(i: number): Promise<void> {
  const key = `/bench/${i % Math.max(1, Math.floor(writers / 5))}`;
  while (running) {
    const current = await store.get(key);
    if (!current) continue;
    await store.update(key, value, current.modRevision).then(
      () => acknowledged++,
      () => conflicts++,
    );
  }
}

try {
  const started = process.hrtime.bigint();
  const stop = setTimeout(() => (running = false), seconds * 1000);
  await Promise.all(Array.from({ length: writers }, (_, i) => writer(i)));
  clearTimeout(stop);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${writers} writers, ${elapsed.toFixed(1)} s: ${acknowledged} acknowledged CAS updates = ${Math.round(acknowledged / elapsed)}/s`);

  acknowledged = 0;
  running = true;
  const started2 = process.hrtime.bigint();
  const stop2 = setTimeout(() => (running = false), seconds * 1000);
  await Promise.all(Array.from({ length: writers }, (_, i) => contender(i)));
  clearTimeout(stop2);
  const elapsed2 = Number(process.hrtime.bigint() - started2) / 1e9;
  console.log(
    `${writers} read-then-CAS writers on ${Math.max(1, Math.floor(writers / 5))} keys, ${elapsed2.toFixed(1)} s: ${acknowledged} acknowledged = ${Math.round(acknowledged / elapsed2)}/s, ${conflicts} conflicts`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
