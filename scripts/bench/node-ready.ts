/**
 * Time from spawning `orch server` (embedded agent, Docker kubelet) to its
 * node's Ready condition True, seen through the API (GET the Node every
 * ~5 ms with the admin credential once /readyz answers):
 *   (a) first start on a fresh data dir (CA, certificates, join, registration)
 *   (b) restart on that data dir (node credential kept; the Ready condition
 *       must carry a heartbeat from the new process: heartbeat times are
 *       second-granular, so the restart is spawned in a later wall-clock
 *       second than the previous process's last heartbeat)
 * Reports median and max over N runs of each, and the /readyz time beside;
 * target < 2 s. Containers of the node, the servers and the data dirs are
 * removed at the end, on failure too.
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/node-ready.ts [--runs 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine } from './lib/bench-cluster.js';
import { freePort, quantile, requireBuild, spawnServer, waitReady } from './lib/orch-process.js';
import { adminClient, benchNodeName, Cleanup, cleanupNodeContainers, ensureBenchImage, finishBench, metOrMissed, removeNodeNetworking, sleep, waitNodeReady } from './lib/docker-node.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const TARGET_MS = 2000;
requireBuild();

interface Timing {
  apiMs: number;
  nodeMs: number;
}

/** One timed start of the server on `dir`: spawn → /readyz 200 → node Ready (heartbeat not before the spawn's second); then a clean stop. */
async function timedStart(dir: string, nodeName: string): Promise<Timing> {
  const port = await freePort();
  const wall0 = Date.now();
  const t0 = performance.now();
  const s = spawnServer(dir, port, [], { agentNodeName: nodeName });
  const stopOnce = cleanup.track(s);
  try {
    if (!(await waitReady(s, 2, 60_000))) throw new Error(`orch server did not become ready:\n${s.output()}`);
    const apiMs = performance.now() - t0;
    const { client, transport } = adminClient(dir, port, 'orch-bench-node-ready');
    try {
      const readyAt = await waitNodeReady(client, nodeName, { intervalMs: 5, sinceMs: wall0, timeoutMs: 60_000, alive: () => s.child.exitCode === null });
      return { apiMs, nodeMs: readyAt - t0 };
    } finally {
      await transport.close();
    }
  } finally {
    const code = await stopOnce();
    if (code !== 0) process.stderr.write(`orch server exited with ${code}:\n${s.output().slice(-2000)}\n`);
  }
}

function summary(label: string, t: Timing[]): string {
  const node = t.map((x) => x.nodeMs).sort((a, b) => a - b);
  const api = t.map((x) => x.apiMs).sort((a, b) => a - b);
  const med = quantile(node, 0.5);
  const max = node[node.length - 1];
  return (
    `${label}: node Ready median ${med.toFixed(0)} ms, max ${max.toFixed(0)} ms over ${t.length} runs` +
    ` (target < ${TARGET_MS} ms: ${metOrMissed(med < TARGET_MS)}${max >= TARGET_MS ? `, max over` : ''}); /readyz 200 median ${quantile(api, 0.5).toFixed(0)} ms`
  );
}

const cleanup = new Cleanup();
const first: Timing[] = [];
const restart: Timing[] = [];
let failure: { error: unknown } | undefined;
try {
  // The kubelet does not need the test image; present anyway so the Docker side matches the other benchmarks.
  await ensureBenchImage();
  // Interleaved, so load from whatever else runs on the machine hits both alike.
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'orch-bench-node-ready-'));
    const nodeName = benchNodeName('bench-ready');
    cleanup.add('data dir', async () => rmSync(dir, { recursive: true, force: true }));
    cleanup.add('node networking', removeNodeNetworking);
    cleanup.add(`containers of ${nodeName}`, () => cleanupNodeContainers(nodeName));
    first.push(await timedStart(dir, nodeName));
    // The restart's Ready must come from a heartbeat in a later second than any of the stopped process.
    await sleep(1000 - (Date.now() % 1000) + 10);
    restart.push(await timedStart(dir, nodeName));
  }
  console.log(`orch server with embedded agent (Docker kubelet): spawn -> node Ready True seen via the API (GET every ~5 ms)`);
  console.log(machineLine('the server (with its agent), dockerd and this poller'));
  console.log(summary('(a) first start, fresh data dir ', first));
  console.log(summary('(b) restart, existing data dir  ', restart));
} catch (error) {
  failure = { error };
}
await finishBench(cleanup, failure);
