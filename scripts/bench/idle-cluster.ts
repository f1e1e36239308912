/**
 * An idle but full cluster: 500 hollow nodes heartbeating (Lease renewal)
 * every 10 s and 15,000 Running pods (30 Deployments × 500 replicas). Once
 * every Deployment is Ready and a settle period has passed, the server
 * process's CPU is measured over 60 s (target < 20 % of one core) and its
 * RSS read at the end (target < 500 MB). Also reported: how long the
 * roll-out took, how many writes the idle minute saw (resourceVersion
 * delta), and the hollow-node process's own CPU.
 * Each Deployment gets its own namespace unless --namespaces says fewer
 * (--namespaces 1 puts all 15,000 pods in one namespace: the case that was
 * quadratic before the controllers indexed pods by controller uid).
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/idle-cluster.ts [--nodes 500] [--deployments 30] [--replicas 500] [--namespaces 30] [--idle 60] [--settle 15] [--profile] [--heap-snapshot]
 */
import { parseArgs } from 'node:util';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { ProcessMeter, forEachLimited, machineLine, startBenchCluster, verdict } from './lib/bench-cluster.js';
import { rssMiB } from './lib/orch-process.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    deployments: { type: 'string', default: '30' },
    replicas: { type: 'string', default: '500' },
    namespaces: { type: 'string' },
    idle: { type: 'string', default: '60' },
    settle: { type: 'string', default: '15' },
    timeout: { type: 'string', default: '600' },
    profile: { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
  },
});
const numNodes = Number(values.nodes);
const numDeployments = Number(values.deployments);
const replicas = Number(values.replicas);
const idleS = Number(values.idle);
const numNamespaces = Math.min(numDeployments, Number(values.namespaces ?? numDeployments));
const nsOf = (i: number) => `idle-bench-${i % numNamespaces}`;
const TARGET_CPU_PERCENT = 20;
const TARGET_RSS_MB = 500;

function deployment(i: number): Deployment {
  const app = `app-${i}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace: nsOf(i) },
    spec: {
      replicas,
      selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: { containers: [{ name: 'c', image: 'nginx:1.27', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cluster = await startBenchCluster({ name: 'idle', nodes: numNodes, heartbeatSeconds: 10, profile: values.profile, heapSnapshots: values['heap-snapshot'] });
try {
  const total = numDeployments * replicas;
  console.log(`idle cluster: ${numNodes} hollow nodes (Lease every 10 s), ${numDeployments} Deployments × ${replicas} = ${total} pods in ${numNamespaces} namespace(s)`);
  console.log(machineLine());
  console.log(cluster.hollow.registeredLine);
  const { client } = cluster;
  for (let k = 0; k < numNamespaces; k++) await client.resource('namespaces').create({ metadata: { name: nsOf(k) } });
  const deployments = client.resource('deployments');
  const t0 = performance.now();
  await forEachLimited(
    Array.from({ length: numDeployments }, (_, i) => i),
    8,
    async (i) => {
      await deployments.namespace(nsOf(i)).create(deployment(i));
    },
  );
  // Polling a 30-item list every 2 s is noise next to the roll-out itself.
  const deadline = t0 + Number(values.timeout) * 1000;
  let ready = 0;
  let lastReport = t0;
  for (;;) {
    const list = await deployments.list();
    ready = list.items.reduce((n, d) => n + (d.status?.readyReplicas === replicas && d.status.availableReplicas === replicas ? 1 : 0), 0);
    if (ready === numDeployments) break;
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      const sum = (f: (d: Deployment) => number | undefined) => list.items.reduce((n, d) => n + (f(d) ?? 0), 0);
      console.log(
        `  +${((lastReport - t0) / 1000).toFixed(0)} s: ${ready}/${numDeployments} Deployments ready; replicas ${sum((d) => d.status?.replicas)}, ready ${sum((d) => d.status?.readyReplicas)}`,
      );
    }
    if (performance.now() > deadline) throw new Error(`only ${ready}/${numDeployments} Deployments ready after ${values.timeout} s`);
    await sleep(2000);
  }
  const rolledOut = (performance.now() - t0) / 1000;
  console.log(`all ${numDeployments} Deployments ready (${total} pods Running) after ${rolledOut.toFixed(1)} s`);
  const serverPid = cluster.serverPid;
  const hollowPid = cluster.hollow.child.pid ?? 0;
  console.log(`settling ${values.settle} s, then measuring ${idleS} s of idle…`);
  await sleep(Number(values.settle) * 1000);

  const server = new ProcessMeter(serverPid);
  const hollow = new ProcessMeter(hollowPid);
  const rv0 = Number((await client.resource('namespaces').list({ limit: 1 })).metadata.resourceVersion);
  server.mark();
  hollow.mark();
  await sleep(idleS * 1000);
  const s = server.read();
  const h = hollow.read();
  const rv1 = Number((await client.resource('namespaces').list({ limit: 1 })).metadata.resourceVersion);
  server.stop();
  hollow.stop();
  const l0 = performance.now();
  const pods = (await client.resource('pods').list()).items.filter((p) => p.metadata?.namespace?.startsWith('idle-bench-'));
  const listS = (performance.now() - l0) / 1000;
  const podsReady = pods.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;

  const rssMB = s.rssMiB * 1.048576;
  console.log(`bench pods at the end: ${pods.length}, Running and Ready: ${podsReady} (one list of all pods took ${listS.toFixed(2)} s)`);
  console.log(`writes during the idle window: ${rv1 - rv0} (${((rv1 - rv0) / (s.wallMs / 1000)).toFixed(1)}/s; ${numNodes} leases every 10 s = ${(numNodes / 10).toFixed(0)}/s)`);
  console.log(
    `server idle CPU: ${s.cpuPercent.toFixed(1)} % of a core (${(s.cpuMs / 1000).toFixed(2)} s CPU in ${(s.wallMs / 1000).toFixed(1)} s) — target < ${TARGET_CPU_PERCENT} %: ${verdict(s.cpuPercent < TARGET_CPU_PERCENT)}`,
  );
  console.log(
    `server RSS: ${s.rssMiB.toFixed(0)} MiB = ${rssMB.toFixed(0)} MB (peak sampled in the window ${s.peakRssMiB.toFixed(0)} MiB) — target < ${TARGET_RSS_MB} MB: ${verdict(rssMB < TARGET_RSS_MB)}`,
  );
  console.log(`hollow-node process meanwhile: CPU ${h.cpuPercent.toFixed(1)} % of a core, RSS ${h.rssMiB.toFixed(0)} MiB`);
  if (values['heap-snapshot']) {
    console.log(`server heap snapshot: ${await cluster.heapSnapshot()}`);
    console.log(`server RSS after the snapshot's full GC: ${rssMiB(serverPid).toFixed(0)} MiB`);
  }
} finally {
  await cluster.stop();
}
