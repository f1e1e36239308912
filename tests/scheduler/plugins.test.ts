import t from 'tap';
import type { Node, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { SchedulerCache } from '../../pkg/scheduler/cache.js';
import * as leastAllocated from '../../pkg/scheduler/plugins/least-allocated.js';
import * as nodeAffinity from '../../pkg/scheduler/plugins/node-affinity.js';
import * as nodeName from '../../pkg/scheduler/plugins/node-name.js';
import * as nodePorts from '../../pkg/scheduler/plugins/node-ports.js';
import * as nodeReady from '../../pkg/scheduler/plugins/node-ready.js';
import * as nodeResourcesFit from '../../pkg/scheduler/plugins/node-resources-fit.js';
import * as nodeUnschedulable from '../../pkg/scheduler/plugins/node-unschedulable.js';
import { buildPlugins, DEFAULT_PLUGINS, registry } from '../../pkg/scheduler/plugins/registry.js';
import * as selectorSpread from '../../pkg/scheduler/plugins/selector-spread.js';
import * as taintToleration from '../../pkg/scheduler/plugins/taint-toleration.js';
import { podInfoOf } from '../../pkg/scheduler/podinfo.js';
import type { FilterResult, NodeInfo, Plugin } from '../../pkg/scheduler/types.js';
import { makeNode, makePod } from './fixtures.js';

const state = { numAllNodes: 1 };

function nodeInfo(node: Node, pods: Pod[] = []): NodeInfo {
  const cache = new SchedulerCache();
  cache.addNode(node);
  for (const p of pods) cache.addPod({ ...p, spec: { ...p.spec!, nodeName: node.metadata!.name } });
  return cache.nodeInfo(node.metadata!.name!)!;
}

function runFilter(plugin: Plugin, pod: Pod, ni: NodeInfo): FilterResult {
  return plugin.filter!(podInfoOf(pod), ni, state);
}

function reasons(r: FilterResult): readonly string[] {
  return r.fit ? [] : r.reasons;
}

t.test('registry holds every plugin of the default profile', async (t) => {
  for (const n of DEFAULT_PLUGINS) t.ok(registry.has(n), n);
  t.same(buildPlugins().map((p) => p.name), DEFAULT_PLUGINS);
  t.throws(() => buildPlugins(['Nope']), { name: 'UnknownPluginError' });
});

t.test('NodeUnschedulable', async (t) => {
  const p = nodeUnschedulable.nodeUnschedulable();
  const cases: { name: string; unschedulable: boolean; tolerations?: Toleration[]; want: string[] }[] = [
    { name: 'schedulable node', unschedulable: false, want: [] },
    { name: 'cordoned node', unschedulable: true, want: ['node(s) were unschedulable'] },
    {
      name: 'cordoned, tolerated',
      unschedulable: true,
      tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      want: [],
    },
    { name: 'cordoned, tolerate-everything', unschedulable: true, tolerations: [{ operator: 'Exists' }], want: [] },
    { name: 'cordoned, wrong effect tolerated', unschedulable: true, tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }], want: ['node(s) were unschedulable'] },
  ];
  for (const c of cases) {
    const r = runFilter(p, makePod('p', { tolerations: c.tolerations }), nodeInfo(makeNode('n', { unschedulable: c.unschedulable })));
    t.same(reasons(r), c.want, c.name);
  }
});

t.test('NodeName', async (t) => {
  const p = nodeName.nodeName();
  t.same(reasons(runFilter(p, makePod('p'), nodeInfo(makeNode('n1')))), [], 'no nodeName');
  t.same(reasons(runFilter(p, makePod('p', { nodeName: 'n1' }), nodeInfo(makeNode('n1')))), [], 'same node');
  t.same(reasons(runFilter(p, makePod('p', { nodeName: 'n2' }), nodeInfo(makeNode('n1')))), ["node(s) didn't match the requested node name"]);
});

t.test('NodeReady', async (t) => {
  const p = nodeReady.nodeReady();
  t.same(reasons(runFilter(p, makePod('p'), nodeInfo(makeNode('n')))), []);
  t.same(reasons(runFilter(p, makePod('p'), nodeInfo(makeNode('n', { ready: false })))), ['node(s) were not ready']);
});

t.test('NodeAffinity: nodeSelector and required terms', async (t) => {
  const p = nodeAffinity.nodeAffinity();
  const labels = { zone: 'a', disk: 'ssd', gen: '5', 'kubernetes.io/hostname': 'n1' };
  const term = (...matchExpressions: NodeSelectorTerm['matchExpressions'] & object): NodeSelectorTerm => ({ matchExpressions });
  const cases: { name: string; selector?: Record<string, string>; terms?: NodeSelectorTerm[]; fits: boolean }[] = [
    { name: 'nothing asked', fits: true },
    { name: 'selector matches', selector: { zone: 'a', disk: 'ssd' }, fits: true },
    { name: 'selector value differs', selector: { zone: 'b' }, fits: false },
    { name: 'selector label missing', selector: { gpu: 'true' }, fits: false },
    { name: 'In', terms: [term({ key: 'zone', operator: 'In', values: ['a', 'b'] })], fits: true },
    { name: 'In, no match', terms: [term({ key: 'zone', operator: 'In', values: ['c'] })], fits: false },
    { name: 'In, label absent', terms: [term({ key: 'nope', operator: 'In', values: ['a'] })], fits: false },
    { name: 'NotIn', terms: [term({ key: 'zone', operator: 'NotIn', values: ['b'] })], fits: true },
    { name: 'NotIn, label absent', terms: [term({ key: 'nope', operator: 'NotIn', values: ['b'] })], fits: true },
    { name: 'NotIn, excluded', terms: [term({ key: 'zone', operator: 'NotIn', values: ['a'] })], fits: false },
    { name: 'Exists', terms: [term({ key: 'disk', operator: 'Exists' })], fits: true },
    { name: 'Exists, absent', terms: [term({ key: 'gpu', operator: 'Exists' })], fits: false },
    { name: 'DoesNotExist', terms: [term({ key: 'gpu', operator: 'DoesNotExist' })], fits: true },
    { name: 'DoesNotExist, present', terms: [term({ key: 'disk', operator: 'DoesNotExist' })], fits: false },
    { name: 'Gt', terms: [term({ key: 'gen', operator: 'Gt', values: ['4'] })], fits: true },
    { name: 'Gt, equal', terms: [term({ key: 'gen', operator: 'Gt', values: ['5'] })], fits: false },
    { name: 'Lt', terms: [term({ key: 'gen', operator: 'Lt', values: ['10'] })], fits: true },
    { name: 'Lt, not an integer', terms: [term({ key: 'gen', operator: 'Lt', values: ['x'] })], fits: false },
    { name: 'Gt, label not an integer', terms: [term({ key: 'zone', operator: 'Gt', values: ['1'] })], fits: false },
    { name: 'expressions ANDed', terms: [term({ key: 'zone', operator: 'In', values: ['a'] }, { key: 'disk', operator: 'In', values: ['hdd'] })], fits: false },
    {
      name: 'terms ORed',
      terms: [term({ key: 'zone', operator: 'In', values: ['z'] }), term({ key: 'disk', operator: 'In', values: ['ssd'] })],
      fits: true,
    },
    { name: 'empty term matches nothing', terms: [{}], fits: false },
    { name: 'matchFields metadata.name In', terms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }], fits: true },
    { name: 'matchFields metadata.name In, other', terms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }], fits: false },
    { name: 'matchFields NotIn', terms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n2'] }] }], fits: true },
    { name: 'matchFields other key', terms: [{ matchFields: [{ key: 'metadata.uid', operator: 'In', values: ['n1'] }] }], fits: false },
    { name: 'selector and affinity both apply', selector: { zone: 'b' }, terms: [term({ key: 'disk', operator: 'Exists' })], fits: false },
  ];
  for (const c of cases) {
    const pod = makePod('p', { nodeSelector: c.selector });
    if (c.terms) pod.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: c.terms } } };
    const r = runFilter(p, pod, nodeInfo(makeNode('n1', { labels })));
    t.same(reasons(r), c.fits ? [] : ["node(s) didn't match Pod's node affinity/selector"], c.name);
  }
});

t.test('TaintToleration filter', async (t) => {
  const p = taintToleration.taintToleration();
  const cp: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
  const cases: { name: string; taints: Taint[]; tolerations?: Toleration[]; want: string[] }[] = [
    { name: 'no taints', taints: [], want: [] },
    { name: 'untolerated NoSchedule, empty value', taints: [cp], want: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'] },
    { name: 'untolerated NoExecute with value', taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }], want: ['node(s) had untolerated taint {dedicated: db}'] },
    { name: 'PreferNoSchedule does not filter', taints: [{ key: 'soft', effect: 'PreferNoSchedule' }], want: [] },
    { name: 'Exists toleration', taints: [cp], tolerations: [{ key: cp.key, operator: 'Exists' }], want: [] },
    { name: 'Equal toleration', taints: [{ key: 'd', value: 'db', effect: 'NoSchedule' }], tolerations: [{ key: 'd', value: 'db', effect: 'NoSchedule' }], want: [] },
    { name: 'Equal, other value', taints: [{ key: 'd', value: 'db', effect: 'NoSchedule' }], tolerations: [{ key: 'd', operator: 'Equal', value: 'web' }], want: ['node(s) had untolerated taint {d: db}'] },
    { name: 'effect mismatch', taints: [cp], tolerations: [{ key: cp.key, operator: 'Exists', effect: 'NoExecute' }], want: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'] },
    { name: 'empty key Exists tolerates all', taints: [cp, { key: 'x', effect: 'NoExecute' }], tolerations: [{ operator: 'Exists' }], want: [] },
    {
      name: 'first untolerated taint reported',
      taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }],
      tolerations: [{ key: 'a', operator: 'Exists' }],
      want: ['node(s) had untolerated taint {b: }'],
    },
  ];
  for (const c of cases) {
    const r = runFilter(p, makePod('p', { tolerations: c.tolerations }), nodeInfo(makeNode('n', { taints: c.taints })));
    t.same(reasons(r), c.want, c.name);
  }
});

t.test('TaintToleration score: fewer untolerated PreferNoSchedule taints is better', async (t) => {
  const soft = (k: string): Taint => ({ key: k, effect: 'PreferNoSchedule' });
  const nodes = [[], [soft('a')], [soft('a'), soft('b')]];
  const tol: Toleration[] = [{ key: 'b', operator: 'Exists', effect: 'PreferNoSchedule' }];
  t.same(nodes.map((ts) => taintToleration.countIntolerablePreferNoSchedule(ts, [])), [0, 1, 2]);
  t.same(nodes.map((ts) => taintToleration.countIntolerablePreferNoSchedule(ts, tol)), [0, 1, 1]);
  t.equal(taintToleration.countIntolerablePreferNoSchedule([soft('a')], [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }]), 1, 'a NoSchedule toleration does not count');
  const scores = [0, 1, 2];
  taintToleration.taintToleration().normalizeScores!(scores);
  t.same(scores, [100, 50, 0]);
  const none = [0, 0];
  taintToleration.defaultNormalizeScore(none, true);
  t.same(none, [100, 100]);
});

t.test('NodeResourcesFit', async (t) => {
  const p = nodeResourcesFit.nodeResourcesFit();
  const existing = [makePod('e1', { cpu: '1', memory: '1Gi' }), makePod('e2', { cpu: '1500m', memory: '2Gi' })];
  const node = () => nodeInfo(makeNode('n', { cpu: '4', memory: '4Gi', pods: '3', extra: { 'example.com/dongle': '1' } }), existing);
  const cases: { name: string; pod: Pod; want: string[] }[] = [
    { name: 'fits exactly', pod: makePod('p', { cpu: '1500m', memory: '1Gi' }), want: [] },
    { name: 'cpu short by 1m', pod: makePod('p', { cpu: '1501m' }), want: ['Insufficient cpu'] },
    { name: 'memory short', pod: makePod('p', { memory: '1025Mi' }), want: ['Insufficient memory'] },
    { name: 'both short, both reported', pod: makePod('p', { cpu: '2', memory: '2Gi' }), want: ['Insufficient cpu', 'Insufficient memory'] },
    { name: 'extended resource available', pod: makePod('p', { requests: { 'example.com/dongle': '1' } }), want: [] },
    { name: 'extended resource short', pod: makePod('p', { requests: { 'example.com/dongle': '2' } }), want: ['Insufficient example.com/dongle'] },
    { name: 'unknown resource', pod: makePod('p', { requests: { 'nvidia.com/gpu': '1' } }), want: ['Insufficient nvidia.com/gpu'] },
    { name: 'zero request always fits', pod: makePod('p'), want: [] },
  ];
  for (const c of cases) t.same(reasons(runFilter(p, c.pod, node())), c.want, c.name);

  const full = nodeInfo(makeNode('n', { pods: '2' }), existing);
  t.same(reasons(runFilter(p, makePod('p'), full)), ['Too many pods'], 'pod count reached');
  t.same(reasons(runFilter(p, makePod('p', { cpu: '3' }), full)), ['Too many pods', 'Insufficient cpu']);
  t.ok(nodeResourcesFit.fits(podInfoOf(makePod('p', { cpu: '1' })).requests, node()));

  const initHeavy = makePod('p', { cpu: '100m', initContainers: [{ name: 'i', image: 'x', resources: { requests: { cpu: '2' } } }] });
  t.same(reasons(runFilter(p, initHeavy, node())), ['Insufficient cpu'], 'init containers count');
});

t.test('NodePorts', async (t) => {
  const p = nodePorts.nodePorts();
  const holder = makePod('h', { hostPorts: [{ hostPort: 80 }, { hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }] });
  const conflict = ["node(s) didn't have free ports for the requested pod ports"];
  const cases: { name: string; ports: { hostPort: number; protocol?: string; hostIP?: string }[]; want: string[] }[] = [
    { name: 'no host ports', ports: [], want: [] },
    { name: 'same TCP port, any IP', ports: [{ hostPort: 80 }], want: conflict },
    { name: 'same port, specific IP vs 0.0.0.0 holder', ports: [{ hostPort: 80, hostIP: '10.0.0.2' }], want: conflict },
    { name: 'same port, other protocol', ports: [{ hostPort: 80, protocol: 'UDP' }], want: [] },
    { name: 'other port', ports: [{ hostPort: 8080 }], want: [] },
    { name: 'UDP 53 on another IP', ports: [{ hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.2' }], want: [] },
    { name: 'UDP 53 on the same IP', ports: [{ hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }], want: conflict },
    { name: 'UDP 53 on 0.0.0.0 vs a specific holder', ports: [{ hostPort: 53, protocol: 'UDP' }], want: conflict },
  ];
  for (const c of cases) {
    t.same(reasons(runFilter(p, makePod('p', { hostPorts: c.ports }), nodeInfo(makeNode('n'), [holder]))), c.want, c.name);
  }
  // Releasing a holder frees its ports.
  const cache = new SchedulerCache();
  cache.addNode(makeNode('n'));
  const bound = { ...holder, spec: { ...holder.spec!, nodeName: 'n' } };
  cache.addPod(bound);
  cache.removePod(bound);
  t.same(reasons(runFilter(p, makePod('p', { hostPorts: [{ hostPort: 80 }] }), cache.nodeInfo('n') ?? nodeInfo(makeNode('n')))), []);
});

t.test('NodeResourcesLeastAllocated', async (t) => {
  t.equal(leastAllocated.leastRequestedScore(0, 1000), 100);
  t.equal(leastAllocated.leastRequestedScore(250, 1000), 75);
  t.equal(leastAllocated.leastRequestedScore(1001, 1000), 0);
  t.equal(leastAllocated.leastRequestedScore(5, 0), 0);
  const plugin = leastAllocated.leastAllocated();
  const empty = nodeInfo(makeNode('n', { cpu: '4', memory: '4Gi' }));
  const busy = nodeInfo(makeNode('m', { cpu: '4', memory: '4Gi' }), [makePod('e', { cpu: '2', memory: '2Gi' })]);
  const pod = podInfoOf(makePod('p', { cpu: '1', memory: '1Gi' }));
  t.equal(plugin.score!(pod, empty, state), 75, '(75 + 75) / 2');
  t.equal(plugin.score!(pod, busy, state), 25);
  const defaults = podInfoOf(makePod('p'));
  t.equal(plugin.score!(defaults, empty, state), Math.floor((97 + 95) / 2), 'default requests 100m / 200Mi');
});

t.test('SelectorSpread', async (t) => {
  const plugin = selectorSpread.selectorSpread();
  const n0 = nodeInfo(makeNode('a'));
  const n2 = nodeInfo(makeNode('b'), [makePod('w1', { owner: 'web' }), makePod('w2', { owner: 'web' }), makePod('o', { owner: 'other' })]);
  const pod = podInfoOf(makePod('p', { owner: 'web' }));
  const scores = [n0, n2].map((n) => plugin.score!(pod, n, state));
  t.same(scores, [0, 2]);
  plugin.normalizeScores!(scores);
  t.same(scores, [100, 0]);
  const orphan = podInfoOf(makePod('q'));
  const flat = [n0, n2].map((n) => plugin.score!(orphan, n, state));
  plugin.normalizeScores!(flat);
  t.same(flat, [100, 100], 'pods without an owner do not spread');
});
