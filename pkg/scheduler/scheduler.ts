/**
 * The scheduling loop: pop a pod, filter a sample of the nodes starting
 * where the last cycle stopped (kube-scheduler's percentageOfNodesToScore),
 * score the feasible ones, pick the best (random among equals), assume it in
 * the cache and bind in the background. A pod no node fits gets a
 * FailedScheduling event and a PodScheduled=False condition, and waits in
 * the queue until the cluster changes.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { SchedulerCache } from './cache.js';
import { FitError } from './fit-error.js';
import { buildPlugins, DEFAULT_PLUGINS } from './plugins/registry.js';
import { podIsTerminal, podKey } from './podinfo.js';
import { SchedulingQueue, type QueuedPod, type QueueOptions } from './queue.js';
import type { CycleState, FilterResult, NodeInfo, PodInfo } from './types.js';

type FilterFn = (pod: PodInfo, node: NodeInfo, state: CycleState) => FilterResult;

interface Scorer {
  score: (pod: PodInfo, node: NodeInfo, state: CycleState) => number;
  normalize: ((scores: number[]) => void) | undefined;
  weight: number;
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** An event about a pod, as the scheduler reports it. */
export interface SchedulerEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  /** The action, as events.k8s.io/v1 `action` (kube-scheduler: "Binding", "Scheduling"). */
  action: string;
  message: string;
}

/** What the scheduler needs from the outside world; fakes in tests, the API client in the server. */
export interface SchedulerDeps {
  /** Assigns the pod to the node (POST pods/NAME/binding). */
  bind(pod: Pod, nodeName: string): Promise<void>;
  /** Sets the pod's PodScheduled condition (PATCH pods/NAME/status). */
  updatePodStatus(pod: Pod, condition: PodCondition): Promise<void>;
  /** Records an event about the pod; must not throw. */
  recordEvent(pod: Pod, event: SchedulerEvent): void;
  /** Reports a failed bind or status update (default: ignored; they are retried). */
  onError?(err: unknown, pod: Pod, during: 'bind' | 'updatePodStatus'): void;
}

export interface SchedulerOptions {
  deps: SchedulerDeps;
  schedulerName?: string;
  /** Plugin names, in order (default: the default profile). */
  plugins?: readonly string[];
  /** Percentage of nodes to filter before scoring; 0 (default) is kube-scheduler's adaptive value. */
  percentageOfNodesToScore?: number;
  /** [0,1) source for tie-breaks; injectable for deterministic tests. */
  random?: () => number;
  queue?: QueueOptions;
  /** Bindings in flight before the loop waits for one to finish. */
  maxInflightBindings?: number;
}

/** Outcome of one placement decision. */
export type ScheduleResult =
  | { readonly nodeName: string; readonly evaluatedNodes: number; readonly feasibleNodes: number }
  | { readonly error: FitError };

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
// The loop yields to the event loop this often so watch events and binding
// responses are handled while a long backlog is being scheduled.
const YIELD_EVERY = 64;
const FLUSH_INTERVAL_MS = 200;

/** kube-scheduler's numFeasibleNodesToFind: all of a small cluster, else an adaptive share, at least 100. */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - Math.floor(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** True when this scheduler should place the pod. */
export function responsibleForPod(pod: Pod, schedulerName = DEFAULT_SCHEDULER_NAME): boolean {
  const spec = pod.spec;
  return (
    (spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === schedulerName &&
    !spec?.nodeName &&
    !pod.metadata?.deletionTimestamp &&
    !(spec?.schedulingGates && spec.schedulingGates.length > 0) &&
    !podIsTerminal(pod)
  );
}

/** True when a node update may let a waiting pod fit (the fields filters read changed). */
export function nodeSchedulingChanged(oldNode: Node, newNode: Node): boolean {
  const view = (n: Node) =>
    JSON.stringify([
      n.spec?.unschedulable === true,
      n.spec?.taints ?? [],
      n.metadata?.labels ?? {},
      n.status?.allocatable ?? {},
      (n.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status,
    ]);
  return view(oldNode) !== view(newNode);
}

/** The condition an unschedulable pod gets. */
export function unschedulableCondition(message: string, now: Date): PodCondition {
  return {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message,
    lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

/** The scheduler: a cache, a queue, the plugins and the loop that ties them. */
export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly schedulerName: string;
  private readonly deps: SchedulerDeps;
  private readonly filters: FilterFn[];
  private readonly scorers: Scorer[];
  private readonly percentage: number;
  private readonly random: () => number;
  private readonly maxInflight: number;
  private nextStartNodeIndex = 0;
  private readonly inflight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Pods bound so far (successful binding calls). */
  boundCount = 0;
  /** Scheduling attempts by outcome, as kube-scheduler's scheduler_schedule_attempts_total counts them. */
  readonly attempts = { scheduled: 0, unschedulable: 0, error: 0 };

  constructor(opts: SchedulerOptions) {
    this.deps = opts.deps;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    const plugins = buildPlugins(opts.plugins ?? DEFAULT_PLUGINS);
    this.filters = plugins.flatMap((p) => (p.filter ? [p.filter.bind(p)] : []));
    this.scorers = plugins.flatMap((p) =>
      p.score ? [{ score: p.score.bind(p), normalize: p.normalizeScores?.bind(p), weight: p.weight ?? 1 }] : [],
    );
    this.percentage = opts.percentageOfNodesToScore ?? 0;
    this.random = opts.random ?? Math.random;
    this.maxInflight = opts.maxInflightBindings ?? 512;
    this.queue = new SchedulingQueue(opts.queue);
  }

  // ---------------------------------------------------------------------------
  // Informer events
  // ---------------------------------------------------------------------------

  /** Pods waiting in each sub-queue (scheduler_pending_pods). */
  pendingPods(): { active: number; backoff: number; unschedulable: number } {
    const { active, backoff, unschedulable } = this.queue.stats();
    return { active, backoff, unschedulable };
  }

  /** A pod appeared. */
  onPodAdd(pod: Pod): void {
    if (pod.spec?.nodeName) this.cache.addPod(pod);
    else if (responsibleForPod(pod, this.schedulerName)) this.queue.add(pod);
  }

  /** A pod changed. */
  onPodUpdate(oldPod: Pod, newPod: Pod): void {
    if (newPod.spec?.nodeName) {
      this.queue.delete(newPod);
      this.cache.updatePod(newPod);
      // A finished pod's requests are free again.
      if (oldPod.spec?.nodeName && podIsTerminal(newPod) && !podIsTerminal(oldPod)) this.queue.moveAllToActiveOrBackoff();
      return;
    }
    if (this.cache.isAssumed(podKey(newPod))) return; // an older version of a pod we just placed
    if (responsibleForPod(newPod, this.schedulerName)) this.queue.update(newPod);
    else this.queue.delete(newPod);
  }

  /** A pod was deleted. */
  onPodDelete(pod: Pod): void {
    const key = podKey(pod);
    this.queue.delete(key);
    if (this.cache.nodeOf(key) !== undefined) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  /** A node appeared. */
  onNodeAdd(node: Node): void {
    this.cache.addNode(node);
    this.queue.moveAllToActiveOrBackoff();
  }

  /** A node changed; waiting pods are retried only when a field the filters read changed. */
  onNodeUpdate(oldNode: Node, newNode: Node): void {
    this.cache.updateNode(newNode);
    if (nodeSchedulingChanged(oldNode, newNode)) this.queue.moveAllToActiveOrBackoff();
  }

  /** A node was deleted. */
  onNodeDelete(node: Node): void {
    this.cache.removeNode(node.metadata?.name ?? '');
  }

  // ---------------------------------------------------------------------------
  // Scheduling
  // ---------------------------------------------------------------------------

  /** Chooses a node for the pod against the cache, or explains why none fits. Changes nothing but the start index. */
  schedulePod(pod: PodInfo): ScheduleResult {
    const nodes = this.cache.nodeInfos();
    const n = nodes.length;
    if (n === 0) return { error: new FitError(0, new Map()) };
    const state: CycleState = { numAllNodes: n };
    const want = numFeasibleNodesToFind(n, this.percentage);
    const feasible: NodeInfo[] = [];
    let failed: Map<string, readonly string[]> | undefined;
    let processed = 0;
    const start = this.nextStartNodeIndex % n;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const node = nodes[(start + i) % n];
      processed++;
      let fit = true;
      for (const f of this.filters) {
        const r = f(pod, node, state);
        if (!r.fit) {
          (failed ??= new Map()).set(node.name, r.reasons);
          fit = false;
          break;
        }
      }
      if (fit) feasible.push(node);
    }
    this.nextStartNodeIndex = (start + processed) % n;
    if (feasible.length === 0) return { error: new FitError(n, failed ?? new Map()) };
    const chosen = feasible.length === 1 ? feasible[0] : this.selectHost(pod, feasible, state);
    return { nodeName: chosen.name, evaluatedNodes: processed, feasibleNodes: feasible.length };
  }

  private selectHost(pod: PodInfo, feasible: NodeInfo[], state: CycleState): NodeInfo {
    const totals = new Array<number>(feasible.length).fill(0);
    const scores = new Array<number>(feasible.length);
    for (const p of this.scorers) {
      for (let i = 0; i < feasible.length; i++) scores[i] = p.score(pod, feasible[i], state);
      p.normalize?.(scores);
      const w = p.weight;
      for (let i = 0; i < feasible.length; i++) totals[i] += scores[i] * w;
    }
    // Reservoir sampling over the best-scoring nodes: each is equally likely.
    let best = 0;
    let ties = 1;
    for (let i = 1; i < feasible.length; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (Math.floor(this.random() * ties) === 0) best = i;
      }
    }
    return feasible[best];
  }

  /** Runs one scheduling cycle for a popped pod; the binding continues in the background. */
  scheduleOne(qp: QueuedPod): void {
    const cycle = this.queue.schedulingCycle;
    const info = qp.info;
    if (!responsibleForPod(info.pod, this.schedulerName)) {
      this.queue.done(info.key);
      return;
    }
    const result = this.schedulePod(info);
    if ('error' in result) {
      this.handleUnschedulable(qp, cycle, result.error);
      return;
    }
    this.cache.assumePod(info, result.nodeName);
    this.track(this.bind(qp, result.nodeName));
  }

  private async bind(qp: QueuedPod, nodeName: string): Promise<void> {
    const { pod, key, namespace, name } = qp.info;
    try {
      await this.deps.bind(pod, nodeName);
    } catch (err) {
      this.cache.forgetPod(key);
      this.queue.addBackoff(qp);
      this.attempts.error++;
      this.deps.onError?.(err, pod, 'bind');
      const message = err instanceof Error ? err.message : String(err);
      this.deps.recordEvent(pod, { type: 'Warning', reason: 'FailedScheduling', action: 'Scheduling', message: `Binding rejected: ${message}` });
      return;
    }
    this.boundCount++;
    this.attempts.scheduled++;
    this.queue.done(key);
    this.deps.recordEvent(pod, {
      type: 'Normal',
      reason: 'Scheduled',
      action: 'Binding',
      message: `Successfully assigned ${namespace}/${name} to ${nodeName}`,
    });
  }

  private handleUnschedulable(qp: QueuedPod, cycle: number, error: FitError): void {
    const pod = qp.info.pod;
    this.attempts.unschedulable++;
    this.queue.addUnschedulable(qp, cycle);
    this.deps.recordEvent(pod, { type: 'Warning', reason: 'FailedScheduling', action: 'Scheduling', message: error.message });
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (current?.status === 'False' && current.reason === 'Unschedulable' && current.message === error.message) return;
    const condition = unschedulableCondition(error.message, new Date());
    this.track(
      this.deps.updatePodStatus(pod, condition).catch((err: unknown) => {
        this.deps.onError?.(err, pod, 'updatePodStatus');
      }),
    );
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    const untrack = () => {
      this.inflight.delete(p);
    };
    // Both branches handled: the derived promise always resolves.
    void p.then(untrack, untrack);
  }

  /** Resolves once every binding and status update started so far has finished. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Schedules every pod now in activeQ (no waiting for backoff); returns how many cycles ran. For tests and benchmarks. */
  async drain(): Promise<number> {
    let n = 0;
    for (let qp = this.queue.tryPop(); qp !== undefined; qp = this.queue.tryPop()) {
      this.scheduleOne(qp);
      n++;
      if (this.inflight.size >= this.maxInflight) await Promise.race(this.inflight);
    }
    await this.settled();
    return n;
  }

  /** Starts the loop and the queue's flush timer. */
  start(): void {
    if (this.loop !== undefined) return;
    this.flushTimer = setInterval(() => this.queue.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let n = 0;
    while (!this.stopped) {
      const qp = await this.queue.pop();
      if (qp === undefined) break;
      this.scheduleOne(qp);
      if (this.inflight.size >= this.maxInflight) await Promise.race(this.inflight);
      if (++n % YIELD_EVERY === 0) await yieldToEventLoop();
    }
  }

  /** Stops the loop and waits for bindings in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    this.queue.close();
    await this.loop;
    await this.settled();
  }
}
