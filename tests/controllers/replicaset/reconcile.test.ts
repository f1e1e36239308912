import t from 'tap';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { computeReplicaSetStatus, nextAvailableIn, planReplicaSet, replicaSetPod, replicaSetStatusChanged } from '../../../pkg/controllers/replicaset/reconcile.js';

const T = Date.parse('2025-01-01T00:00:00Z');

function rs(replicas: number, extra: Partial<NonNullable<ReplicaSet['spec']>> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'r', namespace: 'ns', uid: 'rs-uid', generation: 4 },
    spec: { replicas, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a', extra: 'x' } }, spec: { containers: [{ name: 'c' }] } }, ...extra },
  };
}

let n = 0;
function pod(o: { owned?: boolean; labels?: Record<string, string>; ready?: number; phase?: string; deleting?: boolean; node?: string } = {}): Pod {
  n++;
  return {
    metadata: {
      name: `p${n}`, uid: `p${n}`, namespace: 'ns', labels: o.labels ?? { app: 'a', extra: 'x' }, creationTimestamp: new Date(T + n).toISOString(),
      ownerReferences: o.owned === false ? undefined : [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'rs-uid', controller: true }],
      deletionTimestamp: o.deleting ? new Date(T).toISOString() : undefined,
    },
    spec: { containers: [{ name: 'c' }], nodeName: o.node },
    status: { phase: o.phase ?? 'Running', conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(T + o.ready * 1000).toISOString() }] },
  };
}

const diffCases = [
  { name: 'scale up from zero', replicas: 3, pods: [] as Pod[], create: 3, del: 0 },
  { name: 'in sync', replicas: 2, pods: [pod(), pod()], create: 0, del: 0 },
  { name: 'scale down', replicas: 1, pods: [pod(), pod(), pod()], create: 0, del: 2 },
  { name: 'terminal and deleting pods do not count', replicas: 2, pods: [pod(), pod({ phase: 'Failed' }), pod({ deleting: true })], create: 1, del: 0 },
  { name: 'burst limit', replicas: 1000, pods: [], create: 500, del: 0 },
];
for (const tc of diffCases) {
  t.test(`plan: ${tc.name}`, async (t) => {
    const p = planReplicaSet(rs(tc.replicas), tc.pods);
    t.equal(p.create, tc.create);
    t.equal(p.delete.length, tc.del);
  });
}

t.test('plan deletes unready and unscheduled pods first', async (t) => {
  const ready = pod({ ready: 0, node: 'n' });
  const unready = pod({ node: 'n' });
  const unscheduled = pod({ phase: 'Pending' });
  const p = planReplicaSet(rs(1), [ready, unready, unscheduled]);
  t.same(p.delete.map((x) => x.metadata?.name), [unscheduled.metadata?.name, unready.metadata?.name]);
});

t.test('plan adopts orphans and releases mismatches; adopted pods count', async (t) => {
  const orphan = pod({ owned: false });
  const mismatch = pod({ labels: { app: 'b' } });
  const p = planReplicaSet(rs(2), [orphan, mismatch, pod()]);
  t.same(p.adopt, [orphan]);
  t.same(p.release, [mismatch]);
  t.equal(p.pods.length, 2);
  t.equal(p.create, 0);
});

t.test('unsatisfied expectations: claim but do not manage', async (t) => {
  const p = planReplicaSet(rs(3), [], { manage: false });
  t.equal(p.create, 0);
});

t.test('status counts ready, available after minReadySeconds, fully labeled', async (t) => {
  const r = rs(3, { minReadySeconds: 10 });
  const pods = [pod({ ready: 0 }), pod({ ready: 8 }), pod({ labels: { app: 'a' } })];
  const s = computeReplicaSetStatus(r, pods, T + 12_000);
  t.same(s, { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 4 });
  t.equal(nextAvailableIn(pods, 10, T + 12_000), 6001);
  t.equal(nextAvailableIn(pods, 0, T), undefined);
  t.notOk(replicaSetStatusChanged(s, { ...s }));
  t.ok(replicaSetStatusChanged(s, { ...s, readyReplicas: 3 }));
});

t.test('ReplicaFailure condition while creates fail, removed once they succeed', async (t) => {
  const r = rs(3);
  const s = computeReplicaSetStatus(r, [], T, { message: 'pods "r-" is forbidden: exceeded quota' });
  t.match(s.conditions, [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "r-" is forbidden: exceeded quota' }]);
  const cleared = computeReplicaSetStatus({ ...r, status: s }, [], T);
  t.equal(cleared.conditions, undefined);
});

t.test('pod for a replica', async (t) => {
  const p = replicaSetPod(rs(1));
  t.equal(p.metadata?.generateName, 'r-');
  t.same(p.metadata?.labels, { app: 'a', extra: 'x' });
  t.same(p.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'rs-uid', controller: true, blockOwnerDeletion: true }]);
});

t.test('related pods given as a function are read only when deleting, and used like a list', async (t) => {
  let calls = 0;
  const a = pod({ node: 'n1' });
  const b = pod({ node: 'n2' });
  const sibling = pod({ owned: false, node: 'n1' });
  const related = (): Pod[] => {
    calls++;
    return [sibling];
  };
  const steady = planReplicaSet(rs(2), [a, b], { related });
  t.equal(steady.delete.length, 0);
  t.equal(calls, 0, 'no deletion, no read');
  const viaFn = planReplicaSet(rs(1), [a, b], { related });
  t.equal(calls, 1);
  t.same(viaFn.delete.map((p) => p.metadata?.name), planReplicaSet(rs(1), [a, b], { related: [sibling] }).delete.map((p) => p.metadata?.name));
  t.equal(viaFn.delete[0]?.metadata?.name, a.metadata?.name, 'the pod doubled up with a sibling goes first');
});
