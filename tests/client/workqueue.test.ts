import t from 'tap';
import { ExponentialRateLimiter, WorkQueue, runWorkers } from '../../pkg/client/workqueue.js';

/** Resolves to 'pending' if the promise has not settled after the current macrotask. */
async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

t.test('queued keys are deduplicated and handed out in order', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.len(), 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  t.equal(q.len(), 0);
});

t.test('a key being processed is not handed out again; re-added, it returns after done', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  t.equal(await q.get(), 'a');
  q.add('a');
  q.add('a');
  t.equal(q.len(), 0, 'not queued while processing');
  const next = q.get();
  t.equal(await peek(next), 'pending', 'a second worker waits');
  q.done('a');
  t.equal(await next, 'a', 'handed out once after done');
  q.done('a');
  t.equal(q.len(), 0, 'added twice while processing, queued once');
  q.done('a'); // done of an idle key is harmless
  t.equal(q.len(), 0);
});

t.test('a waiting get is served by add', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  t.equal(await waiting, 'x');
  q.add('x');
  t.equal(q.len(), 0, 'x is processing: re-added later');
  q.done('x');
  t.equal(q.len(), 1);
});

t.test('exponential backoff grows per key up to the cap and resets on forget', async (t) => {
  const cases: { base: number; max: number; want: number[] }[] = [
    { base: 5, max: 1_000_000, want: [5, 10, 20, 40, 80] },
    { base: 100, max: 500, want: [100, 200, 400, 500, 500] },
  ];
  for (const c of cases) {
    const rl = new ExponentialRateLimiter<string>(c.base, c.max);
    t.same(
      c.want.map(() => rl.when('k')),
      c.want,
      `base ${c.base} max ${c.max}`,
    );
    t.equal(rl.retries('k'), c.want.length);
    t.equal(rl.when('other'), c.base, 'per key');
    rl.forget('k');
    t.equal(rl.retries('k'), 0);
    t.equal(rl.when('k'), c.base);
  }
  const def = new ExponentialRateLimiter<string>();
  for (let i = 0; i < 40; i++) def.when('k');
  t.equal(def.when('k'), 1_000_000, 'default cap is 1000 s');
});

t.test('addRateLimited and addAfter deliver later; the earliest delay wins', async (t) => {
  const q = new WorkQueue({ rateLimiter: new ExponentialRateLimiter<string>(1, 10) });
  q.addRateLimited('r');
  t.equal(q.len(), 0, 'not yet');
  t.equal(await q.get(), 'r');
  t.equal(q.numRequeues('r'), 1);
  q.done('r');
  q.forget('r');
  t.equal(q.numRequeues('r'), 0);

  q.addAfter('d', 3_600_000);
  q.addAfter('d', 1);
  t.equal(await q.get(), 'd', 'the shorter delay replaced the hour');
  q.done('d');
  q.addAfter('now', 0);
  t.equal(q.len(), 1, 'zero delay adds at once');
  q.shutDown(); // clears the remaining timers
});

t.test('shutDown wakes waiting workers and stops the queue', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.addAfter('later', 3_600_000);
  q.shutDown();
  t.equal(await waiting, undefined);
  q.add('ignored');
  t.equal(q.len(), 0);
  t.equal(await q.get(), undefined);
  t.ok(q.shuttingDown());
});

t.test('runWorkers: retries with backoff, forgets on success, never syncs one key twice at once', async (t) => {
  const q = new WorkQueue({ rateLimiter: new ExponentialRateLimiter<string>(1, 4) });
  const active = new Set<string>();
  let overlap = false;
  const calls = new Map<string, number>();
  const errors: string[] = [];
  let readdsLeft = 20;
  const sync = async (key: string): Promise<void> => {
    if (active.has(key)) overlap = true;
    active.add(key);
    calls.set(key, (calls.get(key) ?? 0) + 1);
    // Re-add keys while they are being processed, as informer handlers do.
    if (readdsLeft-- > 0) q.add(key);
    await new Promise((r) => setImmediate(r));
    active.delete(key);
    if (key === 'flaky' && (calls.get(key) ?? 0) < 3) throw new Error('not yet');
  };
  const running = runWorkers(q, 4, sync, { onError: (k) => errors.push(k) });
  for (const k of ['a', 'b', 'c', 'flaky']) q.add(k);
  const settled = () => (calls.get('flaky') ?? 0) >= 3 && q.len() === 0 && active.size === 0 && readdsLeft < 0;
  await new Promise<void>((resolve) => {
    const tick = () => (settled() ? resolve() : setTimeout(tick, 5));
    tick();
  });
  t.notOk(overlap, 'no key was synced by two workers at once');
  t.same(errors, ['flaky', 'flaky']);
  t.equal(q.numRequeues('flaky'), 0, 'forgotten after success');
  q.shutDown();
  await running;
  t.pass('runWorkers resolves after shutDown');
});

t.test('runWorkers gives up after maxRetries', async (t) => {
  const q = new WorkQueue({ rateLimiter: new ExponentialRateLimiter<string>(1, 2) });
  let calls = 0;
  const running = runWorkers(
    q,
    1,
    async () => {
      calls++;
      throw new Error('always');
    },
    { maxRetries: 2, onError: () => undefined },
  );
  q.add('k');
  await new Promise<void>((resolve) => {
    const tick = () => (calls === 3 && q.numRequeues('k') === 0 ? resolve() : setTimeout(tick, 5));
    tick();
  });
  t.equal(q.len(), 0);
  q.shutDown();
  await running;
  t.equal(calls, 3, 'first try plus two retries');
});
