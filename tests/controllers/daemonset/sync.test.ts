import t from 'tap';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { nodeShouldRunDaemonPod } from '../../../pkg/controllers/daemonset/nodes.js';
import { daemonPod, REVISION_HASH_LABEL, syncDaemonSet, targetNodeName } from '../../../pkg/controllers/daemonset/sync.js';
import { isPodAvailable } from '../../../pkg/controllers/replicaset/pods.js';

const T = Date.parse('2025-01-01T00:00:00Z');

function node(name: string, o: { labels?: Record<string, string>; taints?: { key: string; effect: string; value?: string }[] } = {}): Node {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } }, spec: { taints: o.taints } };
}

function ds(o: { image?: string; nodeSelector?: Record<string, string>; strategy?: NonNullable<DaemonSet['spec']>['updateStrategy']; tolerations?: { key?: string; operator?: string; effect?: string }[]; affinityZone?: string } = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'kube-system', uid: 'ds-uid', generation: 1 },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      updateStrategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'c', image: o.image ?? 'agent:1' }],
          nodeSelector: o.nodeSelector,
          tolerations: o.tolerations,
          affinity: o.affinityZone === undefined ? undefined : {
            nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: [o.affinityZone] }] }] } },
          },
        },
      },
    },
    status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 },
  };
}

const eligibility: { name: string; n: Node; d: DaemonSet; run: boolean; stay: boolean }[] = [
  { name: 'plain node', n: node('a'), d: ds(), run: true, stay: true },
  { name: 'nodeSelector mismatch', n: node('a'), d: ds({ nodeSelector: { gpu: 'yes' } }), run: false, stay: false },
  { name: 'nodeSelector match', n: node('a', { labels: { gpu: 'yes' } }), d: ds({ nodeSelector: { gpu: 'yes' } }), run: true, stay: true },
  { name: 'required affinity mismatch', n: node('a', { labels: { zone: 'b' } }), d: ds({ affinityZone: 'a' }), run: false, stay: false },
  { name: 'required affinity match', n: node('a', { labels: { zone: 'a' } }), d: ds({ affinityZone: 'a' }), run: true, stay: true },
  { name: 'untolerated NoSchedule: keep existing', n: node('a', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }), d: ds(), run: false, stay: true },
  { name: 'untolerated NoExecute: evict', n: node('a', { taints: [{ key: 'dedicated', effect: 'NoExecute' }] }), d: ds(), run: false, stay: false },
  { name: 'tolerated taint', n: node('a', { taints: [{ key: 'dedicated', effect: 'NoExecute' }] }), d: ds({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }), run: true, stay: true },
  { name: 'default toleration: unschedulable', n: node('a', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] }), d: ds(), run: true, stay: true },
  { name: 'default toleration: not-ready NoExecute', n: node('a', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }), d: ds(), run: true, stay: true },
  { name: 'default toleration: unreachable NoExecute', n: node('a', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }), d: ds(), run: true, stay: true },
  { name: 'default toleration: disk-pressure', n: node('a', { taints: [{ key: 'node.kubernetes.io/disk-pressure', effect: 'NoSchedule' }] }), d: ds(), run: true, stay: true },
  { name: 'PreferNoSchedule is ignored', n: node('a', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), d: ds(), run: true, stay: true },
];
for (const c of eligibility) {
  t.test(`eligibility: ${c.name}`, async (t) => t.same(nodeShouldRunDaemonPod(c.n, c.d), { shouldRun: c.run, shouldContinueRunning: c.stay }));
}

/** A small cluster: applies a sync's creates (bound at once) and deletes; the kubelet readies pods on demand. */
class World {
  pods: Pod[] = [];
  now = T;
  seq = 0;
  constructor(public d: DaemonSet, public nodes: Node[]) {}
  step(ready = true) {
    const r = syncDaemonSet({ daemonSet: this.d, nodes: this.nodes, pods: this.pods, now: this.now });
    const gone = new Set(r.delete.map((p) => p.metadata?.uid));
    this.pods = this.pods.filter((p) => !gone.has(p.metadata?.uid));
    for (const n of r.createOnNodes) {
      const p = daemonPod(this.d, n, r.hash);
      this.seq++;
      this.pods.push({ ...p, metadata: { ...p.metadata, name: `agent-${this.seq}`, uid: `u${this.seq}`, creationTimestamp: new Date(this.now).toISOString() }, spec: { ...p.spec, containers: p.spec?.containers ?? [], nodeName: n }, status: { phase: 'Pending' } });
    }
    this.d = { ...this.d, status: r.status };
    if (ready) this.readyAll();
    this.now += 1000;
    return r;
  }
  readyAll() {
    this.pods = this.pods.map((p) => (p.status?.phase === 'Running' ? p : { ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(this.now).toISOString() }] } }));
  }
  update(image: string) {
    const spec = structuredClone(this.d.spec);
    if (spec === undefined) throw new Error('no spec');
    spec.template.spec = { ...spec.template.spec, containers: [{ name: 'c', image }] };
    this.d = { ...this.d, metadata: { ...this.d.metadata, generation: (this.d.metadata?.generation ?? 1) + 1 }, spec };
  }
}

t.test('one pod per eligible node, pinned by node affinity, with default tolerations', async (t) => {
  const w = new World(ds(), [node('a'), node('b'), node('c', { taints: [{ key: 'dedicated', effect: 'NoSchedule' }] })]);
  const r = w.step(false);
  t.same(r.createOnNodes, ['a', 'b']);
  const p = daemonPod(w.d, 'a', r.hash);
  t.equal(targetNodeName(p), 'a');
  t.same(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }] });
  t.equal(p.metadata?.labels?.[REVISION_HASH_LABEL], r.hash);
  t.equal(p.metadata?.generateName, 'agent-');
  t.ok(p.spec?.tolerations?.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute'));
  t.ok(p.spec?.tolerations?.some((x) => x.key === 'node.kubernetes.io/unschedulable' && x.effect === 'NoSchedule'));
  w.readyAll();
  const again = w.step();
  t.same(again.createOnNodes, []);
  t.match(again.status, { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberAvailable: 2, updatedNumberScheduled: 2, numberMisscheduled: 0, observedGeneration: 1 });
});

t.test('pods leave nodes that stop matching; misscheduled pods are counted', async (t) => {
  const w = new World(ds({ nodeSelector: { role: 'edge' } }), [node('a', { labels: { role: 'edge' } }), node('b', { labels: { role: 'edge' } })]);
  w.step();
  t.equal(w.pods.length, 2);
  w.nodes = [node('a', { labels: { role: 'edge' } }), node('b')];
  const r = syncDaemonSet({ daemonSet: w.d, nodes: w.nodes, pods: w.pods, now: w.now });
  t.equal(r.status.numberMisscheduled, 1);
  t.same(r.delete.map((p) => p.spec?.nodeName), ['b']);
});

t.test('failed daemon pods are deleted with an event; extra pods on a node are pruned', async (t) => {
  const w = new World(ds(), [node('a')]);
  w.step();
  w.pods = w.pods.map((p) => ({ ...p, status: { phase: 'Failed' } }));
  const r = w.step();
  t.equal(r.delete.length, 1);
  t.same(r.events.map((e) => e.reason), ['FailedDaemonPod']);
  w.step();
  t.equal(w.pods.length, 1);
  const dup = { ...w.pods[0], metadata: { ...w.pods[0].metadata, name: 'zz-dup', uid: 'dup', creationTimestamp: new Date(w.now).toISOString() } };
  w.pods.push(dup);
  const pr = w.step();
  t.same(pr.delete.map((p) => p.metadata?.uid), ['dup'], 'the newer duplicate goes');
});

for (const maxUnavailable of [1, 2, '50%']) {
  t.test(`rolling update with maxUnavailable ${maxUnavailable} replaces every pod within budget`, async (t) => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((n) => node(n));
    const w = new World(ds({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable, maxSurge: 0 } } }), nodes);
    w.step();
    w.update('agent:2');
    const budget = maxUnavailable === '50%' ? 3 : Number(maxUnavailable);
    let worst = 0;
    for (let i = 0; i < 40; i++) {
      w.step(false);
      const availableNodes = new Set(w.pods.filter((p) => isPodAvailable(p, 0, w.now)).map((p) => p.spec?.nodeName));
      worst = Math.max(worst, 5 - availableNodes.size);
      w.readyAll();
      if (w.d.status?.updatedNumberScheduled === 5 && w.d.status.numberAvailable === 5) break;
    }
    t.equal(w.d.status?.updatedNumberScheduled, 5);
    t.equal(w.d.status?.observedGeneration, 2);
    t.ok(worst <= budget, `at most ${budget} nodes without an available pod (worst ${worst})`);
    t.ok(worst >= 1, 'the update did take pods down');
    t.equal(w.pods.length, 5);
  });
}

t.test('rolling update with maxSurge starts the new pod before removing the old one', async (t) => {
  const nodes = ['a', 'b', 'c'].map((n) => node(n));
  const w = new World(ds({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }), nodes);
  w.step();
  w.update('agent:2');
  let minAvailableNodes = 3;
  let maxPods = 0;
  for (let i = 0; i < 40; i++) {
    w.step(false);
    maxPods = Math.max(maxPods, w.pods.length);
    minAvailableNodes = Math.min(minAvailableNodes, new Set(w.pods.filter((p) => isPodAvailable(p, 0, w.now)).map((p) => p.spec?.nodeName)).size);
    w.readyAll();
    if (w.d.status?.updatedNumberScheduled === 3 && w.pods.length === 3) break;
  }
  t.equal(w.d.status?.updatedNumberScheduled, 3);
  t.equal(minAvailableNodes, 3, 'no node ever without an available pod');
  t.equal(maxPods, 4, 'one surge pod at a time');
});

t.test('OnDelete leaves old pods until they are deleted', async (t) => {
  const w = new World(ds({ strategy: { type: 'OnDelete' } }), [node('a'), node('b')]);
  w.step();
  w.update('agent:2');
  const r = w.step();
  t.same([r.delete.length, r.createOnNodes.length], [0, 0]);
  t.equal(r.status.updatedNumberScheduled, 0);
  w.pods = w.pods.slice(1);
  w.step();
  const s = w.step().status;
  t.equal(s.updatedNumberScheduled, 1);
  t.equal(s.currentNumberScheduled, 2);
});

t.test('unsatisfied expectations: status only, observedGeneration kept', async (t) => {
  const d = { ...ds(), status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, observedGeneration: 0 } };
  const r = syncDaemonSet({ daemonSet: d, nodes: [node('a')], pods: [], now: T, expectationsSatisfied: false });
  t.same(r.createOnNodes, []);
  t.equal(r.status.observedGeneration, 0);
  t.equal(r.status.desiredNumberScheduled, 1);
});

t.test('burst limit caps creates per sync', async (t) => {
  const nodes = Array.from({ length: 300 }, (_, i) => node(`n${i}`));
  const r = syncDaemonSet({ daemonSet: ds(), nodes, pods: [], now: T });
  t.equal(r.createOnNodes.length, 250);
});
