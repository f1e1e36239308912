/**
 * Informers: list once, then watch from the list's resourceVersion into an
 * in-memory cache with indexes, calling handlers on every change. A watch
 * that ends resumes from the last version seen (bookmarks count); one that
 * is too old (410) re-lists and delivers the difference. A factory hands
 * every controller the same informer per kind, so there is one cache and
 * one watch per kind in the process.
 */
import type { Client, KindMap, ObjectLike, ResourceClient, WatchEvent } from './client.js';
import { ApiStatusError, isExpired } from './errors.js';

export type IndexFunc<T> = (obj: T) => string[];

export interface EventHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** Gets the last state seen (for deletes noticed by a re-list, the state before the gap). */
  onDelete?(obj: T): void;
}

/** Which objects an informer holds. */
export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerOptions extends InformerScope {
  /** List page size (default 500). */
  pageSize?: number;
  /** Each watch asks the server to end it after between this and twice this (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Retry delay after a failed list or watch, doubling up to backoffMaxMs (defaults 200 ms, 30 s). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Where list/watch/handler failures are reported (default: console.warn). */
  onError?: (e: unknown) => void;
  /**
   * Applied to every object before it is cached (client-go's
   * SetTransform), e.g. stripManagedFields: what no handler reads need not
   * be held for every object of the cluster.
   */
  transform?: <U extends ObjectLike>(obj: U) => U;
}

/** A transform that drops metadata.managedFields, as kube-scheduler and kube-controller-manager do for their caches. */
export function stripManagedFields<U extends ObjectLike>(obj: U): U {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

export interface InformerStats {
  /** Complete lists done (the first one and every re-list). */
  lists: number;
  /** Watches opened. */
  watches: number;
  /** 410 answers seen (each leads to a re-list). */
  expired: number;
}

/** The cache key of an object: 'namespace/name', or 'name' when cluster-scoped. */
export function keyOf(obj: ObjectLike): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

/** Splits a key made by keyOf. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const NAMESPACE_INDEX = 'namespace';

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A list+watch cache of one kind (optionally one namespace or selector). */
export class Informer<T extends ObjectLike> {
  private readonly cache = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private readonly handlers = new Set<EventHandlers<T>>();
  private readonly abort = new AbortController();
  private readonly syncWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly rc: ResourceClient<T>;
  private running: Promise<void> | undefined;
  private synced = false;
  private stopped = false;
  private rv = '';
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0 };

  constructor(
    rc: ResourceClient<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.rc = rc.namespace(opts.namespace);
    this.addIndexer(NAMESPACE_INDEX, (o) => [o.metadata?.namespace ?? '']);
  }

  /** Registers handlers; objects already cached are delivered to onAdd at once. Returns an unsubscribe. */
  addEventHandler(h: EventHandlers<T>): () => void {
    this.handlers.add(h);
    if (h.onAdd) for (const o of this.cache.values()) this.call(() => h.onAdd?.(o));
    return () => this.handlers.delete(h);
  }

  /** Adds an index, e.g. pods by spec.nodeName; existing objects are indexed at once. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) throw new Error(`orch informer: indexer ${JSON.stringify(name)} already exists`);
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, o] of this.cache) this.indexOne(name, fn, key, o);
  }

  /** The cached object with this key (see keyOf). Treat it as read-only: it is shared. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** The cached object by namespace and name. */
  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** Every cached key. */
  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** How many objects are cached. */
  get size(): number {
    return this.cache.size;
  }

  /** Objects whose index `name` yields `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`orch informer: no indexer ${JSON.stringify(name)}`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.cache.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Objects of one namespace. */
  byNamespace(namespace: string): T[] {
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /** The resourceVersion the cache is current to. */
  get resourceVersion(): string {
    return this.rv;
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache; rejects if stopped before, or when `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('orch informer: stopped before sync'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new Error('orch informer: waitForSync aborted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push({
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
    });
  }

  /** Starts listing and watching; idempotent. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.run();
  }

  /** True once start() was called. */
  isStarted(): boolean {
    return this.running !== undefined;
  }

  /** Ends the watch and waits for the loop to finish; the cache stays readable. An informer does not restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
    for (const w of this.syncWaiters.splice(0)) w.reject(new Error('orch informer: stopped before sync'));
  }

  private report(e: unknown): void {
    (this.opts.onError ?? ((x: unknown) => console.warn(`orch informer ${this.rc.resource.plural}:`, x instanceof Error ? x.message : x)))(e);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.report(e);
    }
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoffInitialMs ?? 200;
    const max = this.opts.backoffMaxMs ?? 30_000;
    let backoff = initial;
    let needList = true;
    const signal = this.abort.signal;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const { expired, events } = await this.watchOnce();
        if (expired) {
          needList = true;
          continue;
        }
        // A watch that ends at once without news is a failing server, not a timeout: back off.
        if (events === 0) {
          await abortableSleep(backoff, signal);
          backoff = Math.min(backoff * 2, max);
        } else {
          backoff = initial;
        }
      } catch (e) {
        if (this.stopped) break;
        if (isExpired(e)) {
          this.stats.expired++;
          needList = true;
          continue;
        }
        this.report(e);
        await abortableSleep(backoff, signal);
        backoff = Math.min(backoff * 2, max);
      }
    }
  }

  /** Lists everything and turns the difference to the cache into handler calls. */
  private async relist(): Promise<void> {
    const list = await this.rc.listAll({
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      pageSize: this.opts.pageSize ?? 500,
      signal: this.abort.signal,
    });
    if (this.stopped) return;
    this.stats.lists++;
    const fresh = new Set<string>();
    for (const item of list.items) {
      const o = this.transformed(item);
      const key = keyOf(o);
      fresh.add(key);
      const old = this.cache.get(key);
      if (old && old.metadata?.resourceVersion === o.metadata?.resourceVersion) continue;
      this.upsert(key, o, old);
    }
    for (const [key, old] of [...this.cache]) if (!fresh.has(key)) this.remove(key, old);
    this.rv = list.metadata.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w.resolve();
    }
  }

  private async watchOnce(): Promise<{ expired: boolean; events: number }> {
    const min = this.opts.watchTimeoutSeconds ?? 300;
    const w = await this.rc.watch({
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(min + Math.random() * min),
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      signal: this.abort.signal,
    });
    this.stats.watches++;
    let events = 0;
    for await (const ev of w) {
      events++;
      if (ev.type === 'ERROR') {
        if (isExpired(new ApiStatusError(ev.object))) {
          this.stats.expired++;
          return { expired: true, events };
        }
        throw new ApiStatusError(ev.object);
      }
      this.apply(ev);
    }
    return { expired: false, events };
  }

  private apply(ev: Exclude<WatchEvent<T>, { type: 'ERROR' }>): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (ev.type !== 'BOOKMARK') {
      const key = keyOf(ev.object);
      const old = this.cache.get(key);
      if (ev.type === 'DELETED') {
        if (old) this.remove(key, this.transformed(ev.object));
      } else {
        this.upsert(key, this.transformed(ev.object), old);
      }
    }
    if (rv) this.rv = rv;
  }

  private transformed(obj: T): T {
    const t = this.opts.transform;
    if (t === undefined) return obj;
    return t(obj);
  }

  private upsert(key: string, obj: T, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.cache.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
    for (const h of [...this.handlers]) {
      if (old) this.call(() => h.onUpdate?.(old, obj));
      else this.call(() => h.onAdd?.(obj));
    }
  }

  private remove(key: string, last: T): void {
    const cached = this.cache.get(key);
    if (cached) this.unindex(key, cached);
    this.cache.delete(key);
    for (const h of [...this.handlers]) this.call(() => h.onDelete?.(last));
  }

  private indexOne(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const index = this.indices.get(name);
    if (!index) return;
    let values: string[];
    try {
      values = fn(obj);
    } catch (e) {
      this.report(e);
      return;
    }
    for (const v of values) {
      let keys = index.get(v);
      if (!keys) index.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name);
      if (!index) continue;
      let values: string[];
      try {
        values = fn(obj);
      } catch {
        continue;
      }
      for (const v of values) {
        const keys = index.get(v);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(v);
      }
    }
  }
}

/** One informer per (kind, scope) for everyone in the process. */
export class SharedInformerFactory {
  // Informers of different kinds live in one map; the key's kind fixes each one's T.
  private readonly informers = new Map<string, Informer<ObjectLike>>();
  private started = false;

  constructor(
    private readonly client: Client,
    private readonly defaults: Omit<InformerOptions, keyof InformerScope> = {},
  ) {}

  /** The shared informer for a kind ('pods', 'deployments.apps') and scope; started at once if the factory is. */
  informerFor<K extends keyof KindMap>(key: K, scope?: InformerScope): Informer<KindMap[K]>;
  informerFor<T extends ObjectLike>(key: string, scope?: InformerScope): Informer<T>;
  informerFor<T extends ObjectLike>(key: string, scope: InformerScope = {}): Informer<T> {
    const rc = this.client.resource<T>(key);
    const id = [rc.resource.group, rc.resource.plural, scope.namespace ?? '', scope.labelSelector ?? '', scope.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new Informer<ObjectLike>(this.client.resource<ObjectLike>(rc.resource), { ...this.defaults, ...scope });
      this.informers.set(id, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Starts every informer made so far (and, from now on, each new one). */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Waits until every started informer has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].filter((i) => i.isStarted()).map((i) => i.waitForSync(signal)));
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
