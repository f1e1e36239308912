/**
 * Idle resident memory of the node side, read from /proc/<pid>/status
 * (VmRSS, and the peak VmHWM) after a settle period (default 30 s: V8's
 * memory reducer gives back the young generation some seconds after the last
 * burst, as in idle-rss.ts):
 *   (a) `orch server` with its embedded agent (Docker kubelet), node Ready,
 *       0 pods, then 10 running busybox pods — target < 150 MB each;
 *   (b) `orch agent` alone (own node name and data dir, same Docker daemon)
 *       joined to an `orch server --disable-agent`, 0 pods, then 10 running
 *       pods — target < 100 MB each.
 * dockerd's and containerd's RSS are printed beside (every process of those
 * names found in /proc), and the containerd-shims of the node's containers.
 * Pods are deleted at the end; containers, processes and temp dirs are
 * removed on failure too.
 * Requires `npm run build` first.
 * --heap-snapshots writes a V8 heap snapshot after each reading (kept in a
 * temp dir that is printed); a snapshot inflates the RSS read after it.
 * Usage: node --import=tsx scripts/bench/agent-rss.ts [--idle 30] [--pods 10] [--heap-snapshots]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '../../pkg/client/client.js';
import { machineLine } from './lib/bench-cluster.js';
import { rssMiB, spawnAgent, type SpawnedProcess } from './lib/orch-process.js';
import {
  benchNodeName,
  Cleanup,
  cleanupNodeContainers,
  deletePodsAndWait,
  ensureBenchImage,
  mb,
  metOrMissed,
  nodeContainerIds,
  nodeToken,
  runtimeRssLine,
  sleep,
  sleepPod,
  startDockerNodeServer,
  waitNodeReady,
  waitPodsRunning,
  finishBench,
  removeNodeNetworking,
} from './lib/docker-node.js';

const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '30' },
    pods: { type: 'string', default: '10' },
    'heap-snapshots': { type: 'boolean', default: false },
  },
});
const idleS = Number(values.idle);
const numPods = Number(values.pods);
const NS = 'agent-rss-bench';

/** Where a process writes its heap snapshots on SIGUSR2 (when asked for), and the node flags for it. */
function heapArgs(dir: string): string[] {
  return values['heap-snapshots'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : [];
}

/** Makes `p` write a heap snapshot into `dir` and resolves to its path once written. */
async function heapSnapshot(p: SpawnedProcess, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  p.child.kill('SIGUSR2');
  let last = -1;
  for (;;) {
    await sleep(1000);
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
    if (!f) continue;
    const size = statSync(join(dir, f)).size;
    if (size > 0 && size === last) return join(dir, f);
    last = size;
  }
}

/** Waits the settle period, then one line: RSS and peak of pid against the target, plus the Docker side. */
async function measure(label: string, pid: number, targetMB: number, nodeName: string, snapshot?: () => Promise<string>): Promise<string> {
  await sleep(idleS * 1000);
  const rss = rssMiB(pid);
  const hwm = rssMiB(pid, 'VmHWM');
  const line =
    `${label}: VmRSS ${rss.toFixed(1)} MiB = ${mb(rss).toFixed(1)} MB after ${idleS} s idle (peak VmHWM ${hwm.toFixed(1)} MiB)` +
    ` — target < ${targetMB} MB: ${metOrMissed(mb(rss) < targetMB)}\n  ${runtimeRssLine(await nodeContainerIds(nodeName))}`;
  console.log(line);
  if (snapshot) console.log(`  heap snapshot: ${await snapshot()}`);
  return line;
}

/** Creates the bench pods and waits until they run. */
async function runPods(client: Client): Promise<void> {
  await client.resource('namespaces').create({ metadata: { name: NS } }).catch(() => undefined);
  const pods = client.resource('pods').namespace(NS);
  for (let i = 0; i < numPods; i++) await pods.create(sleepPod(`rss-${i}`, NS));
  await waitPodsRunning(client, NS, numPods);
}

const cleanup = new Cleanup();
let failure: { error: unknown } | undefined;
try {
  await ensureBenchImage();
  console.log(`node-side resident memory (VmRSS from /proc/<pid>/status), ${numPods} busybox pods when running`);
  console.log(machineLine('the server, the agent, dockerd/containerd and this driver'));

  // (a) the server with its embedded agent.
  {
    const c = new Cleanup();
    try {
      const nodeName = benchNodeName('bench-rss-srv');
      const tmp = mkdtempSync(join(tmpdir(), 'orch-bench-agent-rss-heap-'));
      c.add('heap dir', async () => (values['heap-snapshots'] ? console.log(`heap snapshots kept in ${tmp}`) : rmSync(tmp, { recursive: true, force: true })));
      const s = await startDockerNodeServer({ name: 'agent-rss-a', nodeName, nodeArgs: heapArgs(tmp) }, c);
      await waitNodeReady(s.client, nodeName);
      const snap = values['heap-snapshots'] ? () => heapSnapshot(s.server, tmp) : undefined;
      await measure('(a) orch server + embedded agent, 0 pods', s.pid, 150, nodeName, snap);
      if (numPods > 0) {
        await runPods(s.client);
        await measure(`(a) orch server + embedded agent, ${numPods} pods`, s.pid, 150, nodeName, snap);
        await deletePodsAndWait(s.client, NS, nodeName);
      }
    } finally {
      await c.run();
    }
  }

  // (b) `orch agent` alone, joined to a server without an agent of its own.
  {
    const c = new Cleanup();
    try {
      const s = await startDockerNodeServer({ name: 'agent-rss-b' }, c);
      const nodeName = benchNodeName('bench-rss-agent');
      const agentDir = mkdtempSync(join(tmpdir(), 'orch-bench-agent-rss-agent-'));
      c.add('agent data dir', async () => (values['heap-snapshots'] ? console.log(`agent data dir (heap snapshots) kept: ${agentDir}`) : rmSync(agentDir, { recursive: true, force: true })));
      c.add('node networking', removeNodeNetworking);
      c.add(`containers of ${nodeName}`, () => cleanupNodeContainers(nodeName));
      const agent = spawnAgent({ server: s.url, token: nodeToken(s.dataDir), nodeName, dataDir: agentDir, nodeArgs: heapArgs(agentDir) });
      c.add('agent', async () => {
        const code = await agent.stop();
        if (code !== 0) process.stderr.write(`orch agent exited with ${code}:\n${agent.output().slice(-2000)}\n`);
      });
      await waitNodeReady(s.client, nodeName, { alive: () => agent.child.exitCode === null });
      const pid = agent.child.pid ?? 0;
      const snap = values['heap-snapshots'] ? () => heapSnapshot(agent, agentDir) : undefined;
      await measure('(b) orch agent alone, 0 pods', pid, 100, nodeName, snap);
      if (numPods > 0) {
        await runPods(s.client);
        await measure(`(b) orch agent alone, ${numPods} pods`, pid, 100, nodeName, snap);
        await deletePodsAndWait(s.client, NS, nodeName);
      }
      console.log(`  (its server, --disable-agent: VmRSS ${rssMiB(s.pid).toFixed(1)} MiB)`);
    } finally {
      await c.run();
    }
  }
} catch (error) {
  failure = { error };
}
await finishBench(cleanup, failure);
