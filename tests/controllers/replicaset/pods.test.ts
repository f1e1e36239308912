import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { comparePodsForDeletion, isPodAvailable, podFromTemplate, podsToDelete, slowStartBatch, slowStartBatchSizes } from '../../../pkg/controllers/replicaset/pods.js';

const T = Date.parse('2025-01-01T00:00:00Z');
const iso = (s: number) => new Date(T + s * 1000).toISOString();

function pod(name: string, o: { node?: string; phase?: string; readySince?: number; restarts?: number; created?: number; cost?: string } = {}): Pod {
  return {
    metadata: { name, creationTimestamp: iso(o.created ?? 0), annotations: o.cost === undefined ? undefined : { 'controller.kubernetes.io/pod-deletion-cost': o.cost } },
    spec: { containers: [{ name: 'c' }], nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: o.readySince === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: iso(o.readySince) }],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0, ready: o.readySince !== undefined, image: 'x', imageID: '' }],
    },
  };
}

const orderCases: { name: string; first: Pod; second: Pod }[] = [
  { name: 'unassigned before assigned', first: pod('a'), second: pod('b', { node: 'n1', phase: 'Pending' }) },
  { name: 'pending before unknown', first: pod('a', { node: 'n', phase: 'Pending' }), second: pod('b', { node: 'n', phase: 'Unknown' }) },
  { name: 'unknown before running', first: pod('a', { node: 'n', phase: 'Unknown' }), second: pod('b', { node: 'n', phase: 'Running' }) },
  { name: 'not ready before ready', first: pod('a', { node: 'n' }), second: pod('b', { node: 'n', readySince: 0 }) },
  { name: 'lower deletion cost first', first: pod('a', { node: 'n', readySince: 0, cost: '-5' }), second: pod('b', { node: 'n', readySince: 10 }) },
  { name: 'ready for less time first', first: pod('a', { node: 'n', readySince: 100 }), second: pod('b', { node: 'n', readySince: 10 }) },
  { name: 'more restarts first', first: pod('a', { node: 'n', restarts: 3 }), second: pod('b', { node: 'n', restarts: 1 }) },
  { name: 'newer first', first: pod('a', { node: 'n', created: 50 }), second: pod('b', { node: 'n', created: 5 }) },
];

for (const tc of orderCases) {
  t.test(`deletion order: ${tc.name}`, async (t) => {
    t.ok(comparePodsForDeletion(tc.first, tc.second) < 0);
    t.ok(comparePodsForDeletion(tc.second, tc.first) > 0);
  });
}

t.test('doubled-up nodes lose pods first', async (t) => {
  const a = pod('a', { node: 'busy', readySince: 0 });
  const b = pod('b', { node: 'quiet', readySince: 0 });
  const related = [pod('r1', { node: 'busy' }), pod('r2', { node: 'busy' })];
  t.same(podsToDelete([b, a], related, 1).map((p) => p.metadata?.name), ['a']);
  t.same(podsToDelete([b, a], [], 5).map((p) => p.metadata?.name), ['b', 'a'], 'all when count covers them');
});

t.test('availability honours minReadySeconds', async (t) => {
  const p = pod('a', { readySince: 0 });
  t.ok(isPodAvailable(p, 0, T));
  t.notOk(isPodAvailable(p, 10, T + 5000));
  t.ok(isPodAvailable(p, 10, T + 10001));
  t.notOk(isPodAvailable(pod('b'), 0, T));
});

t.test('slow start batches double', async (t) => {
  t.same(slowStartBatchSizes(0), []);
  t.same(slowStartBatchSizes(1), [1]);
  t.same(slowStartBatchSizes(10), [1, 2, 4, 3]);
  t.same(slowStartBatchSizes(500), [1, 2, 4, 8, 16, 32, 64, 128, 245]);
  let calls = 0;
  const ok = await slowStartBatch(10, async () => {
    calls++;
  });
  t.same(ok, { successes: 10 });
  calls = 0;
  const failing = await slowStartBatch(10, async () => {
    calls++;
    if (calls === 3) throw new Error('quota');
  });
  t.equal(failing.successes, 2, 'batch 1 ok, batch 2 one failed');
  t.equal(calls, 3, 'no batch after a failure');
  t.match(String(failing.error), /quota/);
});

t.test('pod from template', async (t) => {
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true, blockOwnerDeletion: true };
  const p = podFromTemplate({ metadata: { labels: { a: 'b' }, annotations: { x: 'y' } }, spec: { containers: [{ name: 'c', image: 'i' }] } }, 'ns', 'rs', ref);
  t.same(p.metadata, { generateName: 'rs-', namespace: 'ns', ownerReferences: [ref], labels: { a: 'b' }, annotations: { x: 'y' } });
  t.same(p.spec, { containers: [{ name: 'c', image: 'i' }] });
});
