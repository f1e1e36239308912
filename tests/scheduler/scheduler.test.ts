import t from 'tap';
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { podInfoOf } from '../../pkg/scheduler/podinfo.js';
import {
  nodeSchedulingChanged,
  numFeasibleNodesToFind,
  responsibleForPod,
  Scheduler,
  type SchedulerDeps,
  type SchedulerEvent,
} from '../../pkg/scheduler/scheduler.js';
import { makeNode, makePod } from './fixtures.js';

/** Fake deps that behave like the API: a binding is echoed back as a pod update, as the watch would. */
function fakeCluster(opts: { failBind?: (pod: Pod) => boolean } = {}) {
  const bindings = new Map<string, string>();
  const events: { pod: string; event: SchedulerEvent }[] = [];
  const conditions = new Map<string, PodCondition>();
  let sched: Scheduler | undefined;
  const deps: SchedulerDeps = {
    async bind(pod, nodeName) {
      if (opts.failBind?.(pod)) throw new Error('conflict');
      bindings.set(pod.metadata!.name!, nodeName);
      sched!.onPodUpdate(pod, { ...pod, spec: { ...pod.spec!, nodeName } });
    },
    async updatePodStatus(pod, condition) {
      conditions.set(pod.metadata!.name!, condition);
      sched!.onPodUpdate(pod, { ...pod, status: { ...pod.status, conditions: [condition] } });
    },
    recordEvent(pod, event) {
      events.push({ pod: pod.metadata!.name!, event });
    },
  };
  return {
    deps,
    bindings,
    events,
    conditions,
    attach(s: Scheduler) {
      sched = s;
      return s;
    },
    perNode(): Map<string, number> {
      const m = new Map<string, number>();
      for (const n of bindings.values()) m.set(n, (m.get(n) ?? 0) + 1);
      return m;
    },
  };
}

/** A scheduler on a fake clock; `later()` lets backoffs run out and schedules what became active. */
function withClock(fake: ReturnType<typeof fakeCluster>, deps: SchedulerDeps = fake.deps) {
  let now = 1_000_000;
  const s = fake.attach(new Scheduler({ deps, random, queue: { now: () => now } }));
  const later = async () => {
    now += 10_000;
    s.queue.flush();
    await s.drain();
  };
  return { s, later };
}

let seed = 42;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

t.test('numFeasibleNodesToFind follows kube-scheduler', async (t) => {
  const cases: [number, number, number][] = [
    [10, 0, 10],
    [99, 0, 99],
    [100, 0, 100],
    [200, 0, 100], // 49% of 200 = 98 → at least 100
    [1000, 0, 420], // 50 - 8 = 42 %
    [5000, 0, 500], // 50 - 40 = 10 %
    [6000, 0, 300], // 50 - 48 = 2 % → 5 %
    [1000, 100, 1000],
    [1000, 10, 100],
  ];
  for (const [n, pct, want] of cases) t.equal(numFeasibleNodesToFind(n, pct), want, `${n} nodes at ${pct}%`);
});

t.test('responsibleForPod', async (t) => {
  t.ok(responsibleForPod(makePod('a')));
  t.ok(responsibleForPod(makePod('a', { schedulerName: 'default-scheduler' })));
  t.notOk(responsibleForPod(makePod('a', { schedulerName: 'other' })));
  t.notOk(responsibleForPod(makePod('a', { nodeName: 'n' })));
  const base = makePod('a');
  const deleting = { ...base, metadata: { ...base.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } };
  t.notOk(responsibleForPod(deleting));
  const gated = makePod('a');
  gated.spec!.schedulingGates = [{ name: 'wait' }];
  t.notOk(responsibleForPod(gated));
});

t.test('nodeSchedulingChanged ignores heartbeats', async (t) => {
  const a = makeNode('n');
  const hb = structuredClone(a);
  hb.status!.conditions![0].lastHeartbeatTime = '2025-01-01T00:00:10Z';
  t.notOk(nodeSchedulingChanged(a, hb));
  t.ok(nodeSchedulingChanged(a, makeNode('n', { unschedulable: true })));
  t.ok(nodeSchedulingChanged(a, makeNode('n', { ready: false })));
  t.ok(nodeSchedulingChanged(a, makeNode('n', { cpu: '8' })));
  t.ok(nodeSchedulingChanged(a, makeNode('n', { labels: { x: 'y' } })));
  t.ok(nodeSchedulingChanged(makeNode('n', { taints: [{ key: 'k', effect: 'NoSchedule' }] }), a));
});

t.test('10 nodes, many pods: resources respected, owners spread, the rest unschedulable', async (t) => {
  const fake = fakeCluster();
  const { s, later } = withClock(fake);
  for (let i = 0; i < 10; i++) s.onNodeAdd(makeNode(`n${i}`, { cpu: '4', memory: '16Gi' }));
  const pods = new Map<string, Pod>();
  for (let i = 0; i < 30; i++) {
    const p = makePod(`web-${i}`, { cpu: '1', memory: '1Gi', owner: 'web' });
    pods.set(`web-${i}`, p);
    s.onPodAdd(p);
  }
  await s.drain();
  t.equal(fake.bindings.size, 30);
  t.same([...fake.perNode().values()].sort(), Array(10).fill(3), 'spread evenly: 3 per node');

  for (let i = 0; i < 15; i++) s.onPodAdd(makePod(`big-${i}`, { cpu: '1', memory: '1Gi', owner: 'big' }));
  await s.drain();
  t.equal(fake.bindings.size, 40, 'exactly the 10 free CPUs used');
  for (const [node, count] of fake.perNode()) t.equal(count, 4, `${node} full, not over`);
  for (const ni of s.cache.nodeInfos()) t.ok(ni.requested.milliCPU <= ni.allocatable.milliCPU);

  const unscheduled = [...Array(15).keys()].map((i) => `big-${i}`).filter((n) => !fake.bindings.has(n));
  t.equal(unscheduled.length, 5);
  const msg = '0/10 nodes are available: 10 Insufficient cpu.';
  for (const name of unscheduled) {
    t.same(fake.conditions.get(name), { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg, lastTransitionTime: fake.conditions.get(name)?.lastTransitionTime });
    t.ok(fake.events.some((e) => e.pod === name && e.event.type === 'Warning' && e.event.reason === 'FailedScheduling' && e.event.message === msg));
  }
  t.ok(fake.events.some((e) => e.event.reason === 'Scheduled' && /^Successfully assigned default\/web-0 to n\d$/.test(e.event.message)));
  t.equal(s.queue.stats().unschedulable, 5);

  // Deleting a bound pod frees a CPU: one waiting pod gets it.
  const victim = pods.get('web-0')!;
  s.onPodDelete({ ...victim, spec: { ...victim.spec!, nodeName: fake.bindings.get('web-0') } });
  t.equal(s.queue.stats().unschedulable, 0, 'all unschedulable pods are retried');
  t.equal(s.queue.stats().backoff, 5, 'after their backoff');
  await later();
  t.equal(fake.bindings.size, 41);
  t.equal(s.queue.stats().unschedulable, 4);
});

t.test('the message mixes reasons as Kubernetes does, and uncordoning a node lets the pod in', async (t) => {
  const fake = fakeCluster();
  const { s, later } = withClock(fake);
  s.onNodeAdd(makeNode('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }));
  s.onNodeAdd(makeNode('w1', { memory: '1Gi' }));
  s.onNodeAdd(makeNode('w2', { memory: '1Gi' }));
  s.onPodAdd(makePod('db', { memory: '2Gi' }));
  await s.drain();
  t.equal(
    fake.conditions.get('db')?.message,
    '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.',
  );

  s.onNodeAdd(makeNode('w3', { unschedulable: true }));
  await later();
  t.equal(
    fake.conditions.get('db')?.message,
    '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, 2 Insufficient memory.',
    'retried on node add; the cordoned node reports unschedulable',
  );
  const events = fake.events.filter((e) => e.pod === 'db').length;

  s.onNodeUpdate(makeNode('w3', { unschedulable: true }), makeNode('w3', { unschedulable: true }));
  await later();
  t.equal(fake.events.filter((e) => e.pod === 'db').length, events, 'an irrelevant node update does not retry');

  s.onNodeUpdate(makeNode('w3', { unschedulable: true }), makeNode('w3'));
  await later();
  t.equal(fake.bindings.get('db'), 'w3', 'uncordoned: bound');
  t.equal(s.queue.stats().unschedulable, 0);
});

t.test('the same failure does not rewrite the condition', async (t) => {
  const fake = fakeCluster();
  let updates = 0;
  const deps: SchedulerDeps = {
    ...fake.deps,
    async updatePodStatus(pod, c) {
      updates++;
      await fake.deps.updatePodStatus(pod, c);
    },
  };
  const { s, later } = withClock(fake, deps);
  s.onNodeAdd(makeNode('n', { cpu: '1' }));
  s.onPodAdd(makePod('p', { cpu: '2' }));
  await s.drain();
  s.onNodeAdd(makeNode('m', { cpu: '1' })); // retried, different message (0/2)
  await later();
  s.onNodeUpdate(makeNode('m', { cpu: '1' }), makeNode('m', { cpu: '1', labels: { a: 'b' } })); // retried, same message
  await later();
  t.equal(updates, 2);
  t.equal(fake.events.filter((e) => e.event.reason === 'FailedScheduling').length, 3, 'an event every attempt');
});

t.test('a failed binding is forgotten and retried after backoff', async (t) => {
  let failures = 1;
  const fake = fakeCluster({ failBind: () => failures-- > 0 });
  let now = 0;
  const s = fake.attach(new Scheduler({ deps: fake.deps, random, queue: { now: () => now } }));
  s.onNodeAdd(makeNode('n', { cpu: '1' }));
  s.onPodAdd(makePod('p', { cpu: '1' }));
  await s.drain();
  t.equal(fake.bindings.size, 0);
  t.equal(s.cache.nodeInfo('n')!.requested.milliCPU, 0, 'un-assumed');
  t.ok(fake.events.some((e) => e.event.reason === 'FailedScheduling' && e.event.message === 'Binding rejected: conflict'));
  t.equal(s.queue.stats().backoff, 1);
  now += 1000;
  s.queue.flush();
  await s.drain();
  t.equal(fake.bindings.get('p'), 'n');
  t.equal(s.cache.nodeInfo('n')!.requested.milliCPU, 1000);
  t.equal(s.boundCount, 1);
});

t.test('assumed pods block their resources before the watch confirms them', async (t) => {
  const s = new Scheduler({
    random,
    deps: {
      bind: () => new Promise<void>(() => {}), // never answers within this test
      async updatePodStatus() {},
      recordEvent() {},
    },
  });
  s.onNodeAdd(makeNode('n', { cpu: '1' }));
  s.onPodAdd(makePod('a', { cpu: '1' }));
  s.onPodAdd(makePod('b', { cpu: '1' }));
  for (let qp = s.queue.tryPop(); qp; qp = s.queue.tryPop()) s.scheduleOne(qp);
  t.equal(s.cache.nodeInfo('n')!.podCount, 1, 'a is assumed on n');
  t.equal(s.queue.stats().unschedulable, 1, 'b does not fit next to the assumed a');
});

t.test('pods that are not ours are left alone', async (t) => {
  const fake = fakeCluster();
  const s = fake.attach(new Scheduler({ deps: fake.deps, random }));
  s.onNodeAdd(makeNode('n'));
  s.onPodAdd(makePod('other', { schedulerName: 'my-scheduler' }));
  const pinned = makePod('pinned', { nodeName: 'n', cpu: '1' });
  s.onPodAdd(pinned);
  await s.drain();
  t.equal(fake.bindings.size, 0);
  t.equal(s.cache.nodeInfo('n')!.requested.milliCPU, 1000, 'a pod with nodeName is accounted, not scheduled');

  const p = makePod('p');
  s.onPodAdd(p);
  const deleting = { ...p, metadata: { ...p.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } };
  s.onPodUpdate(p, deleting);
  await s.drain();
  t.equal(fake.bindings.size, 0, 'a pod being deleted is dropped from the queue');
});

t.test('nodes are sampled from a rotating start', async (t) => {
  const s = new Scheduler({ random, deps: { async bind() {}, async updatePodStatus() {}, recordEvent() {} } });
  for (let i = 0; i < 1000; i++) s.onNodeAdd(makeNode(`n${String(i).padStart(4, '0')}`));
  const info = podInfoOf(makePod('p', { cpu: '10m' }));
  const first = s.schedulePod(info);
  t.ok('nodeName' in first && first.evaluatedNodes === 420 && first.feasibleNodes === 420, 'stops at 42 % of 1000 nodes');
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const r = s.schedulePod(info);
    if ('nodeName' in r) seen.add(r.nodeName);
  }
  t.ok([...seen].some((n) => Number(n.slice(1)) >= 420), 'later cycles look at other nodes');
  const none = s.schedulePod(podInfoOf(makePod('huge', { cpu: '100' })));
  t.ok('error' in none && none.error.message === '0/1000 nodes are available: 1000 Insufficient cpu.', 'a failure looks at every node');
});

t.test('the loop schedules pods as they arrive and stops cleanly', async (t) => {
  const fake = fakeCluster();
  const s = fake.attach(new Scheduler({ deps: fake.deps, random }));
  s.onNodeAdd(makeNode('n1'));
  s.onNodeAdd(makeNode('n2'));
  s.start();
  for (let i = 0; i < 200; i++) s.onPodAdd(makePod(`p${i}`, { cpu: '10m', owner: 'x' }));
  for (let i = 0; i < 100 && fake.bindings.size < 200; i++) await new Promise((r) => setTimeout(r, 5));
  t.equal(fake.bindings.size, 200);
  t.same([...fake.perNode().values()], [100, 100], 'spread over both nodes');
  await s.stop();
  s.onPodAdd(makePod('late'));
  t.equal(fake.bindings.has('late'), false, 'stopped');
});

t.test('no nodes at all', async (t) => {
  const fake = fakeCluster();
  const s = fake.attach(new Scheduler({ deps: fake.deps, random }));
  s.onPodAdd(makePod('p'));
  await s.drain();
  t.equal(fake.conditions.get('p')?.message, 'no nodes available to schedule pods');
});
