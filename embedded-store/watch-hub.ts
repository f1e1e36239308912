/**
 * Watch fan-out shared by the backends. A backend registers a watcher with
 * its replayed history in the same synchronous step as it reads that history
 * (so no commit can slip between them) and publishes each commit's events in
 * revision order. Every watcher has its own queue drained on a microtask, so
 * delivery never runs inside a backend's commit path and a throwing callback
 * only affects itself.
 */
import { keyHasPrefix } from './keys.js';
import type { WatchEvent, Watcher } from './types.js';

/** Receives errors thrown by watch callbacks. */
export type ListenerErrorHandler = (error: unknown) => void;

interface Subscription {
  prefix: string;
  onEvent: (event: WatchEvent) => void;
  queue: WatchEvent[];
  draining: boolean;
  closed: boolean;
}

// A callback's failure is the watcher owner's bug; report it without letting
// it reach the writer whose commit produced the event.
const warnListenerError: ListenerErrorHandler = (error) => {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`store watch callback threw: ${message}`, 'StoreWatchWarning');
};

/** Prefix-filtered, ordered, error-isolated delivery of store events. */
export class WatchHub {
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly onListenerError: ListenerErrorHandler = warnListenerError) {}

  /** Register a watcher; `replay` (already in revision order) is delivered before any later publish. */
  subscribe(prefix: string, replay: readonly WatchEvent[], onEvent: (event: WatchEvent) => void): Watcher {
    const sub: Subscription = { prefix, onEvent, queue: [], draining: false, closed: false };
    this.subscriptions.add(sub);
    this.enqueue(sub, replay.filter((e) => keyHasPrefix(e.kv.key, prefix)));
    return {
      close: () => {
        sub.closed = true;
        sub.queue = [];
        this.subscriptions.delete(sub);
      },
    };
  }

  /** Fan out one commit's events (in revision order) to matching watchers. */
  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    for (const sub of this.subscriptions) {
      this.enqueue(sub, events.filter((e) => keyHasPrefix(e.kv.key, sub.prefix)));
    }
  }

  /** Number of open watchers. */
  size(): number {
    return this.subscriptions.size;
  }

  /** Stop every watcher (backend close). */
  closeAll(): void {
    for (const sub of this.subscriptions) {
      sub.closed = true;
      sub.queue = [];
    }
    this.subscriptions.clear();
  }

  private enqueue(sub: Subscription, events: readonly WatchEvent[]): void {
    if (events.length === 0 || sub.closed) return;
    for (const e of events) sub.queue.push(e);
    if (sub.draining) return;
    sub.draining = true;
    queueMicrotask(() => this.drain(sub));
  }

  private drain(sub: Subscription): void {
    // Take the queue as a whole: events published while we deliver (by a
    // callback that writes) land in a fresh queue and keep their order.
    while (!sub.closed && sub.queue.length > 0) {
      const batch = sub.queue;
      sub.queue = [];
      for (const event of batch) {
        if (sub.closed) break;
        try {
          sub.onEvent(event);
        } catch (error) {
          this.onListenerError(error);
        }
      }
    }
    sub.draining = false;
  }
}
