/**
 * Issue 4 end to end: the stock kubectl against a single-node `orch server`
 * whose embedded agent runs pods as real Docker containers (busybox test
 * image, no registry). Independent scenarios run concurrently in one server;
 * then the server restarts (containers adopted, not restarted) and the
 * workloads are deleted (nothing of the node is left in Docker).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container, Event, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { cleanupNode, ensureTestImage, testDocker, testNodeName, TEST_IMAGE } from '../helpers/docker.js';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { LABELS } from '../../pkg/kubelet/runtime/types.js';

const GRACE = 1;
/** Short restart back-off (the kubelet's is 10 s → 300 s): several restarts within seconds. */
const ENV = { ORCH_KUBELET_BACKOFF_INITIAL_MS: '500', ORCH_KUBELET_BACKOFF_MAX_MS: '2000' };

/** Polls `fn` until it returns something other than undefined/false; rejects after `ms` naming `what`. */
async function eventually<T>(fn: () => Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((res) => setTimeout(res, 150));
  }
}

const container = (c: Partial<Container> & { name: string; script: string }): Container => {
  const { script, ...rest } = c;
  return { image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', script], ...rest };
};

const podManifest = (name: string, spec: Partial<PodSpec> & { containers: Container[] }): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { e2e: name } },
  spec: { terminationGracePeriodSeconds: GRACE, ...spec },
});

t.test('a single-node orch server runs pods in Docker', async (t) => {
  const docker = testDocker();
  await ensureTestImage(docker);
  const node = testNodeName('e2e-docker');
  const dir = mkdtempSync(join(tmpdir(), 'orch-e2e-docker-'));
  const start = () => startServerProcess([], dir, { agentNodeName: node, env: ENV });
  let s: ServerProcess = await start();
  t.teardown(async () => {
    // ORCH_E2E_DUMP=<file>: the (last) server's output, for debugging a failure.
    if (process.env.ORCH_E2E_DUMP) writeFileSync(process.env.ORCH_E2E_DUMP, s.output());
    await s.close().catch(() => undefined);
    await cleanupNode(node, docker);
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = (args: string[], opts?: { input?: string; allowFail?: boolean }) => s.kubectl(args, opts);
  const k = async (...args: string[]) => (await s.kubectl(args)).stdout;
  const apply = (obj: object) => kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const getPod = async (name: string): Promise<Pod> => JSON.parse(await k('get', 'pod', name, '-o', 'json')) as Pod;
  const waitReady = (target: string, timeout = '60s') => k('wait', '--for=condition=Ready', target, `--timeout=${timeout}`);
  const events = async (name: string): Promise<Event[]> =>
    (JSON.parse(await k('get', 'events', '-o', 'json')) as { items: Event[] }).items.filter((e) => e.involvedObject.name === name);
  const nodeContainers = async () => docker.listContainers({ all: true, filters: { label: [`${LABELS.node}=${node}`] } });
  const status = (p: Pod, c: string) => p.status?.containerStatuses?.find((x) => x.name === c);

  t.match(await k('get', 'node', node, '--show-labels'), /Ready.*node-role\.kubernetes\.io\/control-plane/);

  await t.test('scenarios', { jobs: 8 }, async (t) => {
    t.test('two containers share an emptyDir and localhost', async (t) => {
      await apply(
        podManifest('pair', {
          volumes: [{ name: 'shared', emptyDir: {} }],
          containers: [
            container({
              name: 'a',
              volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
              script: 'echo hello-from-a > /shared/msg; mkdir -p /www; echo served-by-a > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www',
            }),
            container({
              name: 'b',
              volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
              script: 'until [ -f /shared/msg ]; do sleep 0.1; done; cat /shared/msg; until timeout 2 wget -q -O - http://127.0.0.1:8080/; do sleep 0.2; done; echo b-done; exec sleep 3600',
            }),
          ],
        }),
      );
      await waitReady('pod/pair');
      const logs = await eventually(async () => {
        const out = await k('logs', 'pair', '-c', 'b');
        return out.includes('b-done') && out;
      }, 20_000, 'b to finish its checks');
      t.equal(logs, 'hello-from-a\nserved-by-a\nb-done\n', 'b read the file and fetched from a over localhost');
      t.equal(await k('exec', 'pair', '-c', 'b', '--', 'cat', '/shared/msg'), 'hello-from-a\n', 'exec into b sees the emptyDir');
      t.equal(await k('exec', 'pair', '-c', 'b', '--', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'), 'served-by-a\n', 'b reaches a on 127.0.0.1');
    });

    t.test('init container, ConfigMap env and volume, hostPort', async (t) => {
      const hostPort = await freePort();
      await apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { greeting: 'hi-there', 'page.html': 'from-configmap' } });
      await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, stringData: { password: 's3cret' } });
      await apply(
        podManifest('configured', {
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'config', configMap: { name: 'cfg' } },
            { name: 'secret', secret: { secretName: 'sec' } },
          ],
          initContainers: [container({ name: 'prepare', volumeMounts: [{ name: 'work', mountPath: '/work' }], script: 'sleep 1; echo init-ran > /work/marker' })],
          containers: [
            container({
              name: 'main',
              env: [
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
                { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
                { name: 'MY_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              ports: [{ containerPort: 8080, hostPort }],
              volumeMounts: [
                { name: 'work', mountPath: '/work' },
                { name: 'config', mountPath: '/config' },
                { name: 'secret', mountPath: '/secret' },
              ],
              script: 'cat /work/marker || echo init-missing; echo GREETING=$GREETING; cat /config/greeting; echo; echo PASSWORD=$PASSWORD; cat /secret/password; echo; echo MY_NAME=$MY_NAME; echo MY_IP=$MY_IP; exec httpd -f -p 8080 -h /config',
            }),
          ],
        }),
      );
      await waitReady('pod/configured');
      const p = await getPod('configured');
      t.ok(p.status?.podIP, 'a pod IP');
      t.equal(
        await eventually(async () => (await k('logs', 'configured')) || undefined, 10_000, 'logs'),
        `init-ran\nGREETING=hi-there\nhi-there\nPASSWORD=s3cret\ns3cret\nMY_NAME=configured\nMY_IP=${p.status?.podIP}\n`,
        'init ran first; env and volumes from the ConfigMap, the Secret and the pod',
      );
      const init = p.status?.initContainerStatuses?.[0];
      t.equal(init?.state?.terminated?.exitCode, 0, 'init container exited 0');
      t.equal(init?.state?.terminated?.reason, 'Completed');
      t.ok(p.status?.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True'), 'Initialized');
      const body = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${hostPort}/page.html`);
        return r.ok && (await r.text());
      }, 10_000, `hostPort ${hostPort}`);
      t.equal(body, 'from-configmap', 'hostPort answers from the root network namespace');
      // A changed ConfigMap reaches the running pod's volume (within the kubelet's resync period).
      await k('patch', 'configmap', 'cfg', '-p', JSON.stringify({ data: { 'page.html': 'updated' } }));
      const updated = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${hostPort}/page.html`);
        const text = r.ok && (await r.text());
        return text === 'updated' && text;
      }, 30_000, 'the updated ConfigMap in the volume');
      t.equal(updated, 'updated', 'configMap volume follows the ConfigMap');
    });

    t.test('a Deployment scales, rolls to a new command and back', async (t) => {
      const deployment = (version: string) => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: GRACE,
              containers: [
                container({
                  name: 'httpd',
                  script: `mkdir -p /www; echo ${version} > /www/index.html; echo started-${version}; exec httpd -f -p 8080 -h /www`,
                  readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
                }),
              ],
            },
          },
        },
      });
      const webPods = async () =>
        (JSON.parse(await k('get', 'pods', '-l', 'app=web', '-o', 'json')) as { items: Pod[] }).items.filter((p) => !p.metadata?.deletionTimestamp);
      /** Every pod of the Deployment serves `version` and logged it. */
      const allServe = async (version: string): Promise<void> => {
        const pods = await webPods();
        t.equal(pods.length, 3, `3 pods serve ${version}`);
        for (const p of pods) {
          const name = p.metadata?.name ?? '';
          t.equal(await k('exec', name, '--', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'), `${version}\n`, `${name} serves ${version}`);
          t.equal(await k('logs', name), `started-${version}\n`, `${name} logged ${version}`);
        }
      };
      await apply(deployment('v1'));
      t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
      t.match(await k('scale', 'deployment/web', '--replicas=3'), /scaled/);
      t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
      await allServe('v1');
      const rs1 = (await k('get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}')).trim();

      const patch = [{ op: 'replace', path: '/spec/template/spec/containers/0/command/2', value: deployment('v2').spec.template.spec.containers[0].command?.[2] }];
      t.match(await k('patch', 'deployment/web', '--type=json', '-p', JSON.stringify(patch)), /patched/);
      t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
      const rss = (await k('get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}')).trim().split(' ');
      t.equal(rss.length, 2, 'a new ReplicaSet');
      t.ok(rss.includes(rs1), 'the old ReplicaSet is kept');
      await eventually(async () => (await webPods()).length === 3, 20_000, 'old pods gone');
      await allServe('v2');

      t.match(await k('rollout', 'undo', 'deployment/web'), /rolled back/);
      t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
      t.equal(await k('get', 'rs', rs1, '-o', 'jsonpath={.spec.replicas}'), '3', 'the first ReplicaSet is back to 3');
      await eventually(async () => (await webPods()).length === 3, 20_000, 'v2 pods gone');
      await allServe('v1');
    });

    t.test('kubectl logs: --tail, -c, --timestamps, --previous, -f', async (t) => {
      await apply(
        podManifest('logger', {
          volumes: [{ name: 'state', emptyDir: {} }],
          containers: [
            // The first run exits 7; the restarted one stays: --previous shows the first.
            container({
              name: 'main',
              volumeMounts: [{ name: 'state', mountPath: '/state' }],
              script: 'if [ -f /state/ran ]; then echo second-run; for i in 0 1 2 3 4; do echo line-$i; done; exec sleep 3600; fi; touch /state/ran; echo first-run; exit 7',
            }),
            container({ name: 'side', script: 'echo side-says-hi; exec sleep 3600' }),
          ],
        }),
      );
      await waitReady('pod/logger');
      const p = await getPod('logger');
      t.equal(status(p, 'main')?.restartCount, 1, 'main restarted once');
      t.equal(status(p, 'main')?.lastState?.terminated?.exitCode, 7, 'lastState has the exit code');
      await eventually(async () => (await k('logs', 'logger', '-c', 'main')).includes('line-4'), 10_000, 'all lines');
      t.equal(await k('logs', 'logger', '-c', 'main', '--tail=2'), 'line-3\nline-4\n', '--tail=2');
      t.equal(await k('logs', 'logger', '-c', 'main', '--previous'), 'first-run\n', '--previous');
      t.equal(await k('logs', 'logger', '-c', 'side'), 'side-says-hi\n', '-c side');
      const ts = await k('logs', 'logger', '-c', 'side', '--timestamps');
      t.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z side-says-hi\n$/, '--timestamps prefixes RFC 3339 times');
      const bad = await kubectl(['logs', 'logger', '-c', 'nope'], { allowFail: true });
      t.not(bad.code, 0, 'an unknown container is an error');
      t.match(bad.stderr, /container nope is not valid for pod logger/);

      // A pod stuck on a missing ConfigMap: FailedMount, and logs say it is waiting to start.
      await apply(
        podManifest('stuck', {
          volumes: [{ name: 'cfg', configMap: { name: 'does-not-exist' } }],
          containers: [container({ name: 'main', volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }], script: 'exec sleep 3600' })],
        }),
      );
      await eventually(async () => (await events('stuck')).some((e) => e.reason === 'FailedMount' && /configmap "does-not-exist" not found/.test(e.message ?? '')), 20_000, 'FailedMount');
      const waiting = await kubectl(['logs', 'stuck'], { allowFail: true });
      t.not(waiting.code, 0, 'no logs before the container starts');
      t.match(waiting.stderr, /Error from server \(BadRequest\): container "main" in pod "stuck" is waiting to start: ContainerCreating/);
      await k('delete', 'pod', 'stuck', '--wait=true');

      // -f follows until the container exits.
      await apply(
        podManifest('follower', {
          restartPolicy: 'Never',
          containers: [container({ name: 'main', script: 'echo waiting; until [ -f /tmp/go ]; do sleep 0.1; done; echo after-go; echo bye' })],
        }),
      );
      await eventually(async () => status(await getPod('follower'), 'main')?.state?.running !== undefined, 30_000, 'follower running');
      const child = spawn('kubectl', ['logs', '-f', 'follower'], { env: { ...process.env, KUBECONFIG: s.kubeconfig } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      t.teardown(() => {
        if (child.exitCode === null) child.kill();
      });
      await eventually(async () => out.includes('waiting'), 10_000, 'logs -f to print the first line');
      await k('exec', 'follower', '--', 'touch', '/tmp/go');
      t.equal(await exited, 0, 'kubectl logs -f ends when the container exits');
      t.equal(out, 'waiting\nafter-go\nbye\n', 'and printed what came after');
      const done = await eventually(async () => {
        const p = await getPod('follower');
        return p.status?.phase === 'Succeeded' && p;
      }, 20_000, 'follower Succeeded');
      t.equal(status(done, 'main')?.state?.terminated?.reason, 'Completed', 'restartPolicy Never: Completed, not restarted');
      t.equal(status(done, 'main')?.restartCount, 0);
      await k('delete', 'pod', 'follower', '--wait=true');
    });

    t.test('kubectl exec: exit codes, stdin, -c', async (t) => {
      await apply(
        podManifest('execs', {
          containers: [container({ name: 'one', script: 'exec sleep 3600' }), container({ name: 'two', script: 'exec sleep 3600' })],
        }),
      );
      await waitReady('pod/execs');
      const cases: { args: string[]; input?: string; code: number; stdout: string }[] = [
        { args: ['--', 'sh', '-c', 'exit 3'], code: 3, stdout: '' },
        { args: ['--', 'sh', '-c', 'echo out; exit 0'], code: 0, stdout: 'out\n' },
        { args: ['-c', 'two', '--', 'sh', '-c', 'echo in-two; exit 42'], code: 42, stdout: 'in-two\n' },
        { args: ['-i', '--', 'sh', '-c', 'cat; echo end'], input: 'from-stdin\n', code: 0, stdout: 'from-stdin\nend\n' },
        { args: ['-i', '--', 'wc', '-l'], input: 'a\nb\nc\n', code: 0, stdout: '3\n' },
      ];
      for (const c of cases) {
        const r = await kubectl(['exec', 'execs', ...c.args], { input: c.input ?? (c.args.includes('-i') ? '' : undefined), allowFail: true });
        t.equal(r.code, c.code, `exit code of ${c.args.join(' ')}`);
        t.equal(r.stdout, c.stdout, `output of ${c.args.join(' ')}`);
      }
      const missing = await kubectl(['exec', 'execs', '--', 'no-such-binary'], { allowFail: true });
      t.not(missing.code, 0, 'a missing binary fails');
      await k('delete', 'pod', 'execs', '--wait=true');

      // kubectl run -i attaches to the main process, then takes the exit code from the pod's status.
      const run = await kubectl(['run', 'runner', '-i', '--rm', '--restart=Never', `--image=${TEST_IMAGE}`, '--image-pull-policy=Never', '--', 'sh', '-c', 'read x; echo got-$x; exit 4'], {
        input: 'hello\n',
        allowFail: true,
      });
      t.equal(run.code, 4, 'kubectl run -i exits with the container\'s code');
      t.equal(run.stdout.match(/got-hello/g)?.length, 1, `the output once, through attach (${JSON.stringify(run.stdout)})`);
      t.notMatch(run.stderr, /couldn't attach|falling back/, 'no fallback to logs');
    });

    t.test('a crashing container goes to CrashLoopBackOff', async (t) => {
      await apply(podManifest('crasher', { containers: [container({ name: 'main', script: 'echo crash; exit 1' })] }));
      const seen = await eventually(async () => {
        const c = status(await getPod('crasher'), 'main');
        return c?.state?.waiting?.reason === 'CrashLoopBackOff' && (c.restartCount ?? 0) >= 2 && c;
      }, 40_000, 'CrashLoopBackOff with restartCount >= 2');
      t.ok(seen.restartCount >= 2, `restartCount ${seen.restartCount}`);
      t.equal(seen.lastState?.terminated?.exitCode, 1, 'lastState: exited 1');
      t.match(seen.state?.waiting?.message ?? '', /^back-off \S+ restarting failed container=main pod=crasher_default/);
      const later = await eventually(async () => {
        const c = status(await getPod('crasher'), 'main');
        return (c?.restartCount ?? 0) > seen.restartCount && c;
      }, 20_000, 'restartCount to grow');
      t.ok(later.restartCount > seen.restartCount, 'the restart count keeps growing');
      const ev = await eventually(async () => {
        const e = await events('crasher');
        return e.some((x) => x.reason === 'BackOff') && e;
      }, 10_000, 'BackOff event');
      t.ok(ev.some((x) => x.reason === 'BackOff' && x.type === 'Warning' && /Back-off restarting failed container main/.test(x.message ?? '')), 'BackOff event');
      t.match(await k('describe', 'pod', 'crasher'), /Warning\s+BackOff\s+.*Back-off restarting failed container main/, 'describe tells the story');
      await k('delete', 'pod', 'crasher', '--wait=true');
    });

    t.test('a failing liveness probe restarts the container', async (t) => {
      await apply(
        podManifest('liveness', {
          containers: [
            container({
              name: 'main',
              script: 'touch /tmp/healthy; until [ -f /tmp/unhealthy ]; do sleep 0.1; done; rm /tmp/healthy; exec sleep 3600',
              livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
            }),
          ],
        }),
      );
      await waitReady('pod/liveness');
      const before = status(await getPod('liveness'), 'main');
      t.equal(before?.restartCount, 0, 'healthy: no restart');
      await k('exec', 'liveness', '--', 'touch', '/tmp/unhealthy');
      const after = await eventually(async () => {
        const c = status(await getPod('liveness'), 'main');
        return (c?.restartCount ?? 0) >= 1 && c?.state?.running !== undefined && c;
      }, 30_000, 'a restart after the probe failed');
      t.not(after.containerID, before?.containerID, 'a new container');
      const ev = await eventually(async () => {
        const e = await events('liveness');
        return e.some((x) => x.reason === 'Killing') && e;
      }, 10_000, 'Killing event');
      t.ok(ev.some((x) => x.reason === 'Unhealthy' && /^Liveness probe failed/.test(x.message ?? '')), 'Unhealthy event');
      t.ok(ev.some((x) => x.reason === 'Killing' && /failed liveness probe, will be restarted/.test(x.message ?? '')), 'Killing event');
      await k('delete', 'pod', 'liveness', '--wait=true');
    });

    t.test('a pod becomes Ready only after its readiness probe passes', async (t) => {
      await apply(
        podManifest('slowready', {
          containers: [
            container({
              name: 'main',
              script: 'exec sleep 3600',
              readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 },
            }),
          ],
        }),
      );
      // The probe has run (and failed) while the container runs: not ready.
      await eventually(async () => (await events('slowready')).some((e) => e.reason === 'Unhealthy' && /^Readiness probe failed/.test(e.message ?? '')), 20_000, 'a failed readiness probe');
      const p = await getPod('slowready');
      t.ok(status(p, 'main')?.state?.running, 'running');
      t.equal(status(p, 'main')?.ready, false, 'container not ready');
      t.ok(p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False'), 'pod Ready=False');
      await k('exec', 'slowready', '--', 'touch', '/tmp/ready');
      await waitReady('pod/slowready', '20s');
      t.equal(status(await getPod('slowready'), 'main')?.ready, true, 'ready once the probe passes');
      await k('delete', 'pod', 'slowready', '--wait=true');
    });
  });

  await t.test('a restarted server adopts the running containers', async (t) => {
    const pods = async () => (JSON.parse(await k('get', 'pods', '-o', 'json')) as { items: Pod[] }).items;
    const snapshot = (list: Pod[]) =>
      Object.fromEntries(list.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => [`${p.metadata?.name}/${c.name}`, `${c.containerID} restarts=${c.restartCount}`])));
    // Pods of the rollouts' old ReplicaSets may still be terminating: wait for the six that stay.
    const before = await eventually(async () => {
      const list = await pods();
      return list.length === 6 && list.every((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running') && list;
    }, 20_000, 'six running pods, none terminating');
    t.equal(before.length, 6, 'pods to adopt');
    const running = async () => new Set((await nodeContainers()).filter((c) => c.State === 'running').map((c) => c.Id));
    const runningBefore = await running();
    t.ok(runningBefore.size >= 2 * before.length, 'app containers and sandboxes run');
    t.equal(await s.stop(), 0, 'server stopped cleanly');
    t.same(await running(), runningBefore, 'containers keep running while the server is down');
    // A container of a pod that does not exist (deleted while the agent was away): removed at start.
    const orphan = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ['sleep', '3600'],
      Labels: { [LABELS.node]: node, [LABELS.podUid]: randomUUID(), [LABELS.podNamespace]: 'default', [LABELS.podName]: 'gone', [LABELS.containerName]: 'main', [LABELS.type]: 'container' },
      HostConfig: { NetworkMode: 'none' },
    });
    await orphan.start();

    s = await start();
    // A pod created after the restart runs: the kubelet has gone through the pods it found at start.
    await apply(podManifest('after-restart', { containers: [container({ name: 'main', script: 'exec sleep 3600' })] }));
    await waitReady('pod/after-restart');
    const after = (await pods()).filter((p) => p.metadata?.name !== 'after-restart');
    t.same(snapshot(after), snapshot(before), 'same container IDs and restart counts');
    const readySince = (list: Pod[]) => Object.fromEntries(list.map((p) => [p.metadata?.name, p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime]));
    t.same(readySince(after), readySince(before), 'no pod went NotReady across the restart (readiness probes included)');
    const runningAfter = await running();
    t.ok([...runningBefore].every((id) => runningAfter.has(id)), 'every container still runs');
    await eventually(async () => !(await nodeContainers()).some((c) => c.Id === orphan.id), 20_000, 'the orphan removed');
    t.pass("a container of a pod that no longer exists is removed");
    await waitReady('pod/pair');
    t.equal(await k('exec', 'pair', '-c', 'b', '--', 'cat', '/shared/msg'), 'hello-from-a\n', 'exec works after the restart');
  });

  await t.test('deleting the workloads leaves no container of the node', async (t) => {
    const pair = await getPod('pair');
    const podDir = join(dir, 'agent', 'pods', pair.metadata?.uid ?? '');
    t.ok(existsSync(podDir), `the pod dir exists while the pod runs (${podDir})`);
    await k('delete', 'pod', 'pair', 'configured', 'logger', 'after-restart', '--wait=true');
    t.notOk(existsSync(podDir), 'emptyDir removed with the pod');
    t.ok((await nodeContainers()).length > 0, 'the Deployment still has containers');
    t.match(await k('delete', 'deployment', 'web'), /deleted/);
    await eventually(async () => (await nodeContainers()).length === 0, 30_000, 'no container of the node');
    t.same(await nodeContainers(), [], 'no container (sandboxes included) is left');
    await eventually(async () => (await k('get', 'pods', '-o', 'name')) === '', 20_000, 'no pods');
    t.pass('no pods left');
  });
});
