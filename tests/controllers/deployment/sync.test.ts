import t from 'tap';
import { Cluster, makeDeployment } from '../sim.js';
import { syncDeployment } from '../../../pkg/controllers/deployment/sync.js';
import { getCondition, revisionOf, REVISION_HISTORY_ANNOTATION } from '../../../pkg/controllers/deployment/util.js';
import { getControllerOf, isPodReady } from '../../../pkg/controllers/replicaset/pods.js';

/** What `kubectl rollout status` decides from a deployment (DeploymentStatusViewer). */
function rolloutDone(c: Cluster): boolean {
  const d = c.d;
  const s = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return false;
  if ((s.updatedReplicas ?? 0) < (d.spec?.replicas ?? 1)) return false;
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return false;
  return (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
}

t.test('first sync creates the new replica set with hash, revision and replica annotations', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 3 }));
  const r = c.syncDeployment();
  const create = r.actions.find((a) => a.kind === 'createReplicaSet');
  t.ok(create);
  if (create?.kind !== 'createReplicaSet') return;
  const rs = create.replicaSet;
  const hash = rs.metadata?.labels?.['pod-template-hash'] ?? '';
  t.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  t.equal(rs.metadata?.name, `web-${hash}`);
  t.same(rs.spec?.selector?.matchLabels, { app: 'web', 'pod-template-hash': hash });
  t.same(rs.spec?.template?.metadata?.labels, { app: 'web', 'pod-template-hash': hash });
  t.equal(rs.spec?.replicas, 3);
  t.same(rs.metadata?.annotations, {
    'deployment.kubernetes.io/revision': '1',
    'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4',
  });
  t.same(rs.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-uid', controller: true, blockOwnerDeletion: true }]);
  t.same(r.events, [{ type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set web-${hash} from 0 to 3` }]);
  t.equal(c.d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  const prog = getCondition(c.d.status, 'Progressing');
  t.equal(prog?.reason, 'NewReplicaSetCreated');
  t.equal(prog?.message, `Created new replica set "web-${hash}"`);
  t.equal(getCondition(c.d.status, 'Available')?.reason, 'MinimumReplicasUnavailable');
  t.equal(c.d.status?.observedGeneration, 1);
});

t.test('a fresh deployment settles complete with kubectl-visible status', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 3 }));
  c.settle();
  t.ok(rolloutDone(c));
  const s = c.d.status ?? {};
  t.match(s, { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0, observedGeneration: 1 });
  t.equal(getCondition(s, 'Available')?.reason, 'MinimumReplicasAvailable');
  t.equal(getCondition(s, 'Progressing')?.reason, 'NewReplicaSetAvailable');
  t.match(getCondition(s, 'Progressing')?.message, /^ReplicaSet "web-\w+" has successfully progressed\.$/);
  // A settled deployment writes nothing more.
  t.same(c.syncDeployment().actions, []);
});

const rollingCases = [
  { replicas: 10, maxSurge: '25%', maxUnavailable: '25%', minAvailable: 8, maxTotal: 13 },
  { replicas: 10, maxSurge: 0, maxUnavailable: 1, minAvailable: 9, maxTotal: 10 },
  { replicas: 10, maxSurge: 1, maxUnavailable: 0, minAvailable: 10, maxTotal: 11 },
  { replicas: 4, maxSurge: '50%', maxUnavailable: '50%', minAvailable: 2, maxTotal: 6 },
  { replicas: 3, maxSurge: '10%', maxUnavailable: '10%', minAvailable: 3, maxTotal: 4 },
  { replicas: 1, maxSurge: 0, maxUnavailable: '10%', minAvailable: 0, maxTotal: 1 },
];

for (const tc of rollingCases) {
  t.test(`rolling update ${tc.replicas} replicas surge ${tc.maxSurge} unavailable ${tc.maxUnavailable} stays within bounds`, async (t) => {
    const c = new Cluster(makeDeployment({ replicas: tc.replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: tc.maxSurge, maxUnavailable: tc.maxUnavailable } } }));
    c.settle();
    c.updateSpec((s) => {
      s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
    });
    // Readiness arrives one pod per step, so the rollout has to take many small steps.
    c.autoReady = false;
    let minAvail = Infinity;
    let maxTotal = 0;
    let steps = 0;
    for (; steps < 200 && !rolloutDone(c); steps++) {
      const rec = c.step();
      minAvail = Math.min(minAvail, rec.available);
      maxTotal = Math.max(maxTotal, rec.total);
      c.makeReady(1);
      minAvail = Math.min(minAvail, c.pods.filter(isPodReady).length);
    }
    t.ok(rolloutDone(c), `done after ${steps} steps`);
    t.ok(minAvail >= tc.minAvailable, `available never below ${tc.minAvailable} (min ${minAvail})`);
    t.ok(maxTotal <= tc.maxTotal, `total never above ${tc.maxTotal} (max ${maxTotal})`);
    const newest = c.rs.find((r) => revisionOf(r) === 2);
    t.ok(newest);
    if (newest === undefined) return;
    t.equal(c.podsOf(newest).length, tc.replicas, 'all pods on the new replica set');
    t.equal(c.pods.length, tc.replicas);
    t.equal(c.rs.filter((r) => (r.spec?.replicas ?? 0) > 0).length, 1);
    t.equal(c.d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
  });
}

t.test('stale replica set status never lets scale-down overshoot maxUnavailable', async (t) => {
  // Old RS just scaled 10 -> 8 but its status still says 10 available; the
  // new RS's 3 pods turned ready. Kubernetes' plain sum would allow 5 more
  // down; the clamp to spec keeps available >= 8.
  const c = new Cluster(makeDeployment({ replicas: 10 }));
  c.settle();
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  c.syncDeployment(); // creates the new RS at 3 and, in the same sync, scales the old one to 8
  const old = c.rs.find((r) => revisionOf(r) === 1);
  t.equal(old?.spec?.replicas, 8);
  t.equal(old?.status?.availableReplicas, 10, 'status is stale');
  const newRS = c.rs.find((r) => revisionOf(r) === 2);
  if (newRS === undefined || old === undefined) throw new Error('missing rs');
  c.rs = c.rs.map((r) => (r === newRS ? { ...r, status: { ...r.status, replicas: 3, readyReplicas: 3, availableReplicas: 3 } } : r));
  c.syncDeployment(); // room for 2 more surge pods: new RS 3 -> 5
  t.equal(c.rs.find((r) => revisionOf(r) === 2)?.spec?.replicas, 5);
  const r = syncDeployment({ deployment: c.d, replicaSets: c.rs, pods: c.pods, now: c.now });
  const scaled = r.actions.find((a) => a.kind === 'updateReplicaSet' && a.replicaSet.metadata?.name === old.metadata?.name);
  t.ok(scaled);
  // Available: old min(10 stale, 8 spec) + new 3 = 11; minAvailable 8 -> 3 down (the unclamped sum would take 5).
  if (scaled?.kind === 'updateReplicaSet') t.equal(scaled.replicaSet.spec?.replicas, 5);
});

t.test('Recreate scales old to zero, waits for old pods to go, then scales new up', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 3, strategy: { type: 'Recreate' } }));
  c.settle();
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  let mixed = false;
  for (let i = 0; i < 50 && !rolloutDone(c); i++) {
    c.step();
    const owners = new Set(c.pods.map((p) => getControllerOf(p)?.uid));
    if (owners.size > 1) mixed = true;
  }
  t.ok(rolloutDone(c));
  t.notOk(mixed, 'old and new pods never run together');
  t.equal(c.pods.length, 3);
});

t.test('Recreate does not create the new replica set while old pods exist', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 2, strategy: { type: 'Recreate' } }));
  c.settle();
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  const r = c.syncDeployment();
  t.notOk(r.actions.some((a) => a.kind === 'createReplicaSet'));
  t.ok(r.actions.some((a) => a.kind === 'updateReplicaSet' && a.replicaSet.spec?.replicas === 0));
});

t.test('scaling mid-rollout scales replica sets proportionally', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 10 }));
  c.settle();
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  c.autoReady = false;
  c.step(); // new RS 3, old RS 10 -> total 13 (old scale-down waits: new pods unready... old 10 avail > 8 so old scales to 8)
  c.step();
  const before = c.rs.map((r) => ({ rev: revisionOf(r), n: r.spec?.replicas ?? 0 }));
  const total = before.reduce((n, x) => n + x.n, 0);
  t.equal(total, 13);
  c.updateSpec((s) => {
    s.replicas = 20;
  });
  const r = c.syncDeployment();
  const after = c.rs.map((x) => ({ rev: revisionOf(x), n: x.spec?.replicas ?? 0 }));
  t.equal(after.reduce((n, x) => n + x.n, 0), 25, '20 + 25% surge');
  for (const b of before) {
    const a = after.find((x) => x.rev === b.rev);
    t.ok((a?.n ?? 0) > b.n, `revision ${b.rev} grew (${b.n} -> ${a?.n})`);
  }
  t.ok(r.events.every((e) => e.reason === 'ScalingReplicaSet'));
  t.ok(r.events.some((e) => /^Scaled up replica set web-\w+ from \d+ to \d+$/.test(e.message)));
  for (const rs of c.rs) t.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'], '20');
});

t.test('a paused deployment scales but does not roll out; resume rolls out', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 2 }));
  c.settle();
  c.updateSpec((s) => {
    s.paused = true;
  });
  c.settle();
  t.equal(getCondition(c.d.status, 'Progressing')?.reason, 'DeploymentPaused');
  t.equal(getCondition(c.d.status, 'Progressing')?.status, 'Unknown');
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
    s.replicas = 4;
  });
  c.settle();
  t.equal(c.rs.length, 1, 'no new replica set while paused');
  t.equal(c.rs[0].spec?.replicas, 4, 'scaling still works');
  t.equal(c.d.status?.observedGeneration, c.d.metadata?.generation);
  c.updateSpec((s) => {
    s.paused = false;
  });
  c.settle();
  t.ok(rolloutDone(c));
  t.equal(c.rs.filter((r) => (r.spec?.replicas ?? 0) > 0).length, 1);
  t.equal(revisionOf(c.rs.find((r) => (r.spec?.replicas ?? 0) > 0) ?? {}), 2);
  t.equal(getCondition(c.d.status, 'Progressing')?.reason, 'NewReplicaSetAvailable');
});

t.test('no progress past progressDeadlineSeconds reports ProgressDeadlineExceeded', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 2, progressDeadlineSeconds: 30 }));
  c.autoReady = false;
  c.step();
  c.step();
  const r1 = c.syncDeployment();
  t.ok((r1.requeueAfterMs ?? 0) > 0 && (r1.requeueAfterMs ?? 0) <= 31000, 'asks to be synced near the deadline');
  c.now += 31_000;
  c.step();
  const cond = getCondition(c.d.status, 'Progressing');
  t.equal(cond?.reason, 'ProgressDeadlineExceeded');
  t.equal(cond?.status, 'False');
  t.match(cond?.message, /^ReplicaSet "web-\w+" has timed out progressing\.$/);
  // Pods becoming ready afterwards counts as progress again.
  c.makeReady();
  c.settle();
  t.equal(getCondition(c.d.status, 'Progressing')?.reason, 'NewReplicaSetAvailable');
});

t.test('old replica sets beyond revisionHistoryLimit are deleted once scaled down', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 1, revisionHistoryLimit: 2 }));
  c.settle();
  for (const image of ['a:1', 'a:2', 'a:3', 'a:4']) {
    c.updateSpec((s) => {
      s.template = { ...s.template, spec: { containers: [{ name: 'c', image }] } };
    });
    c.settle();
  }
  t.same(c.rs.map(revisionOf).sort(), [3, 4, 5], 'current plus two old');
});

t.test('rollout undo (template patched back) reuses the old replica set with a new revision', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 2 }));
  c.settle();
  const firstTemplate = structuredClone(c.d.spec?.template);
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  c.settle();
  // kubectl rollout undo: PATCH the template from revision 1's RS, minus the hash label.
  c.updateSpec((s) => {
    s.template = structuredClone(firstTemplate) ?? {};
  });
  c.settle();
  t.equal(c.rs.length, 2, 'no third replica set');
  const active = c.rs.find((r) => (r.spec?.replicas ?? 0) > 0);
  t.equal(revisionOf(active ?? {}), 3);
  t.equal(active?.metadata?.annotations?.[REVISION_HISTORY_ANNOTATION], '1');
  t.ok(rolloutDone(c));
  t.equal(c.d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
});

t.test('change-cause and other annotations are copied to the new replica set; skipped ones are not', async (t) => {
  const d = makeDeployment({ replicas: 1 });
  d.metadata = { ...d.metadata, annotations: { 'kubernetes.io/change-cause': 'v2', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } };
  const c = new Cluster(d);
  c.settle();
  const ann = c.rs[0].metadata?.annotations ?? {};
  t.equal(ann['kubernetes.io/change-cause'], 'v2');
  t.notOk('kubectl.kubernetes.io/last-applied-configuration' in ann);
});

t.test('adopts orphan replica sets matching the selector and releases non-matching ones', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 1 }));
  c.settle();
  const orphan = { ...structuredClone(c.rs[0]), metadata: { ...c.rs[0].metadata, name: 'orphan', uid: 'o1', ownerReferences: [] } };
  const stray = { ...structuredClone(c.rs[0]), metadata: { ...c.rs[0].metadata, name: 'stray', uid: 's1', labels: { app: 'other' } } };
  const r = syncDeployment({ deployment: c.d, replicaSets: [...c.rs, orphan, stray], pods: c.pods, now: c.now });
  t.same(r.actions.filter((a) => a.kind === 'adoptReplicaSet').map((a) => a.kind === 'adoptReplicaSet' && a.replicaSet.metadata?.name), ['orphan']);
  t.same(r.actions.filter((a) => a.kind === 'releaseReplicaSet').map((a) => a.kind === 'releaseReplicaSet' && a.replicaSet.metadata?.name), ['stray']);
});

t.test('an empty selector only warns', async (t) => {
  const d = makeDeployment();
  d.spec = { ...d.spec, selector: {}, template: d.spec?.template ?? {} };
  const r = syncDeployment({ deployment: d, replicaSets: [], pods: [], now: 0 });
  t.same(r.events.map((e) => e.reason), ['SelectingAll']);
  t.same(r.actions, [{ kind: 'updateStatus', status: { observedGeneration: 1 } }]);
});

t.test('status during a rollout reads like Kubernetes for kubectl rollout status', async (t) => {
  const c = new Cluster(makeDeployment({ replicas: 4 }));
  c.settle();
  c.updateSpec((s) => {
    s.template = { ...s.template, spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } };
  });
  c.autoReady = false;
  c.step();
  c.step();
  const s = c.d.status ?? {};
  t.equal(s.observedGeneration, 2);
  t.ok((s.updatedReplicas ?? 0) > 0 && (s.updatedReplicas ?? 0) < 4);
  t.ok((s.replicas ?? 0) > (s.updatedReplicas ?? 0));
  t.equal(getCondition(s, 'Progressing')?.status, 'True');
  t.notOk(rolloutDone(c));
});
