/**
 * A rate-limited work queue as in client-go: keys are deduplicated while
 * queued, a key being processed is never handed to a second worker (if it
 * is added meanwhile it comes back after `done`), delayed adds, and
 * per-key exponential backoff for retries.
 */

/** Decides how long a key waits before its next retry. */
export interface RateLimiter<K> {
  /** The delay for this retry of `key` (and counts it). */
  when(key: K): number;
  /** Forgets the key's failures. */
  forget(key: K): void;
  /** Retries counted for the key since the last forget. */
  retries(key: K): number;
}

/** base·2^n per key, capped at max (client-go: 5 ms … 1000 s). */
export class ExponentialRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface WorkQueueOptions<K> {
  rateLimiter?: RateLimiter<K>;
}

/** The queue itself; keys are compared with Map semantics (strings in practice). */
export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private head = 0;
  /** Keys waiting to be processed (queued, or re-added while processing). */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly limiter: RateLimiter<K>;
  private shutdown = false;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.limiter = opts.rateLimiter ?? new ExponentialRateLimiter<K>();
  }

  /** Queues the key unless it is already waiting. */
  add(key: K): void {
    if (this.shutdown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // comes back in done()
    this.push(key);
  }

  /** Queues the key after `ms`; of several pending delays for one key the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.shutdown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const prev = this.delayed.get(key);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Queues the key after its backoff delay (grows with each call until forget). */
  addRateLimited(key: K): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the key's backoff (call after a successful sync). */
  forget(key: K): void {
    this.limiter.forget(key);
  }

  /** Retries counted for the key. */
  numRequeues(key: K): number {
    return this.limiter.retries(key);
  }

  /** The next key to process, waiting for one; undefined once shut down. Call done(key) after. */
  get(): Promise<K | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.shutdown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks the key processed; if it was added meanwhile it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shutdown) this.push(key);
  }

  /** Stops handing out keys: waiting and future get() calls resolve to undefined. */
  shutDown(): void {
    this.shutdown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** True after shutDown(). */
  shuttingDown(): boolean {
    return this.shutdown;
  }

  /** Keys queued and not yet handed out. */
  len(): number {
    return this.queue.length - this.head;
  }

  private push(key: K): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  private take(): K {
    const key = this.queue[this.head];
    this.head++;
    // Drop consumed slots now and then rather than shift() on every get (O(n) each).
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}

export interface RunWorkersOptions<K> {
  /** Called with each failed sync (default: console.warn). */
  onError?: (key: K, e: unknown) => void;
  /** Give up on a key after this many retries (default: never). */
  maxRetries?: number;
}

/**
 * Runs `n` workers that take keys and call `sync`; a failure re-queues the
 * key with backoff, a success forgets its backoff. Resolves once the queue
 * is shut down and every worker has finished its current key.
 */
export async function runWorkers<K>(queue: WorkQueue<K>, n: number, sync: (key: K) => Promise<void>, opts: RunWorkersOptions<K> = {}): Promise<void> {
  const onError = opts.onError ?? ((key: K, e: unknown) => console.warn(`orch workqueue: sync ${String(key)} failed:`, e instanceof Error ? e.message : e));
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (e) {
        onError(key, e);
        if (opts.maxRetries !== undefined && queue.numRequeues(key) >= opts.maxRetries) queue.forget(key);
        else queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, () => worker()));
}
