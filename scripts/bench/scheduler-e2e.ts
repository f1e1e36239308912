/**
 * Scheduler throughput end to end: the built server (scheduler inside), 1,000
 * hollow nodes in their own process, and this driver creating 10,000 bare
 * pending pods over HTTPS as fast as the API takes them (bounded
 * concurrency). A pod watch (fieldSelector spec.nodeName!=) sees each
 * binding; the figure is pods bound per second from the first binding to
 * the last, target ≥ 1,000 pods/s. Also reported: creation time, the rate at
 * which the backlog drained once creation was done, when every pod was
 * Running (hollow kubelets), and the server's CPU and RSS meanwhile.
 *
 * --backlog measures the figure (scheduler throughput on 10,000 pending
 * pods), as kube-scheduler's scheduler_perf does: the scheduler starts with
 * the pods already pending. The server first runs with --disable-scheduler,
 * the hollow nodes register, the pods are created (nothing tries them),
 * then the server is restarted on the same data dir and port without the
 * flag; the hollow nodes and the driver's watch reconnect. Reported: the
 * restart to the first binding (process start, /readyz, cache sync), the
 * rate from the first binding to the last as the scheduler counts it
 * (/metrics) and as the watching client sees it, and that every hollow
 * node heartbeats again after the restart.
 * --pending is the older way: every node is cordoned, the pods are created
 * (each is tried once and marked unschedulable), then the nodes are
 * uncordoned one PATCH at a time; that figure mostly measures how fast the
 * uncordons land.
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/scheduler-e2e.ts --backlog [--nodes 1000] [--pods 10000] [--concurrency 32] [--profile]
 *        (or --pending, or neither: pods scheduled while being created)
 */
import { parseArgs } from 'node:util';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ProcessMeter, followWatch, forEachLimited, machineLine, startBenchCluster, verdict, type ServerRestart } from './lib/bench-cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    timeout: { type: 'string', default: '300' },
    pending: { type: 'boolean', default: false },
    backlog: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const numNodes = Number(values.nodes);
const numPods = Number(values.pods);
const concurrency = Number(values.concurrency);
if (values.pending && values.backlog) {
  process.stderr.write('scheduler-e2e: --pending and --backlog are two ways of making the pods pending: pick one\n');
  process.exit(2);
}
const backlogMode = values.backlog;
const HEARTBEAT_SECONDS = 10;
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

/**
 * scheduler_schedule_attempts_total{result="scheduled"} from the server's /metrics;
 * with `absentIsZero`, 0 while the scheduler has not registered it yet (a server just restarted).
 */
async function scheduledCount(
  client: { transport: { request(m: string, p: string): Promise<{ status: number; text(): Promise<string> }> } },
  absentIsZero = false,
): Promise<number> {
  const res = await client.transport.request('GET', '/metrics');
  const text = await res.text();
  const m = /^scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} (\d+)$/m.exec(text);
  if (res.status === 200 && !m && absentIsZero) return 0;
  if (res.status !== 200 || !m) throw new Error(`no scheduler_schedule_attempts_total in /metrics (HTTP ${res.status})`);
  return Number(m[1]);
}

const cluster = await startBenchCluster({
  name: 'sched',
  nodes: numNodes,
  heartbeatSeconds: HEARTBEAT_SECONDS,
  profile: values.profile,
  serverArgs: backlogMode ? ['--disable-scheduler'] : [],
});
const watchAbort = new AbortController();
try {
  const mode = backlogMode
    ? 'pods created with --disable-scheduler, then the server restarted with its scheduler'
    : values.pending
      ? 'pods created against cordoned nodes, then all nodes uncordoned'
      : 'pods scheduled while being created';
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
    // Backlog mode restarts the server under the watch: ride that out. The
    // restarted server cannot replay history from before its start (its
    // writes quickly pass the kept window), so the watch re-lists: of bound
    // pods only, a few at that moment, not a 10,000-pod list competing with
    // the scheduler for the server's CPU.
    backlogMode ? { reconnectForMs: 120_000, fieldSelector: 'spec.nodeName!=' } : {},
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

  let meter = new ProcessMeter(cluster.serverPid);
  if (!values.pending && !backlogMode) meter.mark();
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
  let restart: ServerRestart | undefined;
  /** Wall-clock time the restarted server was ready: every lease must be renewed after it. */
  let restartWall = 0;
  if (backlogMode) {
    const all = (await pods.list()).items;
    const tried = all.filter((p) => p.spec?.nodeName || p.status?.conditions?.some((c) => c.type === 'PodScheduled')).length;
    checkWatch();
    if (all.length !== numPods || tried > 0) throw new Error(`--disable-scheduler: ${all.length}/${numPods} pods listed, ${tried} bound or tried by a scheduler`);
    console.log(`all ${numPods} pods pending, untried (server with --disable-scheduler) at +${((performance.now() - c0) / 1000).toFixed(1)} s; restarting the server with its scheduler`);
    restart = await cluster.restartServer();
    restartWall = Date.now();
    meter = new ProcessMeter(cluster.serverPid);
    meter.mark();
  }
  // The server's own count of bindings, sampled every 50 ms: a watcher on this
  // busy machine can fall behind (and be cut), the scheduler's counter cannot.
  // A restarted server counts from 0, and has no counter until its scheduler starts.
  const base = backlogMode ? 0 : await scheduledCount(client);
  const samples: { t: number; n: number }[] = [];
  let sampling = true;
  let samplerError: unknown;
  const sampler = (async () => {
    while (sampling) {
      try {
        samples.push({ t: performance.now(), n: (await scheduledCount(client, backlogMode)) - base });
      } catch (e) {
        samplerError = e;
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t0 = restart ? restart.spawnedAt : values.pending ? performance.now() : c0;
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
  const firstSample = samples.find((x) => x.n > 0);
  const allSample = samples.find((x) => x.n >= numPods);
  const serverRate = firstSample && allSample && allSample.t > firstSample.t ? (allSample.n - firstSample.n) / ((allSample.t - firstSample.t) / 1000) : NaN;
  const times = [...boundAt.values()].sort((a, b) => a - b);
  const first = times[0];
  const last = times[times.length - 1];
  const rate = (numPods - 1) / ((last - first) / 1000);
  const backlog = times.filter((t) => t > created);
  const drainRate = backlog.length > 1 ? (backlog.length - 1) / ((last - backlog[0]) / 1000) : NaN;
  const runningOutcome = await Promise.race([running, timeout]);
  checkWatch();

  console.log(`pods created: ${numPods} in ${(createdIn / 1000).toFixed(2)} s (${(numPods / (createdIn / 1000)).toFixed(0)} pods/s, ${concurrency} requests in flight)`);
  const from = backlogMode ? 'the restarted server was spawned' : values.pending ? 'the first uncordon' : 'the first create';
  if (restart) {
    const s = (a: number, b: number): string => `${((b - a) / 1000).toFixed(2)} s`;
    console.log(
      `server restart: SIGTERM to exit ${s(restart.stopAt, restart.exitedAt)}, spawn to /readyz ${s(restart.spawnedAt, restart.readyAt)} (server CPU ${((cluster.server.cpuAtReadyMs ?? NaN) / 1000).toFixed(2)} s)`,
    );
    console.log(
      `  restart (spawn) to the first binding: ${s(restart.spawnedAt, firstSample?.t ?? NaN)} server side (/readyz to it: ${s(restart.readyAt, firstSample?.t ?? NaN)}: control plane load and cache sync; ${firstSample?.n ?? 0} bound by that first non-zero sample), ${s(restart.spawnedAt, first)} as the watch saw it`,
    );
    console.log(
      `bindings seen by a watch: first at +${((first - t0) / 1000).toFixed(2)} s, last at +${((last - t0) / 1000).toFixed(2)} s after ${from}; server side first at +${(((firstSample?.t ?? NaN) - t0) / 1000).toFixed(2)} s, all at +${(((allSample?.t ?? NaN) - t0) / 1000).toFixed(2)} s`,
    );
  } else {
    console.log(
      `bindings seen by a watch: first at +${((first - t0) / 1000).toFixed(2)} s, last at +${((last - t0) / 1000).toFixed(2)} s after ${from}; bound before ${values.pending ? 'the last uncordon' : 'creation finished'}: ${numPods - backlog.length}`,
    );
  }
  console.log(
    `scheduler throughput, server side (scheduler_schedule_attempts_total{result="scheduled"} every 50 ms, first to last binding): ${serverRate.toFixed(0)} pods/s — target ≥ ${TARGET_PODS_PER_S}: ${verdict(serverRate >= TARGET_PODS_PER_S)}`,
  );
  console.log(`  as a watching client saw the bindings (first to last): ${rate.toFixed(0)} pods/s`);
  if (backlog.length > 1 && !values.pending && !backlogMode) console.log(`  backlog drain after creation finished: ${backlog.length} pods at ${drainRate.toFixed(0)} pods/s`);
  if (runningOutcome === 'timeout') console.log(`pods Running (hollow kubelets): only ${runningAt.size}/${numPods}`);
  else {
    const lastRunning = Math.max(...runningAt.values());
    console.log(`all ${numPods} pods Running (hollow kubelets) at +${((lastRunning - t0) / 1000).toFixed(2)} s`);
  }
  const meterFrom = backlogMode ? "the restarted server's /readyz" : from;
  console.log(
    `server process from ${meterFrom} to the last binding: CPU ${during.cpuPercent.toFixed(0)} % of a core (${(during.cpuMs / 1000).toFixed(1)} s CPU in ${(during.wallMs / 1000).toFixed(1)} s), RSS ${during.rssMiB.toFixed(0)} MiB (peak sampled ${during.peakRssMiB.toFixed(0)} MiB)`,
  );
  meter.stop();
  if (restart) {
    // The hollow-node process must have come through the restart: its pod
    // watch did (every pod Running above); its heartbeats too, i.e. every
    // lease renewed after the new server was ready.
    const wait = restart.readyAt + (HEARTBEAT_SECONDS + 2) * 1000 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const leases = await client.resource('leases').namespace('kube-node-lease').list();
    const renewed = leases.items.filter((l) => l.metadata?.name?.startsWith('hollow-') && Date.parse(l.spec?.renewTime ?? '') >= restartWall).length;
    const nodes = await client.resource('nodes').list({ labelSelector: 'node.orch.dev/hollow=true' });
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    console.log(
      `hollow nodes after the restart: ${renewed}/${numNodes} leases renewed since the new server was ready, ${ready}/${numNodes} nodes Ready — ${verdict(renewed === numNodes && ready === numNodes)}`,
    );
  }
  watchAbort.abort();
  const w = await watching;
  if (restart) {
    console.log(`driver's pod watch across the restart: ${w.reconnects} failed reconnect attempt(s) (50 ms apart), ${w.relists} re-list(s)`);
  } else if (w.rewatches > 0) {
    console.log(
      `note: the server ended the driver's pod watch ${w.rewatches} time(s) (a watcher more than 10,000 events behind is cut); ${w.relists} re-list(s) because the resume version was already compacted — pods bound in such a gap are timed at the re-list, i.e. late`,
    );
  }
} finally {
  watchAbort.abort();
  await cluster.stop();
}
