import t from 'tap';
import { podKey } from '../../pkg/scheduler/podinfo.js';
import { SchedulingQueue } from '../../pkg/scheduler/queue.js';
import { makePod } from './fixtures.js';

function fakeClock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function names(q: SchedulingQueue): string[] {
  const out: string[] = [];
  for (let qp = q.tryPop(); qp; qp = q.tryPop()) out.push(qp.info.name);
  return out;
}

t.test('activeQ: higher priority first, then older, then FIFO', async (t) => {
  const q = new SchedulingQueue();
  q.add(makePod('late', { created: '2025-01-01T00:00:05Z' }));
  q.add(makePod('early', { created: '2025-01-01T00:00:01Z' }));
  q.add(makePod('urgent', { priority: 1000, created: '2025-01-01T00:00:09Z' }));
  q.add(makePod('tie1', { created: '2025-01-01T00:00:03Z' }));
  q.add(makePod('tie2', { created: '2025-01-01T00:00:03Z' }));
  q.add(makePod('low', { priority: -5 }));
  t.same(names(q), ['urgent', 'early', 'tie1', 'tie2', 'late', 'low']);
});

t.test('backoff doubles from 1 s and stops at 10 s', async (t) => {
  const q = new SchedulingQueue();
  t.same([1, 2, 3, 4, 5, 6, 10].map((a) => q.backoffDuration(a)), [1000, 2000, 4000, 8000, 10000, 10000, 10000]);
});

t.test('unschedulable pods wait for a cluster change, then for their backoff', async (t) => {
  const clock = fakeClock();
  const q = new SchedulingQueue({ now: clock.now });
  const pod = makePod('p');
  q.add(pod);
  const qp = q.tryPop()!;
  q.addUnschedulable(qp, q.schedulingCycle);
  t.equal(q.where(podKey(pod)), 'unschedulable');
  clock.advance(60_000);
  q.flush();
  t.equal(q.tryPop(), undefined, 'time alone does not retry it (before 5 min)');

  q.moveAllToActiveOrBackoff();
  t.equal(q.where(podKey(pod)), 'active', 'backoff (1 s) long over: straight to activeQ');
  const again = q.tryPop()!;
  t.equal(again.attempts, 2);
  q.addUnschedulable(again, q.schedulingCycle);
  q.moveAllToActiveOrBackoff();
  t.equal(q.where(podKey(pod)), 'backoff', 'second failure: 2 s backoff not over');
  clock.advance(1999);
  q.flush();
  t.equal(q.where(podKey(pod)), 'backoff');
  clock.advance(1);
  q.flush();
  t.equal(q.where(podKey(pod)), 'active');
});

t.test('a change during the attempt sends the pod to backoff, not to the unschedulable set', async (t) => {
  const clock = fakeClock();
  const q = new SchedulingQueue({ now: clock.now });
  q.add(makePod('p'));
  const qp = q.tryPop()!;
  const cycle = q.schedulingCycle;
  q.moveAllToActiveOrBackoff(); // e.g. a node was added while we were filtering
  q.addUnschedulable(qp, cycle);
  t.equal(q.where(qp.info.key), 'backoff');
  clock.advance(1000);
  q.flush();
  t.equal(q.tryPop()?.info.name, 'p');
});

t.test('pods parked longer than the maximum are retried anyway', async (t) => {
  const clock = fakeClock();
  const q = new SchedulingQueue({ now: clock.now, maxUnschedulableMs: 300_000 });
  q.add(makePod('p'));
  const qp = q.tryPop()!;
  q.addUnschedulable(qp, q.schedulingCycle);
  clock.advance(300_000);
  q.flush();
  t.equal(q.where(qp.info.key), 'active');
});

t.test('updates, deletes, in-flight pods', async (t) => {
  const clock = fakeClock();
  const q = new SchedulingQueue({ now: clock.now });
  const pod = makePod('p');
  q.add(pod);
  q.add(pod);
  t.same(q.stats(), { active: 1, backoff: 0, unschedulable: 0, inflight: 0 }, 'added once');
  const qp = q.tryPop()!;
  t.equal(q.stats().inflight, 1);
  const tolerant = { ...pod, spec: { ...pod.spec!, tolerations: [{ operator: 'Exists' }] } };
  q.update(tolerant); // arrives while in flight: kept for later
  q.addUnschedulable(qp, q.schedulingCycle);
  t.equal(q.where(qp.info.key), 'backoff', 'spec changed in flight: not parked');
  t.same(qp.info.tolerations, [{ operator: 'Exists' }], 'the newer version is used');

  const other = makePod('o');
  q.add(other);
  const oqp = q.tryPop()!;
  q.addUnschedulable(oqp, q.schedulingCycle);
  q.update({ ...other, status: { conditions: [{ type: 'PodScheduled', status: 'False' }] } });
  t.equal(q.where(oqp.info.key), 'unschedulable', 'a status-only update does not retry');
  q.update({ ...other, spec: { ...other.spec!, nodeSelector: {} } });
  t.equal(q.where(oqp.info.key), 'active', 'a spec update does');

  q.delete(other);
  q.delete(pod);
  t.same(q.stats(), { active: 0, backoff: 0, unschedulable: 0, inflight: 0 });
  t.equal(q.tryPop(), undefined, 'stale heap entries are skipped');
});

t.test('a deleted in-flight pod is not re-queued', async (t) => {
  const q = new SchedulingQueue();
  const pod = makePod('p');
  q.add(pod);
  const qp = q.tryPop()!;
  q.delete(pod);
  q.addUnschedulable(qp, q.schedulingCycle);
  q.addBackoff(qp);
  t.equal(q.where(qp.info.key), undefined);
});

t.test('pop waits for a pod and close releases waiters', async (t) => {
  const q = new SchedulingQueue();
  const waiting = q.pop();
  q.add(makePod('p'));
  t.equal((await waiting)?.info.name, 'p');
  const pending = q.pop();
  q.close();
  t.equal(await pending, undefined);
  t.equal(await q.pop(), undefined);
});
