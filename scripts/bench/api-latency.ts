/**
 * API latency under an open-loop load: 200 ConfigMap creates/s (~1 KB each,
 * in a fresh namespace) plus 200 GETs/s of existing ones, for 20 s after a
 * 2 s warm-up, against `node dist/cmd/orch.js server` in its own process over
 * HTTPS on loopback (undici keep-alive pools, CA trusted). Target: p99 < 10 ms.
 *
 * Open loop: requests are issued on a fixed schedule whatever the responses
 * do, and latency is measured from the *scheduled* send time, so a slow server
 * shows up as latency rather than as a lower request rate.
 * Client and server share this machine's 2 cores; the client's CPU use is
 * printed so it can be judged. Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/api-latency.ts [--seconds 20] [--rate 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request, type Dispatcher } from 'undici';
import { adminToken, cpuMs, ms, quantile, requireBuild, startReadyServer, trustingAgent } from './lib/orch-process.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '200' },
    'show-slow': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmupS = Number(values.warmup);
const rate = Number(values.rate);
requireBuild();

type Op = 'create' | 'get';
interface Sample {
  op: Op;
  scheduled: number;
  latency: number;
  ok: boolean;
}

const NS = `bench-${process.pid}`;
const PAYLOAD = 'x'.repeat(900); // ~1 KB of object once metadata is added

function configMap(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'api-latency' } }, data: { payload: PAYLOAD } });
}

const dir = mkdtempSync(join(tmpdir(), 'orch-bench-lat-'));
const server = await startReadyServer(dir);
const base = `https://127.0.0.1:${server.port}`;
const headers = { authorization: `Bearer ${adminToken(dir)}`, 'content-type': 'application/json', accept: 'application/json' };
// Enough connections that the client never queues behind its own pool at these rates.
const agent: Dispatcher = trustingAgent(dir, 32);

async function call(method: 'GET' | 'POST', path: string, body?: string): Promise<number> {
  const r = await request(`${base}${path}`, { method, headers, body, dispatcher: agent });
  await r.body.dump();
  return r.statusCode;
}

const samples: Sample[] = [];
const errors = new Map<string, number>();
const existing: string[] = [];
let created = 0;
let inFlight = 0;

function record(op: Op, scheduled: number, ok: boolean, why?: string): void {
  samples.push({ op, scheduled, latency: performance.now() - scheduled, ok });
  if (!ok) errors.set(`${op}: ${why}`, (errors.get(`${op}: ${why}`) ?? 0) + 1);
}

function fire(op: Op, scheduled: number): void {
  inFlight++;
  let p: Promise<number>;
  let name = '';
  if (op === 'create') {
    name = `cm-${created++}`;
    p = call('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(name));
  } else {
    const pick = existing[Math.floor(Math.random() * existing.length)];
    p = call('GET', `/api/v1/namespaces/${NS}/configmaps/${pick}`);
  }
  p.then(
    (code) => {
      const ok = code === (op === 'create' ? 201 : 200);
      record(op, scheduled, ok, `HTTP ${code}`);
      if (ok && op === 'create') existing.push(name);
    },
    (e: unknown) => record(op, scheduled, false, e instanceof Error ? e.message : String(e)),
  ).finally(() => inFlight--);
}

try {
  if ((await call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }))) !== 201) {
    throw new Error('could not create the namespace');
  }
  // Objects for the first GETs to find.
  for (let i = 0; i < 100; i++) {
    const name = `seed-${i}`;
    if ((await call('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(name))) !== 201) throw new Error('seeding failed');
    existing.push(name);
  }

  const pid = server.child.pid ?? 0;
  const total = warmupS + seconds;
  const interval = 1000 / rate;
  const start = performance.now();
  const measureFrom = start + warmupS * 1000;
  let nextCreate = start;
  let nextGet = start + interval / 2; // interleave the two streams
  let cpuAtMeasure = 0;
  let clientCpuAtMeasure = process.cpuUsage();
  let measuring = false;
  // A 1 ms timer fires whatever is due; the schedule itself never depends on responses.
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (!measuring && now >= measureFrom) {
        measuring = true;
        cpuAtMeasure = cpuMs(pid);
        clientCpuAtMeasure = process.cpuUsage();
      }
      const end = start + total * 1000;
      while (nextCreate <= now && nextCreate < end) {
        fire('create', nextCreate);
        nextCreate += interval;
      }
      while (nextGet <= now && nextGet < end) {
        fire('get', nextGet);
        nextGet += interval;
      }
      if (now >= end) {
        clearInterval(tick);
        done();
      }
    }, 1);
  });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  const serverCpu = cpuMs(pid) - cpuAtMeasure;
  const clientCpu = process.cpuUsage(clientCpuAtMeasure);

  const measured = samples.filter((s) => s.scheduled >= measureFrom);
  console.log(
    `orch API latency, open loop ${rate} creates/s + ${rate} gets/s, ${seconds} s measured after ${warmupS} s warm-up, HTTPS loopback, server in its own process`,
  );
  console.log('(client and server share a 2-core machine; latency counts from the scheduled send time)');
  let worstP99 = 0;
  for (const op of ['create', 'get'] as const) {
    const mine = measured.filter((s) => s.op === op);
    const lat = mine.filter((s) => s.ok).map((s) => s.latency).sort((a, b) => a - b);
    const p99 = quantile(lat, 0.99);
    worstP99 = Math.max(worstP99, p99);
    console.log(
      `${op.padEnd(6)}: ${(mine.length / seconds).toFixed(1)}/s achieved, ${mine.length - lat.length} errors;` +
        ` p50 ${ms(quantile(lat, 0.5))}  p90 ${ms(quantile(lat, 0.9))}  p99 ${ms(p99)}  max ${ms(lat[lat.length - 1] ?? NaN)}`,
    );
  }
  for (const [why, n] of errors) console.log(`  error x${n}: ${why}`);
  if (values['show-slow']) {
    // When the slow ones were scheduled: clusters at a fixed period point at periodic work in the server.
    const slow = measured.filter((s) => s.latency > 10).map((s) => `${((s.scheduled - measureFrom) / 1000).toFixed(2)}s:${s.op}:${s.latency.toFixed(0)}`);
    console.log(`slow (> 10 ms), at offset:op:ms — ${slow.join(' ')}`);
  }
  console.log(
    `CPU over the measured window: server ${((serverCpu / (seconds * 1000)) * 100).toFixed(0)}% of one core,` +
      ` client ${(((clientCpu.user + clientCpu.system) / 1000 / (seconds * 1000)) * 100).toFixed(0)}% of one core`,
  );
  console.log(`target p99 < 10 ms: ${worstP99 < 10 ? 'ok' : 'OVER TARGET'} (worst p99 ${ms(worstP99)})`);
} finally {
  await agent.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
