/**
 * The behaviour every Backend must show, run against each implementation by
 * its own test file (memory.test.ts, sqlite.test.ts).
 */
import t from 'tap';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  StoreClosedError,
} from '../../embedded-store/errors.js';
import type { Backend, WatchEvent, Watcher } from '../../embedded-store/types.js';

export interface FactoryOptions {
  onWatchCallbackError?: (error: unknown) => void;
}

/** Makes a fresh, empty backend; the suite closes it. */
export type BackendFactory = (options?: FactoryOptions) => Promise<Backend>;

interface Teardown {
  teardown: (fn: () => unknown) => void;
}

/** A watcher that records events and lets a test wait for a count of them. */
export interface Recorder {
  events: WatchEvent[];
  watcher: Watcher;
  waitFor: (n: number) => Promise<WatchEvent[]>;
}

/** Watch `prefix` after `afterRevision`, recording every event. */
export async function record(backend: Backend, prefix: string, afterRevision: number): Promise<Recorder> {
  const events: WatchEvent[] = [];
  let waiters: Array<{ n: number; resolve: (e: WatchEvent[]) => void }> = [];
  const watcher = await backend.watch({ prefix, afterRevision }, (e) => {
    events.push(e);
    const ready = waiters.filter((w) => events.length >= w.n);
    waiters = waiters.filter((w) => events.length < w.n);
    for (const w of ready) w.resolve(events.slice(0, w.n));
  });
  const waitFor = (n: number): Promise<WatchEvent[]> =>
    events.length >= n ? Promise.resolve(events.slice(0, n)) : new Promise((resolve) => waiters.push({ n, resolve }));
  return { events, watcher, waitFor };
}

/** The rejection reason of `p`, or a marker string when it resolved (tap's rejects() misreads Error subclasses). */
export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'resolved';
  } catch (error) {
    return error;
  }
}

/** Let queued deliveries run (watch callbacks are delivered on microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Register the conformance tests for one backend. */
export function runConformance(name: string, factory: BackendFactory): void {
  async function open(tt: Teardown, options?: FactoryOptions): Promise<Backend> {
    const backend = await factory(options);
    tt.teardown(() => backend.close());
    return backend;
  }

  t.test(`${name}: create and get`, async (t) => {
    const b = await open(t);
    t.equal(b.currentRevision(), 0);
    t.equal(await b.get('/a'), undefined, 'absent key');
    const a = await b.create('/a', 'one');
    t.same(a, { key: '/a', value: 'one', createRevision: a.modRevision, modRevision: a.modRevision });
    t.equal(b.currentRevision(), a.modRevision);
    t.same(await b.get('/a'), a);
    t.type(await caught(b.create('/a', 'again')), KeyExistsError);
    const c = await b.create('/c', 'x');
    t.ok(c.modRevision > a.modRevision, 'revisions increase across keys');
    t.equal(b.currentRevision(), c.modRevision);
  });

  t.test(`${name}: update is compare-and-swap`, async (t) => {
    const b = await open(t);
    const a = await b.create('/a', 'v1');
    const a2 = await b.update('/a', 'v2', a.modRevision);
    t.same(a2, { key: '/a', value: 'v2', createRevision: a.createRevision, modRevision: b.currentRevision() });
    t.ok(a2.modRevision > a.modRevision);
    const stale = await caught(b.update('/a', 'v3', a.modRevision));
    t.type(stale, ConflictError);
    if (stale instanceof ConflictError) {
      t.equal(stale.expectedRevision, a.modRevision);
      t.equal(stale.actualRevision, a2.modRevision);
    }
    t.type(await caught(b.update('/missing', 'x', 1)), KeyNotFoundError);
    t.equal((await b.get('/a'))?.value, 'v2', 'failed CAS changed nothing');
    t.equal((await b.get('/a', a.modRevision))?.value, 'v1', 'old revision still readable');
  });

  t.test(`${name}: delete, tombstones and re-create`, async (t) => {
    const b = await open(t);
    const a = await b.create('/a', 'v1');
    const a2 = await b.update('/a', 'v2', a.modRevision);
    t.type(await caught(b.delete('/a', a.modRevision)), ConflictError);
    const gone = await b.delete('/a', a2.modRevision);
    t.same(gone, { key: '/a', value: 'v2', createRevision: a.createRevision, modRevision: b.currentRevision() });
    t.equal(await b.get('/a'), undefined);
    t.equal((await b.get('/a', a2.modRevision))?.value, 'v2', 'readable before the tombstone');
    t.equal(await b.get('/a', gone.modRevision), undefined, 'absent at the tombstone');
    for (const write of [() => b.delete('/a'), () => b.delete('/a', gone.modRevision), () => b.update('/a', 'x', gone.modRevision)]) {
      t.type(await caught(write()), KeyNotFoundError);
    }
    const again = await b.create('/a', 'v3');
    t.equal(again.createRevision, again.modRevision, 're-create starts a new life');
    t.ok(again.modRevision > gone.modRevision);
    const unconditional = await b.delete('/a');
    t.equal(unconditional.value, 'v3');
    t.equal(unconditional.createRevision, again.createRevision);
  });

  t.test(`${name}: list and count`, async (t) => {
    const b = await open(t);
    for (const k of ['/p/c', '/p/a', '/p/b', '/pz', '/q/a', '/p/d']) await b.create(k, `${k}@1`);
    const all = await b.list('/p/');
    t.same(
      all.items.map((i) => i.key),
      ['/p/a', '/p/b', '/p/c', '/p/d'],
      'prefix match, sorted ascending',
    );
    t.equal(all.revision, b.currentRevision());
    t.equal(all.more, false);
    t.equal(all.remaining, 0);
    t.equal((await b.list('')).items.length, 6, 'empty prefix lists everything');
    t.equal(await b.count('/p/'), 4);
    t.equal(await b.count('/p'), 5);
    t.equal(await b.count('/none/'), 0);

    const cases: Array<{ limit: number; startAfter?: string; keys: string[]; more: boolean; remaining: number }> = [
      { limit: 2, keys: ['/p/a', '/p/b'], more: true, remaining: 2 },
      { limit: 2, startAfter: '/p/b', keys: ['/p/c', '/p/d'], more: false, remaining: 0 },
      { limit: 3, startAfter: '/p/a', keys: ['/p/b', '/p/c', '/p/d'], more: false, remaining: 0 },
      { limit: 1, startAfter: '/p/a', keys: ['/p/b'], more: true, remaining: 2 },
      { limit: 0, startAfter: '/p/c', keys: ['/p/d'], more: false, remaining: 0 },
      { limit: 5, startAfter: '/a', keys: ['/p/a', '/p/b', '/p/c', '/p/d'], more: false, remaining: 0 },
      { limit: 5, startAfter: '/p/d', keys: [], more: false, remaining: 0 },
    ];
    for (const c of cases) {
      const r = await b.list('/p/', { limit: c.limit, startAfter: c.startAfter });
      t.same(
        { keys: r.items.map((i) => i.key), more: r.more, remaining: r.remaining },
        { keys: c.keys, more: c.more, remaining: c.remaining },
        `limit ${c.limit} after ${c.startAfter ?? '-'}`,
      );
    }

    // Page through a snapshot while the store moves on: every page shows it.
    const snapshot = b.currentRevision();
    const first = await b.list('/p/', { limit: 2, revision: snapshot });
    const pa = await b.get('/p/a');
    const pc = await b.get('/p/c');
    if (!pa || !pc) throw new Error('keys vanished');
    await b.update('/p/c', '/p/c@2', pc.modRevision);
    await b.delete('/p/a');
    await b.create('/p/bb', 'new');
    const second = await b.list('/p/', { limit: 2, revision: snapshot, startAfter: first.items[1].key });
    t.same(
      [...first.items, ...second.items].map((i) => i.value),
      ['/p/a@1', '/p/b@1', '/p/c@1', '/p/d@1'],
      'old snapshot: old values and deleted keys',
    );
    t.equal(second.revision, snapshot);
    const now = await b.list('/p/');
    t.same(
      now.items.map((i) => i.value),
      ['/p/b@1', 'new', '/p/c@2', '/p/d@1'],
      'latest view',
    );
    t.equal(await b.count('/p/'), 4);
    t.same(
      (await b.list('/p/', { revision: pa.modRevision })).items.map((i) => i.key),
      ['/p/a', '/p/c'],
      'list at an early revision',
    );
  });

  t.test(`${name}: revisions outside the window`, async (t) => {
    const b = await open(t);
    const a = await b.create('/a', 'v1');
    const a2 = await b.update('/a', 'v2', a.modRevision);
    await b.update('/a', 'v3', a2.modRevision);
    await b.compact(a2.modRevision);
    t.equal(b.compactedRevision(), a2.modRevision);
    const future = b.currentRevision() + 1;
    const old = a.modRevision;
    const cases: Array<{ name: string; call: () => Promise<unknown>; error: typeof CompactedError | typeof FutureRevisionError }> = [
      { name: 'get old', call: () => b.get('/a', old), error: CompactedError },
      { name: 'list old', call: () => b.list('/', { revision: old }), error: CompactedError },
      { name: 'watch old', call: () => b.watch({ prefix: '/', afterRevision: old }, () => {}), error: CompactedError },
      { name: 'get future', call: () => b.get('/a', future), error: FutureRevisionError },
      { name: 'list future', call: () => b.list('/', { revision: future }), error: FutureRevisionError },
      { name: 'watch future', call: () => b.watch({ prefix: '/', afterRevision: future }, () => {}), error: FutureRevisionError },
      { name: 'compact future', call: () => b.compact(future), error: FutureRevisionError },
    ];
    for (const c of cases) t.type(await caught(c.call()), c.error, c.name);
    t.equal((await b.get('/a', a2.modRevision))?.value, 'v2', 'the compacted revision itself is readable');
  });

  t.test(`${name}: watch replays then streams, in order, with prevKv`, async (t) => {
    const b = await open(t);
    const a1 = await b.create('/w/a', 'a1');
    await b.create('/other', 'x');
    const a2 = await b.update('/w/a', 'a2', a1.modRevision);
    const all = await record(b, '/w/', 0);
    const mid = await record(b, '/w/', a1.modRevision);
    t.teardown(() => all.watcher.close());
    t.teardown(() => mid.watcher.close());
    const bb = await b.create('/w/b', 'b1');
    const gone = await b.delete('/w/a', a2.modRevision);
    await b.update('/other', 'y', 2);
    const a3 = await b.create('/w/a', 'a3');
    const kv = (key: string, value: string, createRevision: number, modRevision: number) => ({ key, value, createRevision, modRevision });
    const expected: WatchEvent[] = [
      { type: 'create', kv: kv('/w/a', 'a1', a1.modRevision, a1.modRevision) },
      { type: 'update', kv: kv('/w/a', 'a2', a1.modRevision, a2.modRevision), prevKv: kv('/w/a', 'a1', a1.modRevision, a1.modRevision) },
      { type: 'create', kv: kv('/w/b', 'b1', bb.modRevision, bb.modRevision) },
      { type: 'delete', kv: kv('/w/a', 'a2', a1.modRevision, gone.modRevision), prevKv: kv('/w/a', 'a2', a1.modRevision, a2.modRevision) },
      { type: 'create', kv: kv('/w/a', 'a3', a3.modRevision, a3.modRevision) },
    ];
    t.same(await all.waitFor(5), expected, 'from 0: replay then live');
    t.same(await mid.waitFor(4), expected.slice(1), 'from the middle of history');
    await settle();
    t.equal(all.events.length, 5, 'no duplicates, nothing outside the prefix');

    all.watcher.close();
    all.watcher.close();
    await b.update('/w/a', 'a4', a3.modRevision);
    await mid.waitFor(5);
    await settle();
    t.equal(all.events.length, 5, 'closed watcher gets nothing');
  });

  t.test(`${name}: watch registered between writes misses nothing`, async (t) => {
    const b = await open(t);
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 20; i++) writes.push(b.create(`/k/${i}`, 'v'));
    // Registered while writes are in flight, from whatever was committed.
    const start = b.currentRevision();
    const r = await record(b, '/k/', start);
    t.teardown(() => r.watcher.close());
    const replayFrom0 = await record(b, '/k/', 0);
    t.teardown(() => replayFrom0.watcher.close());
    await Promise.all(writes);
    const events = await replayFrom0.waitFor(20);
    const revisions = events.map((e) => e.kv.modRevision);
    t.same(revisions, [...revisions].sort((x, y) => x - y), 'in revision order');
    t.equal(new Set(revisions).size, 20, 'each once');
    await settle();
    t.equal(replayFrom0.events.length, 20);
    const after = revisions.filter((rev) => rev > start);
    t.same((await r.waitFor(after.length)).map((e) => e.kv.modRevision), after, 'everything after the start, no gap');
    await settle();
    t.equal(r.events.length, after.length, 'no duplicates');
  });

  t.test(`${name}: a throwing watcher breaks nothing else`, async (t) => {
    const reported: unknown[] = [];
    const b = await open(t, { onWatchCallbackError: (e) => reported.push(e) });
    await b.watch({ prefix: '', afterRevision: 0 }, () => {
      throw new Error('boom');
    });
    const good = await record(b, '', 0);
    t.teardown(() => good.watcher.close());
    const a = await b.create('/a', '1');
    await b.update('/a', '2', a.modRevision);
    t.equal((await good.waitFor(2)).length, 2);
    t.equal((await b.get('/a'))?.value, '2');
    await settle();
    t.equal(reported.length, 2, 'each failure reported');
  });

  t.test(`${name}: compaction`, async (t) => {
    const b = await open(t);
    const x1 = await b.create('/x', 'x1');
    const y1 = await b.create('/y', 'y1');
    const x2 = await b.update('/x', 'x2', x1.modRevision);
    const z1 = await b.create('/z', 'z1');
    await b.delete('/z');
    const y2 = await b.update('/y', 'y2', y1.modRevision);
    const r = b.currentRevision();
    const x3 = await b.update('/x', 'x3', x2.modRevision);
    const y3 = await b.update('/y', 'y3', y2.modRevision);
    const z2 = await b.create('/z', 'z2');
    await b.compact(r);
    await b.compact(r - 1);
    t.equal(b.compactedRevision(), r, 'compaction never goes back');
    t.equal(b.currentRevision(), z2.modRevision);

    const atR = await b.list('', { revision: r });
    t.same(
      atR.items.map((i) => [i.key, i.value]),
      [
        ['/x', 'x2'],
        ['/y', 'y2'],
      ],
      'the latest of each key at the compacted revision survives; the deleted key is gone',
    );
    t.same((await b.list('')).items.map((i) => i.value), ['x3', 'y3', 'z2']);
    for (const rev of [x1.modRevision, z1.modRevision, r - 1]) t.type(await caught(b.get('/x', rev)), CompactedError);

    const w = await record(b, '', r);
    t.teardown(() => w.watcher.close());
    const events = await w.waitFor(3);
    t.same(
      events.map((e) => [e.type, e.kv.value, e.prevKv?.value]),
      [
        ['update', 'x3', 'x2'],
        ['update', 'y3', 'y2'],
        ['create', 'z2', undefined],
      ],
      'history after the compacted revision is intact, prevKv included',
    );
    t.equal(x3.createRevision, x1.modRevision);
    t.equal(y3.createRevision, y1.modRevision);

    // Compacting away the newest row (a tombstone) must not move the revision back.
    await b.delete('/z');
    const top = b.currentRevision();
    await b.compact(top);
    t.equal(b.currentRevision(), top);
    t.equal(await b.get('/z'), undefined);
    const next = await b.create('/n', 'n');
    t.equal(next.modRevision, top + 1);
  });

  t.test(`${name}: concurrent compare-and-swap`, async (t) => {
    const b = await open(t);
    const a = await b.create('/a', 'v0');
    const n = 25;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => b.update('/a', `v${i + 1}`, a.modRevision)));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    t.equal(won.length, 1, 'exactly one wins');
    t.ok(lost.every((r) => r.status === 'rejected' && r.reason instanceof ConflictError), 'the others conflict');
    t.equal(b.currentRevision(), a.modRevision + 1, 'losers wrote nothing');

    // A failing request in a batch does not fail its neighbours.
    const mixed = await Promise.allSettled([
      b.create('/a', 'dup'),
      b.create('/m1', 'm1'),
      b.update('/a', 'late', a.modRevision),
      b.create('/m2', 'm2'),
      b.delete('/absent'),
    ]);
    t.same(
      mixed.map((r) => r.status),
      ['rejected', 'fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    t.same(
      mixed.map((r) => (r.status === 'rejected' ? r.reason?.constructor : undefined)),
      [KeyExistsError, undefined, ConflictError, undefined, KeyNotFoundError],
    );
    t.equal(await b.count(''), 3);
  });

  t.test(`${name}: closed backend refuses calls`, async (t) => {
    const b = await factory();
    await b.create('/a', '1');
    await b.close();
    t.type(await caught(b.create('/b', '1')), StoreClosedError);
    t.type(await caught(b.get('/a')), StoreClosedError);
    t.type(await caught(b.watch({ prefix: '', afterRevision: 0 }, () => {})), StoreClosedError);
  });
}
