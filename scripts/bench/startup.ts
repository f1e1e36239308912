/**
 * Start-up time of `orch server`: from spawning `node dist/cmd/orch.js server`
 * (plain node) to the first 200 from /readyz, polled over HTTPS every ~2 ms.
 *   (a) first start on an empty data dir (CA and certificates generated) — target < 1 s
 *   (b) restart on that existing data dir                                — target < 300 ms
 * Requires `npm run build` first. The poller shares this machine's CPUs with
 * the server, as a supervisor's health check would.
 * Usage: node --import=tsx scripts/bench/startup.ts [--runs 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, ms, quantile, requireBuild, spawnServer, waitReady } from './lib/orch-process.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
requireBuild();

/** One timed start: spawn to /readyz 200, then a clean stop. */
async function timedStart(dataDir: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const s = spawnServer(dataDir, port);
  const ok = await waitReady(s, 2);
  const elapsed = performance.now() - t0;
  // /readyz turns 200 a moment before the server writes the kubeconfig and
  // installs its SIGTERM handler; stopping in that gap would kill it mid-write.
  const until = performance.now() + 5_000;
  while (ok && !s.output().includes('listening on') && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  const code = await s.stop();
  if (!ok) throw new Error(`server did not become ready:\n${s.output()}`);
  if (code !== 0) throw new Error(`server exited with ${code} on SIGTERM:\n${s.output()}`);
  return elapsed;
}

function summary(label: string, times: number[], targetMs: number): string {
  const sorted = [...times].sort((a, b) => a - b);
  const p50 = quantile(sorted, 0.5);
  const verdict = p50 < targetMs ? 'ok' : 'OVER TARGET';
  return `${label}: median ${ms(p50)}, min ${ms(sorted[0])}, max ${ms(sorted[sorted.length - 1])} over ${times.length} runs (target < ${targetMs} ms: ${verdict})`;
}

const first: number[] = [];
const restart: number[] = [];
const dirs: string[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'orch-bench-start-'));
    dirs.push(dir);
    first.push(await timedStart(dir));
  }
  // Restarts cycle over the data dirs made above, each already initialised.
  for (let i = 0; i < runs; i++) restart.push(await timedStart(dirs[i % dirs.length]));
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

console.log(`orch server start-up, spawn -> first /readyz 200 (node ${process.version}, 2-core machine, poller on the same CPUs)`);
console.log(summary('(a) first start, empty data dir', first, 1000));
console.log(summary('(b) restart, existing data dir ', restart, 300));
