/**
 * Time for a Deployment of 1,000 replicas to become fully Ready on 100 hollow
 * nodes: the built server (deployment and replicaset controllers, scheduler)
 * in one process, the hollow nodes in another, this driver in a third. Timed
 * from the create call to the first Deployment status (seen by a watch) with
 * readyReplicas and availableReplicas both at 1,000; target < 10 s. Also
 * reported: when the pods were all created, bound and Running as seen by a
 * pod watch, and the server's CPU and RSS meanwhile.
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/deployment-ready.ts [--nodes 100] [--replicas 1000] [--profile]
 */
import { parseArgs } from 'node:util';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import { ProcessMeter, machineLine, startBenchCluster, verdict, watchPodMilestones } from './lib/bench-cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    replicas: { type: 'string', default: '1000' },
    timeout: { type: 'string', default: '180' },
    profile: { type: 'boolean', default: false },
  },
});
const numNodes = Number(values.nodes);
const replicas = Number(values.replicas);
const NS = 'deploy-bench';
const TARGET_S = 10;

const deployment: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
    },
  },
};

const cluster = await startBenchCluster({ name: 'deploy', nodes: numNodes, heartbeatSeconds: 10, profile: values.profile });
const abort = new AbortController();
try {
  console.log(`deployment ready: one Deployment of ${replicas} replicas on ${numNodes} hollow nodes`);
  console.log(machineLine());
  console.log(cluster.hollow.registeredLine);
  const { client } = cluster;
  await client.resource('namespaces').create({ metadata: { name: NS } });
  const deployments = client.resource('deployments').namespace(NS);
  const pods = client.resource('pods').namespace(NS);
  const rv = (await pods.list({ limit: 1 })).metadata.resourceVersion;

  // Pod milestones, from a watch that starts before the Deployment exists.
  const { seen: podSeen, bound: podBound, running: podRunning, done: podWatching } = watchPodMilestones(pods, rv, abort.signal);

  const depWatch = await deployments.watch({ resourceVersion: rv, fieldSelector: 'metadata.name=web', signal: abort.signal });
  const meter = new ProcessMeter(cluster.serverPid);
  meter.mark();
  const t0 = performance.now();
  let readyAt: number | undefined;
  let lastStatus = '';
  const timer = setTimeout(() => abort.abort(), Number(values.timeout) * 1000);
  const created = deployments.create(deployment);
  for await (const ev of depWatch) {
    if (ev.type === 'ERROR') throw new Error(`deployment watch: ${ev.object.message}`);
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') continue;
    const st = ev.object.status;
    lastStatus = JSON.stringify({ replicas: st?.replicas, ready: st?.readyReplicas, available: st?.availableReplicas, updated: st?.updatedReplicas });
    if (st?.readyReplicas === replicas && st.availableReplicas === replicas) {
      readyAt = performance.now();
      break;
    }
  }
  clearTimeout(timer);
  await created;
  const usage = meter.read();
  meter.stop();
  if (readyAt === undefined) throw new Error(`deployment not ready within ${values.timeout} s; last status ${lastStatus}`);
  // The API's own view right at that moment, as a check on the status the controllers wrote.
  const listed = await pods.list();
  const readyListed = listed.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const listedAt = (performance.now() - t0) / 1000;
  // Let the pod watch catch up: its events may lag behind the Deployment's.
  const catchUp = performance.now() + 30_000;
  while (podRunning.size < replicas && performance.now() < catchUp) await new Promise((r) => setTimeout(r, 50));
  const at = (m: Map<string, number>) => (m.size === 0 ? 'never' : `+${((Math.max(...m.values()) - t0) / 1000).toFixed(2)} s`);
  const took = (readyAt - t0) / 1000;
  console.log(`pods: all ${podSeen.size} created ${at(podSeen)}, all ${podBound.size} bound ${at(podBound)}, all ${podRunning.size} Running ${at(podRunning)}`);
  console.log(`pods listed at +${listedAt.toFixed(2)} s: ${listed.items.length}, of which Ready: ${readyListed}`);
  console.log(`deployment readyReplicas = availableReplicas = ${replicas} after ${took.toFixed(2)} s — target < ${TARGET_S} s: ${verdict(took < TARGET_S)}`);
  console.log(
    `server process meanwhile: CPU ${usage.cpuPercent.toFixed(0)} % of a core (${(usage.cpuMs / 1000).toFixed(1)} s CPU in ${(usage.wallMs / 1000).toFixed(1)} s), RSS ${usage.rssMiB.toFixed(0)} MiB (peak sampled ${usage.peakRssMiB.toFixed(0)} MiB)`,
  );
  abort.abort();
  await podWatching.catch(() => undefined);
} finally {
  abort.abort();
  await cluster.stop();
}
