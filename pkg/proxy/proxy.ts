/**
 * The Service proxy of an agent: keeps our nftables table in step with the
 * Service and Endpoints informers. One full sync at start (the table dropped
 * and recreated in one transaction), then partial transactions that touch
 * only the Services that changed. Changes are coalesced: events mark
 * Services dirty and one sync, started on the next turn of the event loop,
 * applies all of them; events during a sync wait for the next one. A failed
 * transaction leaves the kernel as it was (nft transactions are atomic), so
 * we fall back to a full sync, retried with backoff.
 */
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { EventHandlers } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import { nftRunner, type NftRunner } from './nft.js';
import {
  buildServiceRules,
  renderDelete,
  renderFull,
  renderPartial,
  type RuleOptions,
  type ServiceChange,
  type ServiceRules,
} from './rules.js';

/** What the proxy needs of an informer (a pkg/client Informer satisfies it). */
export interface ProxySource<T> {
  addEventHandler(h: EventHandlers<T>): () => void;
  get(key: string): T | undefined;
  list(): T[];
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface ProxyOptions extends RuleOptions {
  services: ProxySource<Service>;
  endpoints: ProxySource<Endpoints>;
  /** Applies one transaction; default `nft -f -` (see nftRunner, which also runs inside a netns). */
  runNft?: NftRunner;
  /** Least time between the starts of two syncs (default 0: a sync starts as soon as the previous ends). */
  minSyncIntervalMs?: number;
  /** How long a chain no longer used stays (flushed) before it is deleted (default 1000 ms, see renderPartial). */
  staleChainDelayMs?: number;
  /** Retry delay after a failed sync, doubling up to 30 s (default 500 ms). */
  retryInitialMs?: number;
  log?: (msg: string) => void;
}

export interface ProxyStats {
  fullSyncs: number;
  partialSyncs: number;
  failedSyncs: number;
  /** Services in the table (skipped ones excluded). */
  services: number;
  /** The last script applied (debugging, tests). */
  lastScript: string;
}

export interface Proxy {
  readonly stats: ProxyStats;
  /** Resolves once every change seen so far is in the kernel (rejects if the proxy is stopped first). */
  flush(): Promise<void>;
  /** Stops following the informers; removes our table unless keepRules (an agent restart keeps traffic flowing). */
  stop(opts?: { keepRules?: boolean }): Promise<void>;
  /** Removes our table (clean uninstall). */
  cleanup(): Promise<void>;
}

/** Removes our table if it exists: the uninstall step, usable without a running proxy. */
export async function cleanupProxyRules(runNft: NftRunner = nftRunner()): Promise<void> {
  await runNft(renderDelete());
}

/** Starts the proxy: waits for both informers' first list, applies a full sync, then follows changes. */
export async function startProxy(opts: ProxyOptions): Promise<Proxy> {
  const runNft = opts.runNft ?? nftRunner();
  const log = opts.log ?? ((m: string) => console.log(`proxy: ${m}`));
  const minInterval = opts.minSyncIntervalMs ?? 0;
  const staleDelay = opts.staleChainDelayMs ?? 1000;
  const retryInitial = opts.retryInitialMs ?? 500;
  const ruleOpts: RuleOptions = { nodeIPs: opts.nodeIPs, clusterCIDR: opts.clusterCIDR, masqueradeMark: opts.masqueradeMark };

  const installed = new Map<string, ServiceRules>();
  /** Flushed chains → when they became unused. */
  const stale = new Map<string, number>();
  const dirty = new Set<string>();
  let needFull = true;
  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = 0;
  let retryMs = retryInitial;
  /** The sync in progress, if any: stop() waits for it so a late transaction cannot recreate the table. */
  let current: Promise<void> = Promise.resolve();
  let waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const stats: ProxyStats = { fullSyncs: 0, partialSyncs: 0, failedSyncs: 0, services: 0, lastScript: '' };

  const rulesFor = (key: string): ServiceRules | undefined => {
    const svc = opts.services.get(key);
    if (!svc) return undefined;
    const r = buildServiceRules(svc, opts.endpoints.get(key), ruleOpts);
    return r.chains.size === 0 && r.elements.length === 0 ? undefined : r;
  };

  const settle = (): void => {
    if (dirty.size > 0 || needFull || running) return;
    const w = waiters;
    waiters = [];
    for (const x of w) x.resolve();
  };

  let timerDue = 0;
  /** Arms the sync timer; an earlier due time replaces a later one (a change must not wait for stale-chain cleanup). */
  const schedule = (delayMs?: number): void => {
    if (stopped || running) return;
    const wait = delayMs ?? Math.max(0, lastStart + minInterval - Date.now());
    const due = Date.now() + wait;
    if (timer) {
      if (due >= timerDue) return;
      clearTimeout(timer);
    }
    timerDue = due;
    timer = setTimeout(() => {
      timer = undefined;
      current = sync();
    }, wait);
  };

  const fullSync = async (): Promise<void> => {
    dirty.clear();
    const next = new Map<string, ServiceRules>();
    for (const svc of opts.services.list()) {
      const key = keyOf(svc);
      const r = rulesFor(key);
      if (r) next.set(key, r);
    }
    const script = renderFull(next.values(), ruleOpts);
    await runNft(script);
    installed.clear();
    for (const [k, r] of next) installed.set(k, r);
    stale.clear();
    stats.fullSyncs++;
    stats.lastScript = script;
  };

  const partialSync = async (): Promise<void> => {
    const keys = [...dirty];
    dirty.clear();
    const changes: ServiceChange[] = [];
    const next = new Map<string, ServiceRules | undefined>();
    for (const key of keys) {
      const r = rulesFor(key);
      next.set(key, r);
      changes.push({ old: installed.get(key), new: r });
    }
    const now = Date.now();
    const revived = new Set<string>();
    for (const r of next.values()) for (const c of r?.chains.keys() ?? []) if (stale.has(c)) revived.add(c);
    const deletable = [...stale].filter(([c, t]) => now - t >= staleDelay && !revived.has(c)).map(([c]) => c);
    const { script, staleChains } = renderPartial(changes, deletable);
    if (script === '') return;
    try {
      await runNft(script);
    } catch (e) {
      // Put the keys back so a failure cannot lose a change, whatever fixes the table next.
      for (const k of keys) dirty.add(k);
      throw e;
    }
    for (const [k, r] of next) {
      if (r) installed.set(k, r);
      else installed.delete(k);
    }
    for (const c of deletable) stale.delete(c);
    for (const c of revived) stale.delete(c);
    for (const c of staleChains) stale.set(c, now);
    stats.partialSyncs++;
    stats.lastScript = script;
  };

  const sync = async (): Promise<void> => {
    if (stopped) return;
    running = true;
    lastStart = Date.now();
    let failed = false;
    try {
      if (needFull) {
        needFull = false;
        try {
          await fullSync();
        } catch (e) {
          needFull = true;
          throw e;
        }
      } else {
        try {
          await partialSync();
        } catch (e) {
          needFull = true;
          throw e;
        }
      }
      retryMs = retryInitial;
      stats.services = installed.size;
    } catch (e) {
      failed = true;
      stats.failedSyncs++;
      log(`sync failed, full resync in ${retryMs} ms: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      running = false;
    }
    if (stopped) return;
    if (failed) {
      schedule(retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    } else if (dirty.size > 0 || needFull) {
      schedule();
    } else if (stale.size > 0) {
      // Come back to delete the chains that became unused.
      const oldest = Math.min(...stale.values());
      schedule(Math.max(0, oldest + staleDelay - Date.now()));
    }
    settle();
  };

  const touch = (key: string): void => {
    dirty.add(key);
    schedule();
  };
  const handlers = <T extends Service | Endpoints>(): EventHandlers<T> => ({
    onAdd: (o) => touch(keyOf(o)),
    onUpdate: (_old, o) => touch(keyOf(o)),
    onDelete: (o) => touch(keyOf(o)),
  });

  // Handlers first, so nothing that happens between the sync and the
  // subscription is missed; the first sync is a full one anyway.
  running = true;
  const unsubscribe = [opts.services.addEventHandler(handlers<Service>()), opts.endpoints.addEventHandler(handlers<Endpoints>())];
  await Promise.all([opts.services.waitForSync(), opts.endpoints.waitForSync()]);
  running = false;
  current = sync();
  await current;
  if (needFull) log('initial sync failed; retrying in the background');

  const stopFollowing = async (): Promise<void> => {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const u of unsubscribe) u();
    const w = waiters;
    waiters = [];
    for (const x of w) x.reject(new Error('orch proxy: stopped'));
    await current; // sync() never rejects: it logs and schedules a retry
  };

  return {
    stats,
    flush: () =>
      new Promise<void>((resolve, reject) => {
        if (stopped) return reject(new Error('orch proxy: stopped'));
        waiters.push({ resolve, reject });
        settle();
      }),
    async stop(o = {}) {
      await stopFollowing();
      if (!o.keepRules) await runNft(renderDelete());
    },
    async cleanup() {
      await stopFollowing();
      await runNft(renderDelete());
    },
  };
}
