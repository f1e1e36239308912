/**
 * Pod start latency on one real Docker node: the built `orch server` with its
 * embedded agent, bare busybox `sleep 3600` pods (image present,
 * imagePullPolicy Never) created at a steady rate. Latency per pod: from the
 * client-side time the create call returned (metadata.creationTimestamp is
 * second-granular) to the first watch event showing phase Running.
 * Reported: p50, p90, p99, max; target p99 < 2 s. Also split into
 * created → bound (scheduler) and bound → Running (kubelet + Docker).
 * One warm-up pod goes first (pause image built on first use, kubelet's
 * watch started) and is left out of the figures.
 * At the end the pods are deleted and the run waits until their containers
 * are gone; everything (containers, server, temp dir) is removed on failure too.
 * --baseline adds Docker alone at the same rate: per pod, a pause container
 * (create, start, inspect) and a busybox container in its namespaces
 * (create, start), timed from the first call, made by this driver through
 * dockerode — what the kubelet cannot beat on this machine.
 * --profile writes a CPU profile of the server (node --cpu-prof).
 * Requires `npm run build` first.
 * Usage: node --import=tsx scripts/bench/pod-start.ts [--pods 50] [--rate 5] [--timeout 120] [--baseline] [--profile]
 */
import { parseArgs } from 'node:util';
import { PAUSE_CMD, PAUSE_IMAGE } from '../../pkg/kubelet/runtime/pause-image.js';
import { LABELS } from '../../pkg/kubelet/runtime/types.js';
import { machineLine, ProcessMeter, watchPodMilestones } from './lib/bench-cluster.js';
import { quantile } from './lib/orch-process.js';
import {
  BENCH_IMAGE,
  benchDocker,
  benchNodeName,
  cleanupNodeContainers,
  machineBusyPercent,
  machineCpuSample,
  runtimeDaemonPids,
  Cleanup,
  deletePodsAndWait,
  ensureBenchImage,
  metOrMissed,
  nodeContainerIds,
  runtimeRssLine,
  sleep,
  sleepPod,
  startDockerNodeServer,
  waitNodeReady,
  waitPodsRunning,
  finishBench,
} from './lib/docker-node.js';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '50' },
    rate: { type: 'string', default: '5' },
    timeout: { type: 'string', default: '120' },
    baseline: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const numPods = Number(values.pods);
const rate = Number(values.rate);
const NS = 'pod-start-bench';
const TARGET_S = 2;

function stats(label: string, seconds: number[]): string {
  const s = [...seconds].sort((a, b) => a - b);
  const f = (q: number) => `${quantile(s, q).toFixed(2)} s`;
  return `${label}: p50 ${f(0.5)}, p90 ${f(0.9)}, p99 ${f(0.99)}, max ${s.length ? s[s.length - 1].toFixed(2) : 'NaN'} s (n=${s.length})`;
}

/** Calls start(i) for i < n at `rate` per second (not waiting for each other); resolves when all have, rejects with the first failure (and starts no more). */
async function paced(n: number, start: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const started: Promise<void>[] = [];
  let failure: { e: unknown } | undefined;
  for (let i = 0; i < n && !failure; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    // Caught at once: a rejection must not go unhandled while the loop still sleeps.
    started.push(start(i).catch((e: unknown) => void (failure ??= { e })));
  }
  await Promise.all(started);
  if (failure) throw failure.e;
}

/** CPU of dockerd + containerd (% of one core) and of the whole machine (% of all cores) over a window. */
function runtimeCpuMeter(): () => string {
  const meters = runtimeDaemonPids().daemons.map((d) => ({ ...d, m: new ProcessMeter(d.pid) }));
  for (const d of meters) d.m.mark();
  const m0 = machineCpuSample();
  return () => {
    const parts = meters.map((d) => {
      const r = d.m.read();
      d.m.stop();
      return `${d.name} ${r.cpuPercent.toFixed(0)} %`;
    });
    return `meanwhile CPU: ${parts.join(', ') || 'dockerd/containerd not found'} of a core; whole machine ${machineBusyPercent(m0, machineCpuSample()).toFixed(0)} % busy (all processes, all cores)`;
  };
}

/** Docker alone at the same rate: pause + app container per pod, through dockerode from this process. */
async function dockerBaseline(): Promise<void> {
  const docker = benchDocker();
  const node = benchNodeName('bench-baseline');
  cleanup.add(`containers of ${node}`, () => cleanupNodeContainers(node));
  const Labels = { [LABELS.node]: node };
  const lat: number[] = [];
  const cpu = runtimeCpuMeter();
  await paced(numPods, async (i) => {
    const t = performance.now();
    const pause = await docker.createContainer({ name: `${node}-pause-${i}`, Image: PAUSE_IMAGE, Cmd: PAUSE_CMD, Labels, HostConfig: { NetworkMode: 'bridge', IpcMode: 'shareable' } });
    await pause.start();
    await pause.inspect();
    const app = await docker.createContainer({
      name: `${node}-app-${i}`,
      Image: BENCH_IMAGE,
      Entrypoint: ['sleep', '3600'],
      Labels,
      HostConfig: { NetworkMode: `container:${pause.id}`, IpcMode: `container:${pause.id}`, LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } } },
    });
    await app.start();
    lat.push((performance.now() - t) / 1000);
  });
  console.log(stats(`Docker alone at ${rate} pods/s (pause + app container, first call -> app started)`, lat));
  console.log(cpu());
  await cleanupNodeContainers(node);
}

const cleanup = new Cleanup();
const abort = new AbortController();
cleanup.add('watch', async () => abort.abort());
let failure: { error: unknown } | undefined;
try {
  await ensureBenchImage();
  const nodeName = benchNodeName('bench-podstart');
  const tStart = performance.now();
  const s = await startDockerNodeServer({ name: 'pod-start', nodeName, profile: values.profile }, cleanup);
  const { client } = s;
  await waitNodeReady(client, nodeName);
  const nodeReadyS = (performance.now() - tStart) / 1000;
  await client.resource('namespaces').create({ metadata: { name: NS } });
  const pods = client.resource('pods').namespace(NS);

  const tWarm = performance.now();
  await pods.create(sleepPod('warmup', NS));
  await waitPodsRunning(client, NS, 1, 60_000);
  const warmS = (performance.now() - tWarm) / 1000;

  const rv = (await pods.list({ limit: 1 })).metadata.resourceVersion;
  const sent = new Map<string, number>();
  const created = new Map<string, number>();
  const { bound, running, done: watching } = watchPodMilestones(pods, rv, abort.signal);

  const meter = new ProcessMeter(s.pid);
  meter.mark();
  const cpu = runtimeCpuMeter();
  const t0 = performance.now();
  await paced(numPods, async (i) => {
    const name = `p-${String(i).padStart(4, '0')}`;
    sent.set(name, performance.now());
    await pods.create(sleepPod(name, NS));
    created.set(name, performance.now());
  });
  const createdAllS = (performance.now() - t0) / 1000;
  const deadline = performance.now() + Number(values.timeout) * 1000;
  while ([...created.keys()].some((n) => !running.has(n)) && performance.now() < deadline) await sleep(20);
  const allRunningS = (performance.now() - t0) / 1000;
  const usage = meter.read();
  meter.stop();
  const cpuLine = cpu();
  const runtimeLine = runtimeRssLine(await nodeContainerIds(nodeName));

  const lat: number[] = [];
  const sched: number[] = [];
  const kubelet: number[] = [];
  const createCall: number[] = [];
  for (const [name, c] of created) {
    createCall.push((c - (sent.get(name) ?? c)) / 1000);
    const r = running.get(name);
    if (r === undefined) continue;
    lat.push((r - c) / 1000);
    const b = bound.get(name);
    if (b !== undefined) {
      sched.push((b - c) / 1000);
      kubelet.push((r - b) / 1000);
    }
  }
  const notRunning = numPods - lat.length;
  const p99 = quantile([...lat].sort((a, b) => a - b), 0.99);

  console.log(`pod start latency: ${numPods} bare busybox pods created at ${rate} pods/s on one node (orch server + embedded agent, Docker)`);
  console.log(machineLine('the server (with its agent), dockerd/containerd and this driver'));
  console.log(`node Ready ${nodeReadyS.toFixed(2)} s after spawn; warm-up pod Running ${warmS.toFixed(2)} s after its create`);
  console.log(`all created by +${createdAllS.toFixed(2)} s, all Running by +${allRunningS.toFixed(2)} s${notRunning > 0 ? `; NOT Running within ${values.timeout} s: ${notRunning}` : ''}`);
  console.log(stats('create response -> Running (watch)', lat));
  console.log(stats('  create response -> bound (scheduler)', sched));
  console.log(stats('  bound -> Running (kubelet + Docker)', kubelet));
  console.log(stats('create call itself', createCall));
  console.log(`target p99 < ${TARGET_S} s: ${metOrMissed(notRunning === 0 && p99 < TARGET_S)} (p99 ${p99.toFixed(2)} s)`);
  console.log(
    `server process meanwhile: CPU ${usage.cpuPercent.toFixed(0)} % of a core (${(usage.cpuMs / 1000).toFixed(1)} s CPU in ${(usage.wallMs / 1000).toFixed(1)} s), RSS ${usage.rssMiB.toFixed(0)} MiB (peak sampled ${usage.peakRssMiB.toFixed(0)} MiB)`,
  );
  console.log(cpuLine);
  console.log(runtimeLine);
  abort.abort();
  await watching.catch(() => undefined);
  const gone = await deletePodsAndWait(client, NS, nodeName);
  console.log(`clean-up: pods gone from the API after ${gone.podsGoneS.toFixed(1)} s, their containers after ${gone.containersGoneS.toFixed(1)} s`);
  if (values.baseline) await dockerBaseline();
} catch (error) {
  failure = { error };
}
await finishBench(cleanup, failure);
