/**
 * Per-key exponential back-off as the kubelet's flowcontrol.Backoff: the
 * first restart is immediate, then 10 s, 20 s, … up to 300 s; an entry not
 * bumped for twice the maximum (10 min by default) starts over.
 */

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** An entry idle (no restart) for longer than this is forgotten (default 2 × maxMs). */
  resetMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 10_000, maxMs: 300_000 } as const;

interface Entry {
  delayMs: number;
  lastUpdateMs: number;
}

/** Back-off delays keyed by string (container: pod uid + name + spec hash; image: pod uid + image). */
export class Backoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.resetMs = opts.resetMs ?? 2 * this.maxMs;
  }

  /** The current delay of `key` (0 when none). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Milliseconds left before `key` may be retried, counting from `eventMs` (e.g. when the container died); 0 = go. */
  remaining(key: string, eventMs: number, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e || eventMs - e.lastUpdateMs > this.resetMs) return 0;
    return Math.max(0, eventMs + e.delayMs - nowMs);
  }

  /** Milliseconds left counting from the last retry (image pulls); 0 = go. */
  remainingSinceUpdate(key: string, nowMs: number): number {
    const e = this.entries.get(key);
    if (!e || nowMs - e.lastUpdateMs > this.resetMs) return 0;
    return Math.max(0, e.lastUpdateMs + e.delayMs - nowMs);
  }

  /** Records a retry now: the first one sets the initial delay, later ones double it up to the maximum. */
  next(key: string, nowMs: number): number {
    const e = this.entries.get(key);
    const delayMs = !e || nowMs - e.lastUpdateMs > this.resetMs ? this.initialMs : Math.min(e.delayMs * 2, this.maxMs);
    this.entries.set(key, { delayMs, lastUpdateMs: nowMs });
    return delayMs;
  }

  /** Forgets one key. */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a pod's uid). */
  resetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /** Drops entries idle for longer than resetMs. */
  gc(nowMs: number): void {
    for (const [k, e] of this.entries) if (nowMs - e.lastUpdateMs > this.resetMs) this.entries.delete(k);
  }
}
