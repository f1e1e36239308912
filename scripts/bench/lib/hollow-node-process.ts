/**
 * Hollow nodes for the control-plane benchmarks, meant to run in a process
 * of their own (scripts/bench/hollow-nodes.ts) so the server's CPU and
 * memory figures are the server's alone. Over HTTPS with the real client
 * they do what a kubelet does as seen from the API: register a Node,
 * heartbeat through a Lease in kube-node-lease, mark pods bound to it
 * Running/Ready through pods/status and confirm graceful deletions. No
 * container ever runs. All requests go through one bounded queue, so 1,000
 * nodes and 15,000 pods never open more than `concurrency` requests.
 */
import { writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../../pkg/client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../../pkg/client/errors.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';

export const KUBELET_VERSION = 'v1.32.0-orch-hollow';
const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;
/** The heartbeat timer granularity: each node renews in one slot of the period, so renewals are spread out. */
const TICK_MS = 100;

/** Runs async tasks first-in first-out with at most `limit` running at once. */
export class TaskQueue {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** Queues a task; its failure goes to onError. */
  push(task: () => Promise<void>): void {
    this.waiting.push(task);
    this.pump();
  }

  /** Drops every task not started yet. */
  clear(): void {
    this.waiting.length = 0;
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.running < this.limit && this.waiting.length > 0) {
      const task = this.waiting.shift();
      if (!task) break;
      this.running++;
      task()
        .catch((e: unknown) => this.onError(e))
        .finally(() => {
          this.running--;
          this.pump();
          if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }
}

/** Now as a Kubernetes Time (seconds). */
function nowTime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Now as a Kubernetes MicroTime: 2006-01-02T15:04:05.000000Z. */
export function nowMicroTime(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The addresses of hollow node `i`: an InternalIP in 10.255/16 (never contacted) and a /24 for its pods. */
export function hollowAddressing(i: number): { internalIP: string; podPrefix: string } {
  return {
    internalIP: `10.255.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    podPrefix: `10.${100 + Math.floor(i / 256)}.${i % 256}`,
  };
}

function readyCondition(t: string): NodeCondition {
  return { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'hollow kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t };
}

/** The status a hollow node posts: a mid-sized machine that is Ready. */
export function hollowNodeStatus(i: number, name: string, t: string): Node['status'] {
  const resources = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: t, lastTransitionTime: t },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: t, lastTransitionTime: t },
      { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: t, lastTransitionTime: t },
      readyCondition(t),
    ],
    addresses: [
      { type: 'InternalIP', address: hollowAddressing(i).internalIP },
      { type: 'Hostname', address: name },
    ],
    nodeInfo: {
      machineID: name,
      systemUUID: name,
      bootID: name,
      kernelVersion: 'hollow',
      osImage: 'hollow',
      containerRuntimeVersion: 'hollow://0',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
  };
}

/** The status patch that makes a pod Running and Ready on a hollow node. */
export function runningPodStatus(pod: Pod, podIP: string, hostIP: string, t: string): Pod['status'] {
  const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: t });
  return {
    phase: 'Running',
    podIP,
    podIPs: [{ ip: podIP }],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    startTime: t,
    conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: `hollow://${c.image ?? ''}`,
      containerID: `hollow://${pod.metadata?.uid ?? ''}/${c.name}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: t } },
    })),
  };
}

function isRunningReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export interface HollowNodesOptions {
  client: Client;
  /** Number of nodes, named `${prefix}-0` … */
  nodes: number;
  prefix: string;
  /** Lease renewal period (Kubernetes: 10 s). */
  heartbeatSeconds: number;
  /** Node status is re-posted this often even when nothing changed (Kubernetes: 5 min). */
  statusReportSeconds?: number;
  /** Requests in flight at most (default 48). */
  concurrency?: number;
  log?: (msg: string) => void;
}

export interface HollowStats {
  nodes: number;
  leaseRenewals: number;
  podsStarted: number;
  podsDeleted: number;
  errors: number;
  queued: number;
  /** The pod informer's lists (a re-list after a cut watch counts), watches and 410s. */
  podInformer?: { lists: number; watches: number; expired: number };
}

export interface RunningHollowNodes {
  names: string[];
  stats(): HollowStats;
  stop(): Promise<void>;
}

interface NodeState {
  index: number;
  name: string;
  internalIP: string;
  podPrefix: string;
  nextPodIP: number;
  lease?: Lease;
  renewing: boolean;
}

/** Registers the nodes and their leases, then keeps heartbeating and running pods until stop(). */
export async function startHollowNodes(o: HollowNodesOptions): Promise<RunningHollowNodes> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const stats: HollowStats = { nodes: 0, leaseRenewals: 0, podsStarted: 0, podsDeleted: 0, errors: 0, queued: 0 };
  let lastError = '';
  const onError = (e: unknown): void => {
    if (isNotFound(e)) return; // the pod or lease went away meanwhile
    stats.errors++;
    const msg = e instanceof Error ? e.message : String(e);
    if (msg !== lastError) log(`hollow-nodes: ${msg}`);
    lastError = msg;
  };
  // Two queues, as a kubelet has separate loops: heartbeats must never wait
  // behind thousands of pod updates, or a busy server sees every node go silent.
  const queue = new TaskQueue(o.concurrency ?? 48, onError);
  const heartbeatQueue = new TaskQueue(Math.max(2, Math.ceil((o.concurrency ?? 48) / 6)), onError);
  const nodesApi = o.client.resource('nodes');
  const leasesApi = o.client.resource('leases').namespace(LEASE_NAMESPACE);
  const podsApi = o.client.resource('pods');

  const states = new Map<string, NodeState>();
  for (let i = 0; i < o.nodes; i++) {
    const name = `${o.prefix}-${i}`;
    const a = hollowAddressing(i);
    states.set(name, { index: i, name, internalIP: a.internalIP, podPrefix: a.podPrefix, nextPodIP: 1, renewing: false });
  }

  const lease = (s: NodeState): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: s.name, namespace: LEASE_NAMESPACE },
    spec: { holderIdentity: s.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: nowMicroTime() },
  });

  const register = async (s: NodeState): Promise<void> => {
    const t = nowTime();
    const labels = { 'kubernetes.io/hostname': s.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.orch.dev/hollow': 'true' };
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: s.name, labels }, spec: {}, status: hollowNodeStatus(s.index, s.name, t) };
    try {
      await nodesApi.create(node);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    // A create may drop status (as for most kinds); the kubelet posts it through nodes/status anyway.
    await nodesApi.patch(s.name, 'merge', { status: hollowNodeStatus(s.index, s.name, t) }, { subresource: 'status' });
    try {
      s.lease = await leasesApi.create(lease(s));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const cur = await leasesApi.get(s.name);
      s.lease = await leasesApi.update({ ...cur, spec: { ...cur.spec, ...lease(s).spec } });
    }
    stats.nodes++;
  };

  const renew = async (s: NodeState): Promise<void> => {
    const renewTime = nowMicroTime();
    try {
      const cur = s.lease ?? (await leasesApi.get(s.name));
      s.lease = await leasesApi.update({ ...cur, spec: { ...cur.spec, holderIdentity: s.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime } });
    } catch (e) {
      // Someone else wrote it (or it was deleted): start over from the server's copy next time.
      s.lease = undefined;
      if (isNotFound(e)) s.lease = await leasesApi.create(lease(s));
      else if (!isConflict(e)) throw e;
    }
    stats.leaseRenewals++;
  };

  const postStatus = async (s: NodeState): Promise<void> => {
    const t = nowTime();
    // Strategic merge: conditions merge by type, as the kubelet's own status patch does.
    await nodesApi.patch(s.name, 'strategic', { status: { conditions: [readyCondition(t)] } }, { subresource: 'status' });
  };

  // Registration: all through the bounded queue.
  const started = performance.now();
  const failures: unknown[] = [];
  await Promise.all(
    [...states.values()].map(
      (s) =>
        new Promise<void>((res) =>
          queue.push(() =>
            register(s)
              .catch((e: unknown) => {
                failures.push(e);
              })
              .finally(res),
          ),
        ),
    ),
  );
  if (failures.length > 0) {
    const e = failures[0];
    throw new Error(`hollow-nodes: ${failures.length} node(s) failed to register: ${e instanceof Error ? e.message : String(e)}`);
  }
  log(`hollow-nodes: ${o.nodes} nodes registered in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Heartbeats: node i renews in slot i of the period.
  const slots = Math.max(1, Math.round((o.heartbeatSeconds * 1000) / TICK_MS));
  const statusSlots = Math.max(1, Math.round(((o.statusReportSeconds ?? 300) * 1000) / TICK_MS));
  let tick = 0;
  const bySlot: NodeState[][] = Array.from({ length: slots }, () => []);
  for (const s of states.values()) bySlot[s.index % slots].push(s);
  const timer = setInterval(() => {
    tick++;
    for (const s of bySlot[tick % slots]) {
      if (s.renewing) continue; // the previous renewal is still queued: the server is behind, don't pile up
      s.renewing = true;
      heartbeatQueue.push(() => renew(s).finally(() => (s.renewing = false)));
    }
    // The slow full status report, spread the same way over its own period.
    for (const s of states.values()) if ((s.index * 7919) % statusSlots === tick % statusSlots) heartbeatQueue.push(() => postStatus(s));
  }, TICK_MS);

  // Pods: one informer over every bound pod, filtered to our nodes here.
  const factory = new SharedInformerFactory(o.client, { onError: (e) => log(`hollow-nodes informer: ${e instanceof Error ? e.message : String(e)}`) });
  const pods = factory.informerFor('pods', { fieldSelector: 'spec.nodeName!=' });
  const inflight = new Set<string>();
  /** Pods with a start queued or running. */
  const starting = new Set<string>();
  /** The resourceVersion our last status write produced, per pod uid: older events are stale. */
  const startedAt = new Map<string, number>();

  const startPod = async (pod: Pod, s: NodeState): Promise<void> => {
    const ip = `${s.podPrefix}.${s.nextPodIP}`;
    s.nextPodIP = (s.nextPodIP % 254) + 1;
    const out = await podsApi
      .namespace(pod.metadata?.namespace)
      .patch(pod.metadata?.name ?? '', 'merge', { status: runningPodStatus(pod, ip, s.internalIP, nowTime()) }, { subresource: 'status' });
    startedAt.set(pod.metadata?.uid ?? '', Number(out.metadata?.resourceVersion));
    stats.podsStarted++;
  };

  const finishDelete = async (pod: Pod): Promise<void> => {
    await podsApi.namespace(pod.metadata?.namespace).delete(pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    stats.podsDeleted++;
  };

  const handle = (pod: Pod): void => {
    const s = states.get(pod.spec?.nodeName ?? '');
    const uid = pod.metadata?.uid;
    if (!s || !uid) return;
    if (pod.metadata?.deletionTimestamp) {
      const key = `delete:${uid}`;
      if (inflight.has(key)) return;
      inflight.add(key);
      queue.push(() => finishDelete(pod).finally(() => inflight.delete(key)));
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || starting.has(uid) || isRunningReady(pod)) return;
    // An event from before our own write (the watch lags the response): nothing to correct.
    if (Number(pod.metadata?.resourceVersion) < (startedAt.get(uid) ?? 0)) return;
    // Not Running/Ready although it is ours: start it, or, like the kubelet's
    // status manager, put back the status someone else overwrote.
    starting.add(uid);
    queue.push(() => startPod(pod, s).finally(() => starting.delete(uid)));
  };
  pods.addEventHandler({
    onAdd: handle,
    onUpdate: (_old, pod) => handle(pod),
    onDelete: (pod) => {
      const uid = pod.metadata?.uid;
      if (uid) startedAt.delete(uid);
    },
  });
  factory.start();
  await factory.waitForSync();

  return {
    names: [...states.keys()],
    stats: () => ({ ...stats, queued: queue.size + heartbeatQueue.size, podInformer: { ...pods.stats } }),
    async stop() {
      clearInterval(timer);
      await factory.stop();
      queue.clear();
      heartbeatQueue.clear();
      await Promise.all([queue.idle(), heartbeatQueue.idle()]);
    },
  };
}

export interface SpawnedHollowNodes {
  child: ChildProcess;
  /** The line the process printed once every node was registered. */
  registeredLine: string;
  output(): string;
  /** SIGTERM, then the exit code (or signal name). */
  stop(): Promise<number | string>;
}

export interface SpawnHollowOptions {
  server: string;
  caFile: string;
  tokenFile: string;
  nodes: number;
  heartbeatSeconds: number;
  prefix?: string;
  concurrency?: number;
  /** How long registration may take (default 120 s). */
  timeoutMs?: number;
}

const HOLLOW_ENTRY = resolve(import.meta.dirname, '../hollow-nodes.ts');
const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** Starts scripts/bench/hollow-nodes.ts in its own process and waits until its nodes are registered. */
export async function spawnHollowNodes(o: SpawnHollowOptions): Promise<SpawnedHollowNodes> {
  const args = [
    '--import=tsx',
    HOLLOW_ENTRY,
    '--server',
    o.server,
    '--ca',
    o.caFile,
    '--token',
    o.tokenFile,
    '--nodes',
    String(o.nodes),
    '--heartbeat-seconds',
    String(o.heartbeatSeconds),
    '--prefix',
    o.prefix ?? 'hollow',
    ...(o.concurrency !== undefined ? ['--concurrency', String(o.concurrency)] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let out = '';
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? 'unknown')));
  const registeredLine = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`hollow nodes not registered within ${o.timeoutMs ?? 120_000} ms:\n${out}`)), o.timeoutMs ?? 120_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('hollow-nodes: registered'));
      if (line) {
        clearTimeout(timer);
        res(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`hollow nodes exited (${code}) before registering:\n${out}`));
    });
  });
  return {
    child,
    registeredLine,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      // Its log (with the final stats line), as ORCH_BENCH_SERVER_LOG keeps the server's.
      if (process.env.ORCH_BENCH_HOLLOW_LOG) writeFileSync(process.env.ORCH_BENCH_HOLLOW_LOG, out);
      return code;
    },
  };
}
