import t from 'tap';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { makeDeployment } from '../sim.js';
import {
  equalIgnoreHash, getProportion, maxSurge, maxUnavailable, resolveFenceposts, scaledValue, setNewReplicaSetAnnotations, IntOrPercentError,
} from '../../../pkg/controllers/deployment/util.js';

const scaleCases: { v: number | string; total: number; up: boolean; want: number }[] = [
  { v: 3, total: 10, up: true, want: 3 },
  { v: '25%', total: 10, up: true, want: 3 },
  { v: '25%', total: 10, up: false, want: 2 },
  { v: '100%', total: 7, up: false, want: 7 },
  { v: '0%', total: 7, up: true, want: 0 },
  { v: '10%', total: 1, up: false, want: 0 },
];
for (const c of scaleCases) {
  t.test(`scaledValue(${c.v}, ${c.total}, ${c.up})`, async (t) => t.equal(scaledValue(c.v, c.total, c.up), c.want));
}
t.test('a bare string is not a percentage', async (t) => t.throws(() => scaledValue('3', 10, true), IntOrPercentError));

t.test('fenceposts: both zero becomes unavailable 1', async (t) => {
  t.same(resolveFenceposts(0, '10%', 5), { surge: 0, unavailable: 1 });
  t.same(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
});

t.test('surge and unavailability of a deployment', async (t) => {
  const d = makeDeployment({ replicas: 10 });
  t.equal(maxSurge(d), 3);
  t.equal(maxUnavailable(d), 2);
  const recreate = makeDeployment({ replicas: 10, strategy: { type: 'Recreate' } });
  t.equal(maxSurge(recreate), 0);
  t.equal(maxUnavailable(recreate), 0);
  t.equal(maxUnavailable(makeDeployment({ replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } } })), 2, 'never more than replicas');
});

t.test('revision annotations: bump moves the old one into history', async (t) => {
  const d = makeDeployment({ replicas: 2 });
  const rs: ReplicaSet = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '1' } } };
  t.ok(setNewReplicaSetAnnotations(d, rs, 3, true));
  t.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
  t.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  t.ok(setNewReplicaSetAnnotations(d, rs, 5, true));
  t.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1,3');
  t.notOk(setNewReplicaSetAnnotations(d, rs, 4, true), 'never lowered');
  const fresh: ReplicaSet = {};
  setNewReplicaSetAnnotations(d, fresh, 1, false);
  t.same(fresh.metadata?.annotations, { 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '2', 'deployment.kubernetes.io/max-replicas': '3' });
});

t.test('templates compare equal ignoring the hash label', async (t) => {
  const a = { metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const b = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }], volumes: [] } };
  t.ok(equalIgnoreHash(a, b));
  t.notOk(equalIgnoreHash(a, { ...b, spec: { containers: [{ name: 'c', image: 'j' }] } }));
});

t.test('proportion of a scale-up follows max-replicas', async (t) => {
  const d = makeDeployment({ replicas: 20 }); // max 25
  const rs: ReplicaSet = { metadata: { annotations: { 'deployment.kubernetes.io/max-replicas': '13' } }, spec: { replicas: 8, selector: {} } };
  // 8 * 25 / 13 = 15.38 -> 15: +7, bounded by what is left to add.
  t.equal(getProportion(rs, d, 12, 0), 7);
  t.equal(getProportion(rs, d, 12, 10), 2);
  t.equal(getProportion(rs, d, 12, 12), 0);
  const zero = makeDeployment({ replicas: 0 });
  t.equal(getProportion(rs, zero, -13, 0), -8);
});
