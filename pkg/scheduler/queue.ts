/**
 * The scheduling queue, after kube-scheduler's PriorityQueue: activeQ
 * (highest spec.priority first, then oldest), backoffQ (pods waiting out
 * 1 s → 10 s of exponential backoff after a failed attempt) and the
 * unschedulable set (pods no node fits, parked until the cluster changes).
 *
 * A pod that failed in a cycle that began before a cluster change was
 * signalled goes to backoffQ rather than the unschedulable set: the change
 * may be the one that lets it fit, and it would otherwise wait for the next.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Heap } from './heap.js';
import { podInfoOf, podKey } from './podinfo.js';
import type { PodInfo } from './types.js';

/** A pod in the queue, with its scheduling history. */
export interface QueuedPod {
  info: PodInfo;
  /** Scheduling attempts so far (incremented by pop). */
  attempts: number;
  /** When backoff ends (ms, the queue's clock). */
  backoffUntil: number;
  /** When it entered the unschedulable set. */
  parkedAt: number;
  /** Insertion order, the last tie-breaker. */
  seq: number;
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'inflight';

interface Entry {
  qp: QueuedPod;
  where: Where;
  /** A version that arrived while the pod was in flight, used when it comes back. */
  latest?: Pod;
}

export interface QueueOptions {
  /** The clock, in ms; injectable for tests. */
  now?: () => number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a pod may sit in the unschedulable set before it is retried anyway (kube-scheduler: 5 min). */
  maxUnschedulableMs?: number;
}

/** Counts per sub-queue. */
export interface QueueStats {
  active: number;
  backoff: number;
  unschedulable: number;
  inflight: number;
}

function activeLess(a: QueuedPod, b: QueuedPod): boolean {
  if (a.info.priority !== b.info.priority) return a.info.priority > b.info.priority;
  if (a.info.created !== b.info.created) return a.info.created < b.info.created;
  return a.seq < b.seq;
}

function backoffLess(a: QueuedPod, b: QueuedPod): boolean {
  return a.backoffUntil !== b.backoffUntil ? a.backoffUntil < b.backoffUntil : a.seq < b.seq;
}

/** Pending pods waiting for a scheduling attempt. */
export class SchedulingQueue {
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  // Heaps hold QueuedPod objects; an object no longer referenced by `entries`
  // (or referenced with another `where`) is stale and skipped when it surfaces.
  private readonly active = new Heap<QueuedPod>(activeLess);
  private readonly backoff = new Heap<QueuedPod>(backoffLess);
  private readonly entries = new Map<string, Entry>();
  private counts: Record<Where, number> = { active: 0, backoff: 0, unschedulable: 0, inflight: 0 };
  private waiters: ((qp: QueuedPod | undefined) => void)[] = [];
  private seq = 0;
  private closed = false;
  /** Incremented by each pop. */
  schedulingCycle = 0;
  private moveRequestCycle = -1;

  constructor(opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
  }

  /** Sizes of the sub-queues. */
  stats(): QueueStats {
    return { ...this.counts };
  }

  /** Where a pod is, if queued. */
  where(key: string): Where | undefined {
    return this.entries.get(key)?.where;
  }

  /** A new pending pod: into activeQ unless already known. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.entries.has(key)) {
      this.update(pod);
      return;
    }
    const qp: QueuedPod = { info: podInfoOf(pod), attempts: 0, backoffUntil: 0, parkedAt: 0, seq: this.seq++ };
    this.toActive(key, qp);
  }

  /**
   * A newer version of a queued pod. An unschedulable pod whose spec changed
   * (tolerations added, selector relaxed …) gets another attempt at once.
   * A pod being scheduled right now keeps its in-flight version.
   */
  update(pod: Pod): void {
    const key = podKey(pod);
    const e = this.entries.get(key);
    if (e === undefined) {
      this.add(pod);
      return;
    }
    if (e.where === 'inflight') {
      e.latest = pod;
      return;
    }
    const specChanged = JSON.stringify(e.qp.info.pod.spec) !== JSON.stringify(pod.spec);
    const qp: QueuedPod = { ...e.qp, info: podInfoOf(pod), seq: this.seq++ };
    if (e.where === 'active' || (e.where === 'unschedulable' && specChanged)) this.toActive(key, qp, e);
    else if (e.where === 'backoff') this.toBackoff(key, qp, e);
    else this.set(key, qp, 'unschedulable', e);
  }

  /** Forgets a pod (deleted, bound, or no longer ours). */
  delete(podOrKey: Pod | string): void {
    const key = typeof podOrKey === 'string' ? podOrKey : podKey(podOrKey);
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.counts[e.where]--;
    this.entries.delete(key);
  }

  /** The next pod to schedule without waiting, or undefined when activeQ is empty. */
  tryPop(): QueuedPod | undefined {
    for (;;) {
      const qp = this.active.pop();
      if (qp === undefined) return undefined;
      const key = qp.info.key;
      const e = this.entries.get(key);
      if (e === undefined || e.qp !== qp || e.where !== 'active') continue;
      qp.attempts++;
      this.schedulingCycle++;
      this.set(key, qp, 'inflight', e);
      return qp;
    }
  }

  /** The next pod to schedule, waiting for one; undefined once closed. */
  pop(): Promise<QueuedPod | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const qp = this.tryPop();
    if (qp !== undefined) return Promise.resolve(qp);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * A pod no node fits, after the attempt that began in `podCycle`. Parked
   * until the cluster changes, or backed off if it already has since then.
   */
  addUnschedulable(qp: QueuedPod, podCycle: number): void {
    const key = qp.info.key;
    const e = this.entries.get(key);
    if (e === undefined || e.qp !== qp || e.where !== 'inflight') return; // deleted or bound meanwhile
    qp.backoffUntil = this.now() + this.backoffDuration(qp.attempts);
    if (this.takeLatest(e) || this.moveRequestCycle >= podCycle) {
      this.toBackoff(key, qp, e);
    } else {
      qp.parkedAt = this.now();
      this.set(key, qp, 'unschedulable', e);
    }
  }

  /** A pod whose attempt failed for another reason (a binding error): retried after its backoff. */
  addBackoff(qp: QueuedPod): void {
    const key = qp.info.key;
    const e = this.entries.get(key);
    if (e === undefined || e.qp !== qp || e.where !== 'inflight') return;
    qp.backoffUntil = this.now() + this.backoffDuration(qp.attempts);
    this.takeLatest(e);
    this.toBackoff(key, qp, e);
  }

  /** Applies an update that arrived in flight; true when it changed the spec. */
  private takeLatest(e: Entry): boolean {
    if (e.latest === undefined) return false;
    const specChanged = JSON.stringify(e.qp.info.pod.spec) !== JSON.stringify(e.latest.spec);
    e.qp.info = podInfoOf(e.latest);
    e.latest = undefined;
    return specChanged;
  }

  /** Ends a pod's in-flight state once it is bound. */
  done(key: string): void {
    const e = this.entries.get(key);
    if (e?.where === 'inflight') this.delete(key);
  }

  /**
   * The cluster changed (a node added or made more welcoming, a pod gone):
   * every unschedulable pod goes to activeQ, or to backoffQ while backing off.
   */
  moveAllToActiveOrBackoff(): void {
    this.moveRequestCycle = this.schedulingCycle;
    const now = this.now();
    for (const [key, e] of this.entries) {
      if (e.where !== 'unschedulable') continue;
      if (e.qp.backoffUntil > now) this.toBackoff(key, e.qp, e);
      else this.toActive(key, e.qp, e);
    }
  }

  /** Moves pods whose backoff ended to activeQ, and pods parked too long back into play. Call periodically. */
  flush(): void {
    const now = this.now();
    for (;;) {
      const qp = this.backoff.peek();
      if (qp === undefined || qp.backoffUntil > now) break;
      this.backoff.pop();
      const e = this.entries.get(qp.info.key);
      if (e === undefined || e.qp !== qp || e.where !== 'backoff') continue;
      this.toActive(qp.info.key, qp, e);
    }
    if (this.counts.unschedulable === 0) return;
    for (const [key, e] of this.entries) {
      if (e.where === 'unschedulable' && now - e.qp.parkedAt >= this.maxUnschedulableMs) {
        if (e.qp.backoffUntil > now) this.toBackoff(key, e.qp, e);
        else this.toActive(key, e.qp, e);
      }
    }
  }

  /** Wakes every waiting pop with undefined; later pops return undefined at once. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** kube-scheduler's backoff: initial × 2^(attempts−1), at most the maximum. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts && d < this.maxBackoffMs; i++) d *= 2;
    return Math.min(d, this.maxBackoffMs);
  }

  private set(key: string, qp: QueuedPod, where: Where, prev?: Entry): void {
    if (prev !== undefined) this.counts[prev.where]--;
    this.entries.set(key, { qp, where });
    this.counts[where]++;
  }

  private toActive(key: string, qp: QueuedPod, prev?: Entry): void {
    this.set(key, qp, 'active', prev);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      // Hand the pod straight to the waiting pop (it is the only active one).
      this.active.push(qp);
      waiter(this.tryPop());
    } else {
      this.active.push(qp);
    }
  }

  private toBackoff(key: string, qp: QueuedPod, prev?: Entry): void {
    this.set(key, qp, 'backoff', prev);
    this.backoff.push(qp);
  }
}
