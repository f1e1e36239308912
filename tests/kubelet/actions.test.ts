import t from 'tap';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { computePodActions, containerHash, type ActionContext } from '../../pkg/kubelet/actions.js';
import type { ContainerInfo } from '../../pkg/kubelet/runtime/types.js';

const C1: Container = { name: 'a', image: 'img:1' };
const C2: Container = { name: 'b', image: 'img:1' };
const I1: Container = { name: 'i1', image: 'img:1' };
const I2: Container = { name: 'i2', image: 'img:1' };

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never', containers = [C1, C2], initContainers: Container[] = []): Pod {
  return { metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: { restartPolicy, containers, initContainers } };
}

let seq = 0;
function sandbox(state: ContainerInfo['state'] = 'running'): ContainerInfo {
  return { id: `sb${seq++}`, type: 'podsandbox', podUid: 'u1', podNamespace: 'default', podName: 'p', name: 'POD', state, createdAt: new Date(1000 + seq), image: 'pause', imageId: '', restartCount: 0, specHash: '', labels: {} };
}
function ctr(spec: Container, state: ContainerInfo['state'], o: { exitCode?: number; restartCount?: number; kind?: 'init' | 'regular'; hash?: string; id?: string } = {}): ContainerInfo {
  seq++;
  return {
    id: o.id ?? `${spec.name}-${seq}`,
    type: 'container',
    podUid: 'u1',
    podNamespace: 'default',
    podName: 'p',
    name: spec.name,
    kind: o.kind ?? 'regular',
    state,
    exitCode: o.exitCode,
    createdAt: new Date(2000 + seq),
    finishedAt: state === 'exited' ? new Date(3000 + seq) : undefined,
    image: spec.image ?? '',
    imageId: '',
    restartCount: o.restartCount ?? 0,
    specHash: o.hash ?? containerHash(spec),
    labels: {},
  };
}

const ctx = (over: Partial<ActionContext> = {}): ActionContext => ({ nowMs: 10_000, backoffRemaining: () => 0, backoffDelay: () => 10_000, ...over });

interface Case {
  name: string;
  pod: Pod;
  observed: () => ContainerInfo[];
  ctx?: Partial<ActionContext>;
  want: { killPod?: boolean; createSandbox?: boolean; start?: string[]; kill?: string[]; backOff?: string[]; restartCounts?: number[] };
}

const cases: Case[] = [
  { name: 'new pod: sandbox and all containers', pod: pod('Always'), observed: () => [], want: { createSandbox: true, start: ['a', 'b'], restartCounts: [0, 0] } },
  { name: 'new pod with init containers: the first init only', pod: pod('Always', [C1], [I1, I2]), observed: () => [], want: { createSandbox: true, start: ['i1'] } },
  { name: 'all running: nothing to do', pod: pod('Always'), observed: () => [sandbox(), ctr(C1, 'running'), ctr(C2, 'running')], want: {} },
  { name: 'Always: an exited container restarts', pod: pod('Always'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 0, restartCount: 2 }), ctr(C2, 'running')], want: { start: ['a'], restartCounts: [3] } },
  { name: 'OnFailure: exit 0 stays down', pod: pod('OnFailure'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 0 }), ctr(C2, 'running')], want: {} },
  { name: 'OnFailure: exit 1 restarts', pod: pod('OnFailure'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 1 }), ctr(C2, 'running')], want: { start: ['a'] } },
  { name: 'Never: exited stays down', pod: pod('Never'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 1 }), ctr(C2, 'running')], want: {} },
  { name: 'Never: all exited kills the pod (sandbox)', pod: pod('Never'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 1 }), ctr(C2, 'exited', { exitCode: 0 })], want: { killPod: true } },
  { name: 'OnFailure: all succeeded kills the pod', pod: pod('OnFailure'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 0 }), ctr(C2, 'exited', { exitCode: 0 })], want: { killPod: true } },
  { name: 'Never: dead sandbox is not recreated', pod: pod('Never'), observed: () => [sandbox('exited'), ctr(C1, 'exited', { exitCode: 0 }), ctr(C2, 'exited', { exitCode: 0 })], want: {} },
  { name: 'Always: dead sandbox is recreated, running containers killed', pod: pod('Always'), observed: () => [sandbox('exited'), ctr(C1, 'running'), ctr(C2, 'exited', { exitCode: 1 })], want: { killPod: true, createSandbox: true, start: ['a', 'b'] } },
  { name: 'OnFailure: dead sandbox, only failed containers restart', pod: pod('OnFailure'), observed: () => [sandbox('exited'), ctr(C1, 'exited', { exitCode: 0 }), ctr(C2, 'exited', { exitCode: 1 })], want: { createSandbox: true, start: ['b'] } },
  { name: 'changed spec hash: kill and restart', pod: pod('Always'), observed: () => [sandbox(), ctr(C1, 'running', { hash: 'old', id: 'x' }), ctr(C2, 'running')], want: { kill: ['x'], start: ['a'], restartCounts: [1] } },
  { name: 'liveness failure: kill and restart', pod: pod('Always'), observed: () => [sandbox(), ctr(C1, 'running', { id: 'x' }), ctr(C2, 'running')], ctx: { unhealthy: new Map([['x', 'liveness' as const]]) }, want: { kill: ['x'], start: ['a'] } },
  { name: 'liveness failure with Never: kill only', pod: pod('Never', [C1]), observed: () => [sandbox(), ctr(C1, 'running', { id: 'x' })], ctx: { unhealthy: new Map([['x', 'liveness' as const]]) }, want: { kill: ['x'], killPod: true } },
  { name: 'back-off holds a restart', pod: pod('Always'), observed: () => [sandbox(), ctr(C1, 'exited', { exitCode: 1 }), ctr(C2, 'running')], ctx: { backoffRemaining: () => 5000 }, want: { backOff: ['a'] } },
  { name: 'init: first running, wait', pod: pod('Always', [C1], [I1, I2]), observed: () => [sandbox(), ctr(I1, 'running', { kind: 'init' })], want: {} },
  { name: 'init: first done, start second', pod: pod('Always', [C1], [I1, I2]), observed: () => [sandbox(), ctr(I1, 'exited', { kind: 'init', exitCode: 0 })], want: { start: ['i2'] } },
  { name: 'init: all done, start apps', pod: pod('Always', [C1, C2], [I1, I2]), observed: () => [sandbox(), ctr(I1, 'exited', { kind: 'init', exitCode: 0 }), ctr(I2, 'exited', { kind: 'init', exitCode: 0 })], want: { start: ['a', 'b'] } },
  { name: 'init: failed with Always, retried', pod: pod('Always', [C1], [I1, I2]), observed: () => [sandbox(), ctr(I1, 'exited', { kind: 'init', exitCode: 1, restartCount: 1 })], want: { start: ['i1'], restartCounts: [2] } },
  { name: 'init: failed with Never, pod killed', pod: pod('Never', [C1], [I1]), observed: () => [sandbox(), ctr(I1, 'exited', { kind: 'init', exitCode: 1 })], want: { killPod: true } },
  { name: 'init: apps exist (init containers collected), init is done', pod: pod('Always', [C1], [I1]), observed: () => [sandbox(), ctr(C1, 'running')], want: {} },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const a = computePodActions(c.pod, c.observed(), ctx(c.ctx));
    t.equal(a.killPod, c.want.killPod ?? false, 'killPod');
    t.equal(a.createSandbox, c.want.createSandbox ?? false, 'createSandbox');
    t.same(a.toStart.map((s) => s.name), c.want.start ?? [], 'start');
    if (c.want.restartCounts) t.same(a.toStart.map((s) => s.restartCount), c.want.restartCounts, 'restart counts');
    t.same(a.toKill.map((k) => k.id), c.want.kill ?? [], 'kill');
    t.same(a.backOff.map((b) => b.name), c.want.backOff ?? [], 'backOff');
  });
}

t.test('container hash: stable, ignores resources, changes with image', async (t) => {
  t.equal(containerHash({ name: 'a', image: 'x:1', args: ['1'] }), containerHash({ args: ['1'], image: 'x:1', name: 'a' }));
  t.equal(containerHash({ name: 'a', image: 'x:1' }), containerHash({ name: 'a', image: 'x:1', resources: { limits: { cpu: '1' } } }));
  t.not(containerHash({ name: 'a', image: 'x:1' }), containerHash({ name: 'a', image: 'x:2' }));
});
