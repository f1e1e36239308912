import t from 'tap';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { containerHash } from '../../pkg/kubelet/actions.js';
import { computePodStatus, type StatusContext } from '../../pkg/kubelet/status.js';
import type { ContainerInfo } from '../../pkg/kubelet/runtime/types.js';

const A: Container = { name: 'a', image: 'img:1' };
const B: Container = { name: 'b', image: 'img:1', readinessProbe: { exec: { command: ['x'] } } };
const I: Container = { name: 'i', image: 'img:1' };
const NOW = new Date('2025-01-02T03:04:05Z');

function pod(restartPolicy: string, containers: Container[] = [A], initContainers: Container[] = [], extra: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { restartPolicy, containers, initContainers, ...extra },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }] },
  };
}
let seq = 0;
const at = (s: number) => new Date(NOW.getTime() - 100_000 + s * 1000);
const sandbox = (state: ContainerInfo['state'] = 'running'): ContainerInfo => ({ id: `sb${seq++}`, type: 'podsandbox', podUid: 'u1', podNamespace: 'default', podName: 'p', name: 'POD', state, createdAt: at(seq), image: 'pause', imageId: '', restartCount: 0, specHash: '', ip: '10.88.0.7', labels: {} });
function ctr(spec: Container, state: ContainerInfo['state'], o: { exitCode?: number; restartCount?: number; kind?: 'init' | 'regular'; id?: string; reason?: string } = {}): ContainerInfo {
  seq++;
  return {
    id: o.id ?? `${spec.name}${seq}`,
    type: 'container',
    podUid: 'u1',
    podNamespace: 'default',
    podName: 'p',
    name: spec.name,
    kind: o.kind ?? 'regular',
    state,
    exitCode: o.exitCode,
    reason: o.reason,
    createdAt: at(seq),
    startedAt: state === 'created' ? undefined : at(seq),
    finishedAt: state === 'exited' ? at(seq + 1) : undefined,
    image: spec.image ?? '',
    imageId: 'sha256:abc',
    restartCount: o.restartCount ?? 0,
    specHash: containerHash(spec),
    labels: {},
  };
}
const ctx = (over: Partial<StatusContext> = {}): StatusContext => ({ now: NOW, nodeIP: '10.0.0.5', runtimeType: 'docker', ...over });

interface Case {
  name: string;
  pod: Pod;
  observed: () => ContainerInfo[];
  ctx?: Partial<StatusContext>;
  phase: string;
  conditions: Record<string, string>;
  reasons?: Record<string, string>;
  states?: string[];
}

const cases: Case[] = [
  { name: 'nothing yet', pod: pod('Always'), observed: () => [], phase: 'Pending', conditions: { PodReadyToStartContainers: 'False', Initialized: 'True', Ready: 'False', ContainersReady: 'False', PodScheduled: 'True' }, states: ['waiting:ContainerCreating'] },
  { name: 'running', pod: pod('Always'), observed: () => [sandbox(), ctr(A, 'running')], phase: 'Running', conditions: { PodReadyToStartContainers: 'True', Initialized: 'True', Ready: 'True', ContainersReady: 'True' }, states: ['running'] },
  { name: 'readiness not passed', pod: pod('Always', [A, B]), observed: () => [sandbox(), ctr(A, 'running'), ctr(B, 'running', { id: 'bb' })], ctx: { readiness: (id) => (id === 'bb' ? false : undefined) }, phase: 'Running', conditions: { Ready: 'False', ContainersReady: 'False' }, reasons: { Ready: 'ContainersNotReady' } },
  { name: 'Always, crashed, back-off', pod: pod('Always'), observed: () => [sandbox(), ctr(A, 'exited', { exitCode: 1, restartCount: 3 })], ctx: { waiting: new Map([['a', { reason: 'CrashLoopBackOff', message: 'back-off' }]]) }, phase: 'Running', conditions: { Ready: 'False' }, states: ['waiting:CrashLoopBackOff'] },
  { name: 'Never, exit 0', pod: pod('Never'), observed: () => [sandbox('exited'), ctr(A, 'exited', { exitCode: 0 })], phase: 'Succeeded', conditions: { Ready: 'False', Initialized: 'True' }, reasons: { Ready: 'PodCompleted', Initialized: 'PodCompleted', ContainersReady: 'PodCompleted' }, states: ['terminated:Completed'] },
  { name: 'Never, exit 1', pod: pod('Never'), observed: () => [sandbox('exited'), ctr(A, 'exited', { exitCode: 1 })], phase: 'Failed', conditions: { Ready: 'False' }, states: ['terminated:Error'] },
  { name: 'OnFailure, one failed one running', pod: pod('OnFailure', [A, { name: 'c', image: 'x' }]), observed: () => [sandbox(), ctr(A, 'exited', { exitCode: 1 }), ctr({ name: 'c', image: 'x' }, 'running')], phase: 'Running', conditions: { Ready: 'False' }, states: ['terminated:Error', 'running'] },
  { name: 'OOMKilled', pod: pod('Never'), observed: () => [sandbox(), ctr(A, 'exited', { exitCode: 137, reason: 'OOMKilled' })], phase: 'Failed', conditions: {}, states: ['terminated:OOMKilled'] },
  { name: 'image pull error', pod: pod('Always'), observed: () => [sandbox()], ctx: { waiting: new Map([['a', { reason: 'ErrImagePull', message: 'nope' }]]) }, phase: 'Pending', conditions: { PodReadyToStartContainers: 'True' }, states: ['waiting:ErrImagePull'] },
  { name: 'init running', pod: pod('Always', [A], [I]), observed: () => [sandbox(), ctr(I, 'running', { kind: 'init' })], phase: 'Pending', conditions: { Initialized: 'False', Ready: 'False' }, reasons: { Initialized: 'ContainersNotInitialized', Ready: 'ContainersNotInitialized' }, states: ['waiting:PodInitializing'] },
  { name: 'init failed with Never', pod: pod('Never', [A], [I]), observed: () => [sandbox('exited'), ctr(I, 'exited', { kind: 'init', exitCode: 2 })], phase: 'Failed', conditions: { Initialized: 'False' } },
  { name: 'init done, app running', pod: pod('Always', [A], [I]), observed: () => [sandbox(), ctr(I, 'exited', { kind: 'init', exitCode: 0 }), ctr(A, 'running')], phase: 'Running', conditions: { Initialized: 'True', Ready: 'True' } },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const s = computePodStatus(c.pod, c.observed(), ctx(c.ctx));
    t.equal(s.phase, c.phase, 'phase');
    for (const [type, want] of Object.entries(c.conditions)) t.equal(s.conditions?.find((x) => x.type === type)?.status, want, type);
    for (const [type, want] of Object.entries(c.reasons ?? {})) t.equal(s.conditions?.find((x) => x.type === type)?.reason, want, `${type} reason`);
    if (c.states) {
      const got = (s.containerStatuses ?? []).map((cs) => (cs.state?.running ? 'running' : cs.state?.waiting ? `waiting:${cs.state.waiting.reason}` : `terminated:${cs.state?.terminated?.reason}`));
      t.same(got, c.states, 'states');
    }
  });
}

t.test('container status details: ids, lastState, restartCount, times, IPs, qos', async (t) => {
  const p = pod('Always', [{ ...A, resources: { limits: { cpu: '1', memory: '1Gi' } } }]);
  const old = ctr(A, 'exited', { exitCode: 2, restartCount: 0, id: 'old' });
  const cur = ctr(A, 'running', { restartCount: 1, id: 'cur' });
  const s = computePodStatus(p, [sandbox(), old, cur], ctx());
  const cs = s.containerStatuses![0];
  t.equal(cs.containerID, 'docker://cur');
  t.equal(cs.imageID, 'sha256:abc');
  t.equal(cs.restartCount, 1);
  t.same(cs.lastState, { terminated: { exitCode: 2, reason: 'Error', startedAt: old.startedAt!.toISOString().replace('.000', ''), finishedAt: old.finishedAt!.toISOString().replace('.000', ''), containerID: 'docker://old' } });
  t.equal(s.podIP, '10.88.0.7');
  t.equal(s.hostIP, '10.0.0.5');
  t.equal(s.qosClass, 'Guaranteed');
  t.equal(s.startTime, '2025-01-02T03:04:05Z');
  t.equal(s.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, '2025-01-01T00:00:00Z', 'scheduler condition kept');
});

t.test('lastTransitionTime only moves on a change; a finished pod stays finished', async (t) => {
  const p = pod('Always');
  const first = computePodStatus(p, [sandbox(), ctr(A, 'running')], ctx());
  const later = new Date(NOW.getTime() + 60_000);
  const again = computePodStatus({ ...p, status: first }, [sandbox(), ctr(A, 'running')], ctx({ now: later }));
  t.equal(again.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2025-01-02T03:04:05Z');
  const flipped = computePodStatus({ ...p, status: first }, [sandbox()], ctx({ now: later }));
  t.equal(flipped.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime, '2025-01-02T03:05:05Z');
  const done = computePodStatus({ ...pod('Always'), status: { phase: 'Failed' } }, [sandbox(), ctr(A, 'running')], ctx());
  t.equal(done.phase, 'Failed');
});

t.test('qosClass', async (t) => {
  const cases: [Container['resources'], string][] = [
    [undefined, 'BestEffort'],
    [{ requests: { cpu: '100m' } }, 'Burstable'],
    [{ limits: { cpu: '1', memory: '1Gi' } }, 'Guaranteed'],
    [{ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }, 'Burstable'],
  ];
  for (const [resources, want] of cases) t.equal(computePodStatus(pod('Always', [{ ...A, resources }]), [], ctx()).qosClass, want, JSON.stringify(resources));
});

t.test('hostNetwork: podIP is the node IP', async (t) => {
  const s = computePodStatus(pod('Always', [A], [], { hostNetwork: true }), [{ ...sandbox(), ip: undefined }, ctr(A, 'running')], ctx());
  t.equal(s.podIP, '10.0.0.5');
  t.same(s.podIPs, [{ ip: '10.0.0.5' }]);
});
