import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { EventRecorder } from '../../pkg/client/events.js';
import { startKubelet, KubeletLookupError, type Kubelet, type KubeletOptions } from '../../pkg/kubelet/kubelet.js';
import { HollowRuntime } from '../../pkg/kubelet/runtime/hollow.js';
import type { ContainerInfo } from '../../pkg/kubelet/runtime/types.js';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';

const NODE = 'node-a';
const NODE_IP = '10.0.0.5';

async function setup(t: Test, extra: Partial<KubeletOptions> = {}) {
  const api = await startTestApi();
  const transport = inProcessTransport(api.api.app.fetch, TOKEN);
  const client = new Client(transport);
  const runtime = new HollowRuntime({ images: ['busybox:1', 'app:2'] });
  const dataDir = mkdtempSync(join(tmpdir(), 'orch-kubelet-'));
  const resolvConfPath = join(dataDir, 'node-resolv.conf');
  writeFileSync(resolvConfPath, 'nameserver 192.168.1.1\nsearch lan\n');
  const hostsPath = join(dataDir, 'node-hosts');
  writeFileSync(hostsPath, '127.0.0.1 localhost node-a\n');
  const errors: unknown[] = [];
  const recorder = new EventRecorder(client, { component: 'kubelet', host: NODE, onError: (e) => errors.push(e) });
  const kubelets: Kubelet[] = [];
  const start = async (more: Partial<KubeletOptions> = {}) => {
    const k = await startKubelet({
      client,
      runtime,
      nodeName: NODE,
      nodeIP: NODE_IP,
      dataDir: join(dataDir, 'agent'),
      clusterDNS: ['10.43.0.10'],
      recorder,
      resyncMs: 200,
      restartBackoff: { initialMs: 300, maxMs: 1200 },
      imageBackoff: { initialMs: 300, maxMs: 1200 },
      retryMs: 100,
      resolvConfPath,
      hostsPath,
      onError: (e) => errors.push(e),
      ...extra,
      ...more,
    });
    kubelets.push(k);
    return k;
  };
  const kubelet = await start();
  t.teardown(async () => {
    for (const k of kubelets) await k.stop();
    await recorder.flush();
    await transport.close();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const pods = client.resource('pods').namespace('default');
  return { client, runtime, dataDir, errors, kubelet, start, pods, recorder };
}

function pod(name: string, spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox:1', command: ['sh', '-c', 'sleep 1000'] }], ...spec },
  };
}

async function eventually<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const start = Date.now();
  let last: T;
  for (;;) {
    last = await get();
    if (ok(last)) return last;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

const cond = (s: PodStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);
const running = (rt: HollowRuntime, podName: string, container: string): ContainerInfo | undefined =>
  rt.all().find((c) => c.podName === podName && c.name === container && c.state === 'running' && c.type === 'container');

async function events(client: Client, podName: string): Promise<Event[]> {
  return (await client.resource('events').namespace('default').list()).items.filter((e) => e.involvedObject.name === podName);
}

t.test('a bound pod gets a sandbox and containers and becomes Running and Ready', async (t) => {
  const { client, runtime, pods, dataDir, errors, recorder } = await setup(t);
  await pods.create(pod('web', { containers: [{ name: 'c', image: 'busybox:1', ports: [{ containerPort: 80 }] }, { name: 'side', image: 'app:2' }] }));
  const p = await eventually('Running and Ready', () => pods.get('web'), (p) => p.status?.phase === 'Running' && cond(p.status, 'Ready')?.status === 'True');
  const s = p.status!;
  t.equal(s.hostIP, NODE_IP);
  t.same(s.hostIPs, [{ ip: NODE_IP }]);
  t.match(s.podIP, /^10\.88\.\d+\.\d+$/);
  t.same(s.podIPs, [{ ip: s.podIP }]);
  t.ok(s.startTime);
  t.equal(s.qosClass, 'BestEffort');
  for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready', 'PodReadyToStartContainers']) t.equal(cond(s, type)?.status, 'True', type);
  t.equal(s.containerStatuses?.length, 2);
  const cs = s.containerStatuses!.find((c) => c.name === 'c')!;
  t.match(cs, { ready: true, started: true, restartCount: 0, image: 'busybox:1', state: { running: {} } });
  t.match(cs.containerID, /^hollow:\/\/[0-9a-f]{64}$/);
  t.match(cs.imageID, /^sha256:/);
  const all = runtime.all().filter((c) => c.podName === 'web');
  t.equal(all.filter((c) => c.type === 'podsandbox').length, 1, 'one sandbox');
  t.equal(all.filter((c) => c.type === 'container' && c.state === 'running').length, 2, 'two containers');
  // resolv.conf and hosts written for the pod.
  const uid = p.metadata!.uid!;
  const resolv = readFileSync(join(dataDir, 'agent', 'pods', uid, 'resolv.conf'), 'utf8');
  t.equal(resolv, 'search default.svc.cluster.local svc.cluster.local cluster.local lan\nnameserver 10.43.0.10\noptions ndots:5\n');
  t.match(readFileSync(join(dataDir, 'agent', 'pods', uid, 'etc-hosts'), 'utf8'), new RegExp(`${s.podIP!.replace(/\./g, '\\.')}\\tweb\\n`));
  await recorder.flush();
  const reasons = (await events(client, 'web')).map((e) => `${e.reason}: ${e.message}`);
  t.ok(reasons.includes('Created: Created container c'), 'Created event');
  t.ok(reasons.includes('Started: Started container side'), 'Started event');
  t.ok(reasons.includes('Pulled: Container image "busybox:1" already present on machine'), 'Pulled event');
  t.same(errors, []);
});

t.test('a crashing container restarts with a growing restartCount and CrashLoopBackOff', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  await pods.create(pod('crash'));
  await eventually('running', () => running(runtime, 'crash', 'c'), (c) => c !== undefined);
  // First crash: restarted at once.
  runtime.exit(running(runtime, 'crash', 'c')!.id, 1);
  const second = await eventually('restarted', () => running(runtime, 'crash', 'c'), (c) => c !== undefined && c.restartCount === 1);
  // Second crash: back-off.
  runtime.exit(second!.id, 2);
  const p = await eventually('CrashLoopBackOff', () => pods.get('crash'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
  const cs = p.status!.containerStatuses![0];
  t.equal(cs.restartCount, 1);
  t.match(cs.state?.waiting?.message, /^back-off 300ms restarting failed container=c pod=crash_default\(.+\)$/);
  t.match(cs.lastState?.terminated, { exitCode: 2, reason: 'Error' });
  t.equal(p.status?.phase, 'Running', 'Always: a crash-looping pod is Running');
  t.equal(cond(p.status, 'Ready')?.status, 'False');
  t.equal(cond(p.status, 'Ready')?.reason, 'ContainersNotReady');
  t.equal(cond(p.status, 'Ready')?.message, 'containers with unready status: [c]');
  const third = await eventually('restarted after back-off', () => running(runtime, 'crash', 'c'), (c) => c !== undefined && c.restartCount === 2);
  t.ok(third);
  await eventually('status running again', () => pods.get('crash'), (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined && p.status.containerStatuses[0].restartCount === 2);
  // Only the current and the previous instance are kept.
  t.equal(runtime.all().filter((c) => c.podName === 'crash' && c.type === 'container').length, 2);
  await recorder.flush();
  const backoff = (await events(client, 'crash')).find((e) => e.reason === 'BackOff');
  t.match(backoff?.message, /^Back-off restarting failed container c in pod crash_default\(.+\)$/);
  t.equal(backoff?.type, 'Warning');
  t.same(errors, []);
});

t.test('restartPolicy OnFailure and Never', async (t) => {
  const { runtime, pods, errors } = await setup(t);
  await pods.create(pod('ok', { restartPolicy: 'OnFailure' }));
  await pods.create(pod('bad', { restartPolicy: 'OnFailure' }));
  await pods.create(pod('never', { restartPolicy: 'Never' }));
  for (const n of ['ok', 'bad', 'never']) await eventually(`${n} running`, () => running(runtime, n, 'c'), (c) => c !== undefined);
  runtime.exit(running(runtime, 'ok', 'c')!.id, 0);
  runtime.exit(running(runtime, 'bad', 'c')!.id, 3);
  runtime.exit(running(runtime, 'never', 'c')!.id, 3);
  const ok = await eventually('ok Succeeded', () => pods.get('ok'), (p) => p.status?.phase === 'Succeeded');
  t.match(ok.status?.containerStatuses?.[0].state?.terminated, { exitCode: 0, reason: 'Completed' });
  t.equal(cond(ok.status, 'Ready')?.reason, 'PodCompleted');
  t.equal(cond(ok.status, 'Initialized')?.reason, 'PodCompleted');
  await eventually('bad restarted', () => running(runtime, 'bad', 'c'), (c) => c?.restartCount === 1);
  const never = await eventually('never Failed', () => pods.get('never'), (p) => p.status?.phase === 'Failed');
  t.match(never.status?.containerStatuses?.[0].state?.terminated, { exitCode: 3, reason: 'Error' });
  // Finished pods: sandbox stopped, nothing restarted.
  await eventually('sandboxes stopped', () => runtime.all().filter((c) => (c.podName === 'ok' || c.podName === 'never') && c.state === 'running'), (l) => l.length === 0);
  t.equal(runtime.all().filter((c) => c.podName === 'never' && c.type === 'container').length, 1, 'never restarted');
  t.same(errors, []);
});

t.test('init containers run in order before the app containers', async (t) => {
  const { runtime, pods, errors } = await setup(t);
  await pods.create(
    pod('init', {
      initContainers: [
        { name: 'i1', image: 'busybox:1' },
        { name: 'i2', image: 'busybox:1' },
      ],
    }),
  );
  await eventually('i1 running', () => running(runtime, 'init', 'i1'), (c) => c !== undefined);
  let p = await eventually('pending status', () => pods.get('init'), (p) => p.status?.initContainerStatuses?.[0]?.state?.running !== undefined);
  t.equal(p.status?.phase, 'Pending');
  t.equal(cond(p.status, 'Initialized')?.status, 'False');
  t.equal(cond(p.status, 'Initialized')?.reason, 'ContainersNotInitialized');
  t.equal(cond(p.status, 'Initialized')?.message, 'containers with incomplete status: [i1 i2]');
  t.equal(p.status?.containerStatuses?.[0].state?.waiting?.reason, 'PodInitializing');
  t.equal(running(runtime, 'init', 'i2'), undefined, 'i2 waits for i1');
  runtime.exit(running(runtime, 'init', 'i1')!.id, 0);
  await eventually('i2 running', () => running(runtime, 'init', 'i2'), (c) => c !== undefined);
  t.equal(running(runtime, 'init', 'c'), undefined, 'app waits for i2');
  // A failing init container is retried (restartPolicy Always).
  runtime.exit(running(runtime, 'init', 'i2')!.id, 1);
  await eventually('i2 retried', () => running(runtime, 'init', 'i2'), (c) => c?.restartCount === 1);
  runtime.exit(running(runtime, 'init', 'i2')!.id, 0);
  await eventually('app running', () => running(runtime, 'init', 'c'), (c) => c !== undefined);
  p = await eventually('Running', () => pods.get('init'), (p) => p.status?.phase === 'Running' && cond(p.status, 'Ready')?.status === 'True');
  t.equal(cond(p.status, 'Initialized')?.status, 'True');
  t.match(p.status?.initContainerStatuses?.[1], { ready: true, restartCount: 1, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  t.same(errors, []);
});

t.test('a failing init container with restartPolicy Never fails the pod', async (t) => {
  const { runtime, pods, errors } = await setup(t);
  await pods.create(pod('initfail', { restartPolicy: 'Never', initContainers: [{ name: 'i1', image: 'busybox:1' }] }));
  await eventually('i1 running', () => running(runtime, 'initfail', 'i1'), (c) => c !== undefined);
  runtime.exit(running(runtime, 'initfail', 'i1')!.id, 1);
  const p = await eventually('Failed', () => pods.get('initfail'), (p) => p.status?.phase === 'Failed');
  t.equal(p.status?.containerStatuses?.[0].state?.waiting?.reason, 'PodInitializing');
  t.equal(runtime.all().filter((c) => c.podName === 'initfail' && c.name === 'c').length, 0, 'app container never created');
  t.same(errors, []);
});

t.test('a readiness probe gates Ready; a failing liveness probe restarts the container', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  let ready = false;
  runtime.setExec('check-ready', () => (ready ? { exitCode: 0, output: '', timedOut: false } : { exitCode: 1, output: 'not yet', timedOut: false }));
  let alive = true;
  runtime.setExec('check-alive', () => (alive ? { exitCode: 0, output: '', timedOut: false } : { exitCode: 1, output: 'dead', timedOut: false }));
  await pods.create(
    pod('probed', {
      containers: [
        {
          name: 'c',
          image: 'busybox:1',
          readinessProbe: { exec: { command: ['check-ready'] }, periodSeconds: 1, failureThreshold: 1 },
          livenessProbe: { exec: { command: ['check-alive'] }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    }),
  );
  let p = await eventually('Running, not ready', () => pods.get('probed'), (p) => p.status?.phase === 'Running');
  t.equal(cond(p.status, 'Ready')?.status, 'False');
  t.equal(p.status?.containerStatuses?.[0].ready, false);
  t.equal(p.status?.containerStatuses?.[0].started, true);
  ready = true;
  p = await eventually('Ready', () => pods.get('probed'), (p) => cond(p.status, 'Ready')?.status === 'True');
  t.equal(cond(p.status, 'ContainersReady')?.status, 'True');
  const first = running(runtime, 'probed', 'c')!;
  alive = false;
  const second = await eventually('restarted by liveness', () => running(runtime, 'probed', 'c'), (c) => c !== undefined && c.id !== first.id);
  t.equal(second!.restartCount, 1);
  alive = true;
  await recorder.flush();
  const evs = await events(client, 'probed');
  t.ok(evs.some((e) => e.reason === 'Unhealthy' && e.message === 'Readiness probe failed: not yet'), 'readiness Unhealthy');
  t.ok(evs.some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: dead'), 'liveness Unhealthy');
  t.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'), 'Killing');
  t.same(errors, []);
});

t.test('configMap volume files and env from configMap and secret', async (t) => {
  const { client, runtime, pods, dataDir, errors } = await setup(t);
  await client.resource('configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'app.conf': 'x=1\n', mode: 'fast' } });
  await client.resource('secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, data: { password: Buffer.from('s3cret').toString('base64') } });
  const created = await pods.create(
    pod('conf', {
      volumes: [
        { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'etc/app.conf', mode: 0o600 }] } },
        { name: 'scratch', emptyDir: {} },
      ],
      containers: [
        {
          name: 'c',
          image: 'busybox:1',
          command: ['echo', '$(MODE)'],
          env: [
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
            { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }],
          volumeMounts: [
            { name: 'cfg', mountPath: '/etc/cfg' },
            { name: 'scratch', mountPath: '/data', subPath: 'sub' },
          ],
        },
      ],
    }),
  );
  await eventually('running', () => running(runtime, 'conf', 'c'), (c) => c !== undefined);
  const uid = created.metadata!.uid!;
  const cfgDir = join(dataDir, 'agent', 'pods', uid, 'volumes', 'kubernetes.io~configmap', 'cfg');
  t.equal(readFileSync(join(cfgDir, 'etc', 'app.conf'), 'utf8'), 'x=1\n');
  t.notOk(existsSync(join(cfgDir, 'mode')), 'only the listed items');
  t.ok(existsSync(join(dataDir, 'agent', 'pods', uid, 'volumes', 'kubernetes.io~empty-dir', 'scratch', 'sub')), 'subPath created');
  await pods.delete('conf');
  await eventually('pod gone', () => pods.get('conf').then(() => true, () => false), (exists) => !exists);
  t.notOk(existsSync(join(dataDir, 'agent', 'pods', uid)), 'pod directory removed');
  t.same(errors, []);
});

t.test('configMap and secret volume files follow their sources', async (t) => {
  const { client, runtime, pods, dataDir, errors } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' }, data: { greeting: 'one' } });
  await client.resource('secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pw' }, data: { pw: Buffer.from('a').toString('base64') } });
  const created = await pods.create(
    pod('follows', {
      volumes: [
        { name: 'cfg', configMap: { name: 'live' } },
        { name: 'sec', secret: { secretName: 'pw' } },
      ],
      containers: [{ name: 'c', image: 'busybox:1', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }, { name: 'sec', mountPath: '/sec' }] }],
    }),
  );
  const c = await eventually('running', () => running(runtime, 'follows', 'c'), (x) => x !== undefined);
  const vols = join(dataDir, 'agent', 'pods', created.metadata!.uid!, 'volumes');
  const cfgFile = join(vols, 'kubernetes.io~configmap', 'cfg', 'greeting');
  const secFile = join(vols, 'kubernetes.io~secret', 'sec', 'pw');
  t.equal(readFileSync(cfgFile, 'utf8'), 'one');
  await cms.update({ ...(await cms.get('live')), data: { greeting: 'two' } });
  await client.resource('secrets').namespace('default').update({ ...(await client.resource('secrets').namespace('default').get('pw')), data: { pw: Buffer.from('b').toString('base64') } });
  await eventually('configMap file updated', () => readFileSync(cfgFile, 'utf8'), (v) => v === 'two');
  await eventually('secret file updated', () => readFileSync(secFile, 'utf8'), (v) => v === 'b');
  t.equal((await running(runtime, 'follows', 'c'))?.id, c?.id, 'the container is not restarted');
  // The ConfigMap deleted: its files stay.
  await cms.delete('live');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(readFileSync(cfgFile, 'utf8'), 'two', 'files of a deleted source stay');
  t.same(errors, []);
});

t.test('the container spec the runtime gets: env, command expansion, mounts', async (t) => {
  const { client, runtime, pods, errors } = await setup(t);
  const specs: Parameters<HollowRuntime['createContainer']>[0][] = [];
  const orig = runtime.createContainer.bind(runtime);
  runtime.createContainer = async (s) => {
    specs.push(s);
    return orig(s);
  };
  await client.resource('configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { mode: 'fast' } });
  await pods.create(
    pod('spec', {
      enableServiceLinks: false,
      volumes: [{ name: 'cfg', configMap: { name: 'cfg' } }],
      containers: [
        {
          name: 'c',
          image: 'busybox:1',
          command: ['run', '$(MODE)', '$$(MODE)', '$(NOPE)'],
          env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } }],
          resources: { limits: { cpu: '500m', memory: '64Mi' } },
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }],
        },
      ],
    }),
  );
  await eventually('running', () => running(runtime, 'spec', 'c'), (c) => c !== undefined);
  const s = specs[0];
  t.same(s.command, ['run', 'fast', '$(MODE)', '$(NOPE)']);
  t.ok(s.env.some((e) => e.name === 'MODE' && e.value === 'fast'));
  t.ok(s.env.some((e) => e.name === 'KUBERNETES_SERVICE_HOST'), 'the kubernetes service is always linked');
  t.same(s.resources, { cpuMillis: 500, cpuRequestMillis: 500, memoryBytes: 64 * 1024 * 1024 });
  t.match(s.mounts.find((m) => m.containerPath === '/etc/cfg'), { readOnly: true });
  t.ok(s.mounts.some((m) => m.containerPath === '/etc/hosts'));
  t.ok(s.mounts.some((m) => m.containerPath === '/etc/resolv.conf'));
  t.same(errors, []);
});

t.test('a missing configMap: FailedMount, then the pod starts once it exists', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  await pods.create(pod('late', { volumes: [{ name: 'cfg', configMap: { name: 'later' } }], containers: [{ name: 'c', image: 'busybox:1', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] }] }));
  const p = await eventually('ContainerCreating', () => pods.get('late'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating');
  t.equal(p.status?.phase, 'Pending');
  await recorder.flush();
  const failed = await eventually('FailedMount', () => events(client, 'late'), (l) => l.some((e) => e.reason === 'FailedMount'));
  t.equal(failed.find((e) => e.reason === 'FailedMount')?.message, 'MountVolume.SetUp failed for volume "cfg" : configmap "later" not found');
  t.equal(runtime.all().filter((c) => c.podName === 'late').length, 0, 'no sandbox before the volumes');
  await client.resource('configmaps').namespace('default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { a: 'b' } });
  await eventually('Running', () => pods.get('late'), (p) => p.status?.phase === 'Running');
  t.same(errors, []);
});

t.test('a missing env source: CreateContainerConfigError with Kubernetes message, then recovery', async (t) => {
  const { client, runtime, pods, errors } = await setup(t);
  await pods.create(pod('envless', { containers: [{ name: 'c', image: 'busybox:1', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nosuch', key: 'k' } } }] }] }));
  const p = await eventually('config error', () => pods.get('envless'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  t.equal(p.status?.containerStatuses?.[0].state?.waiting?.message, 'secret "nosuch" not found');
  await client.resource('secrets').namespace('default').create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'nosuch' }, stringData: { k: 'v' } });
  await eventually('running', () => running(runtime, 'envless', 'c'), (c) => c !== undefined);
  t.same(errors, []);
});

t.test('images: ErrImagePull then ImagePullBackOff; Never without the image', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  runtime.failPulls('nope:1');
  await pods.create(pod('pull', { containers: [{ name: 'c', image: 'nope:1' }] }));
  await pods.create(pod('never', { containers: [{ name: 'c', image: 'absent:1', imagePullPolicy: 'Never' }] }));
  await eventually('ErrImagePull', () => pods.get('pull'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull');
  await eventually('ImagePullBackOff', () => pods.get('pull'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
  const never = await eventually('ErrImageNeverPull', () => pods.get('never'), (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
  t.equal(never.status?.containerStatuses?.[0].state?.waiting?.message, 'Container image "absent:1" is not present with pull policy of Never');
  runtime.allowPulls('nope:1');
  await eventually('pulled and running', () => running(runtime, 'pull', 'c'), (c) => c !== undefined);
  await recorder.flush();
  const evs = (await events(client, 'pull')).map((e) => `${e.type} ${e.reason}: ${e.message}`);
  t.ok(evs.includes('Normal Pulling: Pulling image "nope:1"'));
  t.ok(evs.some((e) => e.startsWith('Warning Failed: Failed to pull image "nope:1": pull access denied')));
  t.ok(evs.includes('Normal BackOff: Back-off pulling image "nope:1"'));
  t.ok(evs.some((e) => /^Normal Pulled: Successfully pulled image "nope:1" in /.test(e)));
  t.same(errors, []);
});

t.test('graceful delete stops and removes the containers, then the pod object', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  const created = await pods.create(pod('doomed'));
  await eventually('running', () => running(runtime, 'doomed', 'c'), (c) => c !== undefined);
  const marked = await pods.delete('doomed');
  t.ok(marked?.metadata?.deletionTimestamp, 'a bound pod is only marked');
  await eventually('pod gone', () => pods.get('doomed').then(() => true, () => false), (exists) => !exists);
  t.equal(runtime.all().filter((c) => c.podUid === created.metadata?.uid).length, 0, 'no container left');
  const stops = runtime.calls.filter((c) => c.op === 'stopContainer' && c.ref === '1');
  t.ok(stops.length >= 1, 'stopped with the pod grace period');
  await recorder.flush();
  t.ok((await events(client, 'doomed')).some((e) => e.reason === 'Killing' && e.message === 'Stopping container c'));
  t.same(errors, []);
});

t.test('a kubelet restart adopts running containers and removes orphans', async (t) => {
  const env = await setup(t);
  const { runtime, pods, errors } = env;
  await pods.create(pod('keep'));
  await pods.create(pod('gone'));
  await eventually('both running', () => [running(runtime, 'keep', 'c'), running(runtime, 'gone', 'c')], (l) => l.every((c) => c !== undefined));
  const keepId = running(runtime, 'keep', 'c')!.id;
  await env.kubelet.stop();
  // While the kubelet is down, one pod is force-deleted.
  await pods.delete('gone', { gracePeriodSeconds: 0 });
  // A stray container of another node's pod is not ours to touch.
  const calls = runtime.calls.length;
  const k2 = await env.start();
  await eventually('orphan removed', () => runtime.all().filter((c) => c.podName === 'gone'), (l) => l.length === 0);
  t.equal(running(runtime, 'keep', 'c')?.id, keepId, 'adopted without restart');
  t.notOk(runtime.calls.slice(calls).some((c) => c.op === 'createContainer' || c.op === 'runSandbox'), 'nothing created');
  const found = await k2.findContainer('default', 'keep');
  t.same(found, { id: keepId, name: 'c' });
  await t.rejects(k2.findContainer('default', 'keep', 'nope'), new KubeletLookupError(400, 'BadRequest', 'container nope is not valid for pod keep'));
  await t.rejects(k2.findContainer('default', 'nothere'), new KubeletLookupError(404, 'NotFound', 'pods "nothere" not found'));
  await t.rejects(k2.findContainer('default', 'keep', undefined, true), { message: 'previous terminated container "c" in pod "keep" not found' });
  t.same(errors, []);
});

t.test('an adopted ready container stays ready until its readiness probe decides', async (t) => {
  const env = await setup(t);
  const { runtime, pods, errors } = env;
  let ok = true;
  let calls = 0;
  runtime.setExec('check', () => {
    calls++;
    return ok ? { exitCode: 0, output: '', timedOut: false } : { exitCode: 1, output: 'no', timedOut: false };
  });
  const failureThreshold = 4;
  await pods.create(pod('steady', { containers: [{ name: 'c', image: 'busybox:1', readinessProbe: { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold } }] }));
  await eventually('Ready', () => pods.get('steady'), (p) => cond(p.status, 'Ready')?.status === 'True');
  await env.kubelet.stop();
  // The probe now fails: Ready may turn False only once it failed failureThreshold times.
  ok = false;
  calls = 0;
  await env.start();
  const notReady = await eventually('NotReady after the probe failed', async () => ({ p: await pods.get('steady'), calls }), (x) => cond(x.p.status, 'Ready')?.status === 'False');
  t.ok(notReady.calls >= failureThreshold, `Ready=False only after ${failureThreshold} failed probes (seen after ${notReady.calls})`);
  t.same(errors, []);
});

t.test('adoption keeps the restart count from labels', async (t) => {
  const env = await setup(t);
  const { runtime, pods, errors } = env;
  await pods.create(pod('rc'));
  await eventually('running', () => running(runtime, 'rc', 'c'), (c) => c !== undefined);
  runtime.exit(running(runtime, 'rc', 'c')!.id, 1);
  const again = await eventually('restarted', () => running(runtime, 'rc', 'c'), (c) => c?.restartCount === 1);
  await env.kubelet.stop();
  await env.start();
  const p = await eventually('status', () => pods.get('rc'), (p) => p.status?.containerStatuses?.[0]?.restartCount === 1 && p.status.containerStatuses[0].state?.running !== undefined);
  t.equal(p.status?.containerStatuses?.[0].containerID, `hollow://${again!.id}`);
  t.equal(running(runtime, 'rc', 'c')?.id, again!.id);
  t.same(errors, []);
});

t.test('a changed container image replaces the container', async (t) => {
  const { client, runtime, pods, recorder, errors } = await setup(t);
  await pods.create(pod('img'));
  const first = await eventually('running', () => running(runtime, 'img', 'c'), (c) => c !== undefined);
  await pods.patch('img', 'strategic', { spec: { containers: [{ name: 'c', image: 'app:2' }] } });
  const second = await eventually('replaced', () => running(runtime, 'img', 'c'), (c) => c !== undefined && c.id !== first!.id);
  t.equal(second?.image, 'app:2');
  t.equal(second?.restartCount, 1);
  await recorder.flush();
  t.ok((await events(client, 'img')).some((e) => e.reason === 'Killing' && e.message === 'Container c definition changed, will be restarted'));
  t.same(errors, []);
});
