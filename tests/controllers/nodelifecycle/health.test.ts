import t from 'tap';
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { conditionTaints, lastHeartbeatMs, reconcileTaints, unknownConditions } from '../../../pkg/controllers/nodelifecycle/health.js';

const T0 = '2025-01-01T00:00:00Z';
const NOW = '2025-01-01T00:10:00Z';
const cond = (type: string, status: string, hb = T0): NodeCondition => ({ type, status, reason: 'Kubelet', message: 'm', lastHeartbeatTime: hb, lastTransitionTime: T0 });
const node = (conditions: NodeCondition[], taints?: Taint[], unschedulable?: boolean): Node => ({
  metadata: { name: 'n', creationTimestamp: T0 },
  spec: { ...(taints ? { taints } : {}), ...(unschedulable ? { unschedulable } : {}) },
  status: { conditions },
});
const UNREACHABLE_NE: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
const UNREACHABLE_NS: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' };
const NOT_READY_NE: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
const NOT_READY_NS: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

t.test('lastHeartbeatMs', async (t) => {
  const lease = (renewTime?: string) => ({ spec: renewTime ? { renewTime } : {} });
  const cases: [string, Node, ReturnType<typeof lease> | undefined, string | undefined][] = [
    ['nothing', node([]), undefined, undefined],
    ['condition only', node([cond('Ready', 'True', T0)]), undefined, T0],
    ['lease only', node([]), lease('2025-01-01T00:05:00.123456Z'), '2025-01-01T00:05:00.123Z'],
    ['lease newer', node([cond('Ready', 'True', T0)]), lease('2025-01-01T00:05:00Z'), '2025-01-01T00:05:00Z'],
    ['condition newer', node([cond('Ready', 'True', '2025-01-01T00:06:00Z')]), lease('2025-01-01T00:05:00Z'), '2025-01-01T00:06:00Z'],
    ['garbage time ignored', node([cond('Ready', 'True', 'yesterday')]), lease(T0), T0],
  ];
  for (const [name, n, l, want] of cases) t.equal(lastHeartbeatMs(n, l), want === undefined ? undefined : Date.parse(want), name);
});

t.test('unknownConditions', async (t) => {
  const fresh = node([cond('Ready', 'True'), cond('MemoryPressure', 'False'), cond('DiskPressure', 'False'), cond('PIDPressure', 'False'), cond('NetworkUnavailable', 'False')]);
  const got = unknownConditions(fresh, NOW);
  t.ok(got);
  const ready = got?.find((c) => c.type === 'Ready');
  t.same(ready, { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: T0, lastTransitionTime: NOW });
  for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) t.equal(got?.find((c) => c.type === type)?.status, 'Unknown', type);
  t.equal(got?.find((c) => c.type === 'NetworkUnavailable')?.status, 'False', 'NetworkUnavailable is not the kubelet heartbeat: left alone');
  t.equal(unknownConditions(node(got ?? []), NOW), undefined, 'already Unknown: no change');
  const never = unknownConditions(node([]), NOW);
  t.same(never?.map((c) => [c.type, c.status, c.reason]), [
    ['Ready', 'Unknown', 'NodeStatusNeverUpdated'],
    ['MemoryPressure', 'Unknown', 'NodeStatusNeverUpdated'],
    ['DiskPressure', 'Unknown', 'NodeStatusNeverUpdated'],
    ['PIDPressure', 'Unknown', 'NodeStatusNeverUpdated'],
  ]);
  t.equal(never?.[0].message, 'Kubelet never posted node status.');
});

t.test('conditionTaints', async (t) => {
  const cases: [string, Node, Taint[]][] = [
    ['ready', node([cond('Ready', 'True')]), []],
    ['no conditions yet', node([]), []],
    ['not ready', node([cond('Ready', 'False')]), [NOT_READY_NE, NOT_READY_NS]],
    ['unknown', node([cond('Ready', 'Unknown')]), [UNREACHABLE_NE, UNREACHABLE_NS]],
    ['memory pressure', node([cond('Ready', 'True'), cond('MemoryPressure', 'True')]), [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }]],
    ['disk pressure False', node([cond('Ready', 'True'), cond('DiskPressure', 'False')]), []],
    ['cordoned', node([cond('Ready', 'True')], [], true), [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]],
  ];
  for (const [name, n, want] of cases) t.same(conditionTaints(n), want, name);
});

t.test('reconcileTaints', async (t) => {
  const user: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
  const old: Taint = { ...UNREACHABLE_NE, timeAdded: T0 };
  const cases: [string, Node, Taint[] | undefined][] = [
    ['ready, nothing to do', node([cond('Ready', 'True')], [user]), undefined],
    ['unknown: add both, NoExecute stamped', node([cond('Ready', 'Unknown')], [user]), [user, { ...UNREACHABLE_NE, timeAdded: NOW }, UNREACHABLE_NS]],
    ['unknown and already tainted', node([cond('Ready', 'Unknown')], [old, UNREACHABLE_NS]), undefined],
    ['ready again: managed taints removed, user ones stay', node([cond('Ready', 'True')], [user, old, UNREACHABLE_NS]), [user]],
    ['unknown → false: swapped', node([cond('Ready', 'False')], [old, UNREACHABLE_NS]), [{ ...NOT_READY_NE, timeAdded: NOW }, NOT_READY_NS]],
    ["kubelet's registration taint removed once Ready", node([cond('Ready', 'True')], [NOT_READY_NS]), []],
  ];
  for (const [name, n, want] of cases) t.same(reconcileTaints(n, NOW), want, name);
});
