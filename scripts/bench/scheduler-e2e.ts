/**
 * Scheduler throughput end to end: the built server (scheduler inside), 1,000
 * hollow nodes in their own process, and this driver creating 10,000 bare
 * pending pods over HTTPS as fast as the API takes them (bounded
 * concurrency). A pod watch (fieldSelector spec.nodeName!=) sees each
 * binding; the figure is pods bound per second from the first binding to
 * the last, target ≥ 1,000 pods/s. Also reported: creation time, the rate at
 * which the backlog drained once creation was done, when every pod was
 * Running (hollow kubelets), and the server's CPU and RSS meanwhile.
 * With --pending the pods are made pending first: every node is cordoned,
 * the pods are created (each is tried once and marked unschedulable), and
 * the nodes are uncordoned together; the figure is then the scheduler
 * draining a 10,000-pod backlog, independent of how fast pods are created.
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/scheduler-e2e.ts [--nodes 1000] [--pods 10000] [--concurrency 32] [--pending] [--profile]
 */
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ProcessMeter, followWatch, forEachLimited, machineLine, startBenchCluster, verdict } from './lib/bench-cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    timeout: { type: 'string', default: '300' },
    pending: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const numNodes = Number(values.nodes);
const numPods = Number(values.pods);
const concurrency = Number(values.concurrency);
const NS = 'sched-bench';
const TARGET_PODS_PER_S = 1000;

function pod(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: NS, labels: { app: 'sched-bench' } },
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  };
}

/** scheduler_schedule_attempts_total{result="scheduled"} from the server's /metrics. */
async function scheduledCount(client: { transport: { request(m: string, p: string): Promise<{ status: number; text(): Promise<string> }> } }): Promise<number> {
  const res = await client.transport.request('GET', '/metrics');
  const text = await res.text();
  const m = /^scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} (\d+)$/m.exec(text);
  if (res.status !== 200 || !m) throw new Error(`no scheduler_schedule_attempts_total in /metrics (HTTP ${res.status})`);
  return Number(m[1]);
}

const cluster = await startBenchCluster({ name: 'sched', nodes: numNodes, heartbeatSeconds: 10, profile: values.profile });
const watchAbort = new AbortController();
try {
  const mode = values.pending ? 'pods created against cordoned nodes, then all nodes uncordoned' : 'pods scheduled while being created';
  console.log(`scheduler end to end: ${numNodes} hollow nodes, ${numPods} pending pods (bare, 10m cpu / 16Mi); ${mode}`);
  console.log(machineLine());
  console.log(cluster.hollow.registeredLine);
  const { client } = cluster;
  await client.resource('namespaces').create({ metadata: { name: NS } });
  const pods = client.resource('pods').namespace(NS);
  const start = await pods.list({ limit: 1 });

  const boundAt = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const unschedulable = new Set<string>();
  let allUnschedulable: () => void = () => {};
  const parked = new Promise<void>((r) => (allUnschedulable = r));
  let allBound: () => void = () => {};
  let allRunning: () => void = () => {};
  const bound = new Promise<void>((r) => (allBound = r));
  const running = new Promise<void>((r) => (allRunning = r));
  const watching = followWatch(
    pods,
    start.metadata.resourceVersion,
    (type, pod) => {
      if (type === 'DELETED') return;
      const name = pod.metadata?.name ?? '';
      const now = performance.now();
      if (!pod.spec?.nodeName) {
        const c = pod.status?.conditions?.find((x) => x.type === 'PodScheduled');
        if (c?.status === 'False' && !unschedulable.has(name)) {
          unschedulable.add(name);
          if (unschedulable.size === numPods) allUnschedulable();
        }
        return;
      }
      if (!boundAt.has(name)) {
        boundAt.set(name, now);
        if (boundAt.size === numPods) allBound();
      }
      if (pod.status?.phase === 'Running' && !runningAt.has(name)) {
        runningAt.set(name, now);
        if (runningAt.size === numPods) allRunning();
      }
    },
    watchAbort.signal,
  );
  // A failed watch must end the waits below (and reach `finally`), not crash the driver past its clean-up.
  let watchError: unknown;
  void watching.catch((e: unknown) => {
    watchError = e;
    allBound();
    allRunning();
    allUnschedulable();
  });
  const checkWatch = (): void => {
    if (watchError !== undefined) throw watchError;
  };
  const nodeNames = (await client.resource('nodes').list({ labelSelector: 'node.orch.dev/hollow=true' })).items.map((n) => n.metadata?.name ?? '');
  const cordon = async (on: boolean): Promise<void> =>
    forEachLimited(nodeNames, concurrency, async (name) => {
      await client.resource('nodes').patch(name, 'merge', { spec: { unschedulable: on ? true : null } });
    });
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Number(values.timeout) * 1000).unref());
  if (values.pending) await cordon(true);

  const meter = new ProcessMeter(cluster.serverPid);
  if (!values.pending) meter.mark();
  const c0 = performance.now();
  await forEachLimited(
    Array.from({ length: numPods }, (_, i) => i),
    concurrency,
    async (i) => {
      await pods.create(pod(i));
    },
  );
  let created = performance.now();
  const createdIn = created - c0;
  if (values.pending) {
    const parkedOutcome = await Promise.race([parked, timeout]);
    checkWatch();
    if (parkedOutcome === 'timeout') throw new Error(`only ${unschedulable.size}/${numPods} pods marked unschedulable`);
    console.log(`all ${numPods} pods pending and marked PodScheduled=False at +${((performance.now() - c0) / 1000).toFixed(1)} s; uncordoning ${nodeNames.length} nodes`);
  }
  if (values.pending) meter.mark();
  // The server's own count of bindings, sampled every 50 ms: a watcher on this
  // busy machine can fall behind (and be cut), the scheduler's counter cannot.
  const base = await scheduledCount(client);
  const samples: { t: number; n: number }[] = [];
  let sampling = true;
  let samplerError: unknown;
  const sampler = (async () => {
    while (sampling) {
      try {
        samples.push({ t: performance.now(), n: (await scheduledCount(client)) - base });
      } catch (e) {
        samplerError = e;
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = values.pending ? performance.now() : c0;
  if (values.pending) {
    await cordon(false);
    created = performance.now();
    console.log(`uncordoned ${nodeNames.length} nodes in ${((created - t0) / 1000).toFixed(2)} s`);
  }
  const boundOutcome = await Promise.race([bound, timeout]);
  checkWatch();
  if (boundOutcome === 'timeout') {
    // Say why: what the API holds for the pods the watch never saw bound.
    const all = await pods.list();
    const unbound = all.items.filter((p) => !p.spec?.nodeName);
    const reasons = new Map<string, number>();
    for (const p of unbound) {
      const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
      const why = c ? `${c.status} ${c.reason ?? ''}: ${(c.message ?? '').slice(0, 160)}` : 'no PodScheduled condition';
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
    console.log(`API: ${all.items.length} pods, ${unbound.length} unbound; their PodScheduled conditions:`);
    for (const [why, n] of reasons) console.log(`  ${n} × ${why}`);
    throw new Error(`only ${boundAt.size}/${numPods} pods bound (seen by the watch) after ${values.timeout} s`);
  }
  const during = meter.read();
  sampling = false;
  await sampler;
  if (samplerError !== undefined) throw samplerError;
  // First sample showing a binding, first showing all of them; the rate over that span.
  const firstSeen = samples.find((x) => x.n > 0);
  const allSeen = samples.find((x) => x.n >= numPods);
  const serverRate = firstSeen && allSeen && allSeen.t > firstSeen.t ? (allSeen.n - firstSeen.n) / ((allSeen.t - firstSeen.t) / 1000) : NaN;
  const times = [...boundAt.values()].sort((a, b) => a - b);
  const first = times[0];
  const last = times[times.length - 1];
  const rate = (numPods - 1) / ((last - first) / 1000);
  const backlog = times.filter((t) => t > created);
  const drainRate = backlog.length > 1 ? (backlog.length - 1) / ((last - backlog[0]) / 1000) : NaN;
  const runningOutcome = await Promise.race([running, timeout]);
  checkWatch();

  console.log(`pods created: ${numPods} in ${(createdIn / 1000).toFixed(2)} s (${(numPods / (createdIn / 1000)).toFixed(0)} pods/s, ${concurrency} requests in flight)`);
  const from = values.pending ? 'the first uncordon' : 'the first create';
  console.log(
    `bindings seen by a watch: first at +${((first - t0) / 1000).toFixed(2)} s, last at +${((last - t0) / 1000).toFixed(2)} s after ${from}; bound before ${values.pending ? 'the last uncordon' : 'creation finished'}: ${numPods - backlog.length}`,
  );
  console.log(
    `scheduler throughput, server side (scheduler_schedule_attempts_total{result="scheduled"} every 50 ms, first to last binding): ${serverRate.toFixed(0)} pods/s — target ≥ ${TARGET_PODS_PER_S}: ${verdict(serverRate >= TARGET_PODS_PER_S)}`,
  );
  console.log(`  as a watching client saw the bindings (first to last): ${rate.toFixed(0)} pods/s`);
  if (backlog.length > 1 && !values.pending) console.log(`  backlog drain after creation finished: ${backlog.length} pods at ${drainRate.toFixed(0)} pods/s`);
  if (runningOutcome === 'timeout') console.log(`pods Running (hollow kubelets): only ${runningAt.size}/${numPods}`);
  else {
    const lastRunning = Math.max(...runningAt.values());
    console.log(`all ${numPods} pods Running (hollow kubelets) at +${((lastRunning - t0) / 1000).toFixed(2)} s`);
  }
  console.log(
    `server process from ${from} to the last binding: CPU ${during.cpuPercent.toFixed(0)} % of a core (${(during.cpuMs / 1000).toFixed(1)} s CPU in ${(during.wallMs / 1000).toFixed(1)} s), RSS ${during.rssMiB.toFixed(0)} MiB (peak sampled ${during.peakRssMiB.toFixed(0)} MiB)`,
  );
  meter.stop();
  watchAbort.abort();
  const w = await watching;
  if (w.rewatches > 0) {
    console.log(
      `note: the server ended the driver's pod watch ${w.rewatches} time(s) (a watcher more than 10,000 events behind is cut); ${w.relists} re-list(s) because the resume version was already compacted — pods bound in such a gap are timed at the re-list, i.e. late`,
    );
  }
} finally {
  watchAbort.abort();
  await cluster.stop();
}
