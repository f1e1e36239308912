import t from 'tap';
import { Backoff } from '../../pkg/kubelet/backoff.js';
import { goDuration } from '../../pkg/kubelet/kubelet.js';

t.test('delays double from 10 s to 300 s', async (t) => {
  const b = new Backoff();
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) seen.push(b.next('k', i * 1000));
  t.same(seen, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
});

t.test('remaining after a container finished', async (t) => {
  const cases: { name: string; steps: number; finishedAt: number; now: number; want: number }[] = [
    { name: 'no entry: go', steps: 0, finishedAt: 0, now: 0, want: 0 },
    { name: 'just died after one restart: wait 10 s', steps: 1, finishedAt: 1000, now: 1000, want: 10_000 },
    { name: 'part of the wait passed', steps: 1, finishedAt: 1000, now: 5000, want: 6000 },
    { name: 'wait passed', steps: 1, finishedAt: 1000, now: 12_000, want: 0 },
    { name: 'two restarts: 20 s', steps: 2, finishedAt: 2000, now: 2000, want: 20_000 },
    { name: 'ran for more than 10 min: reset', steps: 3, finishedAt: 11 * 60_000, now: 11 * 60_000, want: 0 },
  ];
  for (const c of cases) {
    const b = new Backoff();
    for (let i = 0; i < c.steps; i++) b.next('k', 0);
    t.equal(b.remaining('k', c.finishedAt, c.now), c.want, c.name);
  }
});

t.test('an entry idle past the reset window starts over', async (t) => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000 });
  b.next('k', 0);
  b.next('k', 10);
  t.equal(b.delay('k'), 200);
  t.equal(b.next('k', 10 + 2001), 100);
  t.equal(b.remainingSinceUpdate('k', 2011 + 50), 50);
  b.gc(100_000);
  t.equal(b.delay('k'), 0);
});

t.test('Go-style durations in messages', async (t) => {
  for (const [ms, want] of [[300, '300ms'], [10_000, '10s'], [1500, '1.5s'], [300_000, '5m0s'], [80_000, '1m20s']] as const) t.equal(goDuration(ms), want);
});
