/**
 * A small event recorder in the manner of client-go's: core/v1 Events for
 * what a component did, repeats of the same (object, type, reason, message)
 * folded into one Event by PATCHing count/lastTimestamp, and a per-object
 * token bucket so a hot loop cannot flood the API.
 */
import type { Event, ObjectReference } from 'kubernetes-types/core/v1.js';
import type { Client, ObjectLike } from './client.js';
import { isNotFound } from './errors.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component / reportingComponent, e.g. 'deployment-controller'. */
  component: string;
  /** source.host / reportingInstance. */
  host?: string;
  now?: () => Date;
  /** Repeats within this window are folded into one Event (default 10 min). */
  aggregateWindowMs?: number;
  /** Events an object may burst (default 25, as client-go). */
  burst?: number;
  /** One more event allowed per object every this long once the burst is spent (default 5 min, as client-go). */
  refillIntervalMs?: number;
  /** Events written concurrently beyond this are dropped (default 1000). */
  maxPending?: number;
  /** Distinct repeat keys remembered (default 4096). */
  cacheSize?: number;
  /** Where write failures go (default: console.warn). */
  onError?: (e: unknown) => void;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastMs: number;
  /** Serialises writes of one repeat key, so counts do not race. */
  chain: Promise<void>;
}

interface Bucket {
  tokens: number;
  lastRefillMs: number;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Records Events about objects; failures are reported to onError, never thrown. */
export class EventRecorder {
  private readonly now: () => Date;
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly pending = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly client: Client,
    private readonly opts: EventRecorderOptions,
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /** Records an event about `obj` (written in the background; see flush()). */
  event(obj: ObjectLike, type: EventType, reason: string, message: string): void {
    const ref = referenceOf(obj);
    const objKey = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}/${ref.uid ?? ''}`;
    const nowD = this.now();
    const nowMs = nowD.getTime();
    if (!this.take(objKey, nowMs)) return;
    if (this.pending.size >= (this.opts.maxPending ?? 1000)) return;

    const key = `${objKey}\u0000${type}\u0000${reason}\u0000${message}`;
    const window = this.opts.aggregateWindowMs ?? 10 * 60_000;
    const prev = this.seen.get(key);
    let entry: Seen;
    if (prev && nowMs - prev.lastMs <= window) {
      entry = prev;
      entry.count++;
      entry.lastMs = nowMs;
      this.seen.delete(key); // re-insert: Map order is the LRU order
    } else {
      // As client-go: name.<hex nanoseconds>; the sub-millisecond part keeps recorders of one process apart.
      const nanos = BigInt(nowMs) * 1_000_000n + BigInt((this.seq++ * 7919 + Math.floor(Math.random() * 1_000_000)) % 1_000_000);
      const name = `${ref.name}.${nanos.toString(16)}`;
      entry = { namespace: ref.namespace || 'default', name, count: 1, firstTimestamp: timestamp(nowD), lastMs: nowMs, chain: Promise.resolve() };
    }
    this.seen.set(key, entry);
    this.trimCache();

    const count = entry.count;
    const last = timestamp(nowD);
    const write = async (): Promise<void> => {
      const events = this.client.resource('events').namespace(entry.namespace);
      if (count > 1) {
        try {
          await events.patch(entry.name, 'merge', { count, lastTimestamp: last });
          return;
        } catch (e) {
          if (!isNotFound(e)) throw e;
          // The Event expired or was deleted: write it anew below.
        }
      }
      const ev: Event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: entry.name, namespace: entry.namespace },
        involvedObject: ref,
        reason,
        message,
        type,
        count,
        firstTimestamp: entry.firstTimestamp,
        lastTimestamp: last,
        source: this.opts.host ? { component: this.opts.component, host: this.opts.host } : { component: this.opts.component },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.host ?? '',
      };
      await events.create(ev);
    };
    const p = entry.chain.then(write).catch((e: unknown) => (this.opts.onError ?? defaultOnError)(e));
    entry.chain = p;
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
  }

  /** Waits until every event recorded so far is written (or failed). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Takes a token from the object's bucket; false when it is empty. */
  private take(objKey: string, nowMs: number): boolean {
    const burst = this.opts.burst ?? 25;
    const interval = this.opts.refillIntervalMs ?? 5 * 60_000;
    let b = this.buckets.get(objKey);
    if (!b) {
      b = { tokens: burst, lastRefillMs: nowMs };
      this.buckets.set(objKey, b);
      if (this.buckets.size > (this.opts.cacheSize ?? 4096)) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    const refill = Math.floor((nowMs - b.lastRefillMs) / interval);
    if (refill > 0) {
      b.tokens = Math.min(burst, b.tokens + refill);
      b.lastRefillMs += refill * interval;
    }
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  private trimCache(): void {
    const max = this.opts.cacheSize ?? 4096;
    while (this.seen.size > max) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }
}

function defaultOnError(e: unknown): void {
  console.warn('orch event recorder:', e instanceof Error ? e.message : e);
}

/** An ObjectReference to `obj` for involvedObject. */
export function referenceOf(obj: ObjectLike): ObjectReference {
  const m = obj.metadata ?? {};
  const ref: ObjectReference = { kind: obj.kind, apiVersion: obj.apiVersion, name: m.name };
  if (m.namespace) ref.namespace = m.namespace;
  if (m.uid) ref.uid = m.uid;
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}
