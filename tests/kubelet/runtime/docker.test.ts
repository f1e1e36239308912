import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { dockerRuntime } from '../../../pkg/kubelet/runtime/docker.js';
import { ImageError, LABELS, type ContainerSpec, type RuntimeEvent, type SandboxSpec } from '../../../pkg/kubelet/runtime/types.js';
import { ENTRYPOINT_IMAGE, TEST_IMAGE, cleanupNode, ensureTestImage, testDocker, testNodeName } from '../../helpers/docker.js';

const docker = testDocker();
const rt = dockerRuntime({});
const node = testNodeName('rt');
const otherNode = testNodeName('rt-other');
const dir = mkdtempSync(join(tmpdir(), 'orch-docker-rt-'));

t.teardown(async () => {
  await cleanupNode(node, docker);
  await cleanupNode(otherNode, docker);
  rmSync(dir, { recursive: true, force: true });
});

await ensureTestImage(docker);

function sandboxSpec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  const name = over.name ?? `pod-${randomUUID().slice(0, 8)}`;
  return {
    podUid: randomUUID(),
    namespace: 'default',
    name,
    nodeName: node,
    hostname: name,
    hostNetwork: false,
    portMappings: [],
    ...over,
  };
}

function containerSpec(sb: { spec: SandboxSpec; id: string }, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    podUid: sb.spec.podUid,
    namespace: sb.spec.namespace,
    podName: sb.spec.name,
    nodeName: sb.spec.nodeName,
    name: 'main',
    kind: 'regular',
    sandboxId: sb.id,
    hostNetwork: sb.spec.hostNetwork,
    image: TEST_IMAGE,
    env: [],
    mounts: [],
    tty: false,
    stdin: false,
    stdinOnce: false,
    resources: {},
    restartCount: 0,
    specHash: 'h0',
    terminationGracePeriodSeconds: 1,
    ...over,
  };
}

async function sandbox(over: Partial<SandboxSpec> = {}): Promise<{ spec: SandboxSpec; id: string; ip?: string }> {
  const spec = sandboxSpec(over);
  const r = await rt.runSandbox(spec);
  return { spec, ...r };
}

/** Creates and starts a container; returns its id. */
async function run(sb: { spec: SandboxSpec; id: string }, over: Partial<ContainerSpec> = {}): Promise<string> {
  const id = await rt.createContainer(containerSpec(sb, over));
  await rt.startContainer(id);
  return id;
}

async function waitExited(id: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await rt.inspectContainer(id))?.state === 'exited') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`container ${id} did not exit`);
}

function readAll(s: Readable | undefined): Promise<string> {
  if (!s) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    s.on('error', reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Retries fn until it resolves (a server in a fresh container takes a moment to listen). */
async function eventually<T>(fn: () => Promise<T>, tries = 100): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

t.test('version', async (t) => {
  t.match(await rt.version(), /^docker:\/\/\d+\.\d+\.\d+/);
  t.equal(await dockerRuntime({ host: 'unix:///var/run/docker.sock' }).version(), await rt.version(), 'DOCKER_HOST form');
  await t.rejects(dockerRuntime({ socketPath: join(dir, 'no-daemon.sock') }).version(), /ENOENT/);
  t.throws(() => dockerRuntime({ host: 'ssh://somewhere' }), /unsupported Docker host/);
});

t.test('ensurePauseImage is idempotent, also across runtimes', async (t) => {
  const ref = await rt.ensurePauseImage();
  const id = (await docker.getImage(ref).inspect()).Id;
  t.equal(await rt.ensurePauseImage(), ref);
  t.equal(await dockerRuntime({ socketPath: '/var/run/docker.sock' }).ensurePauseImage(), ref);
  t.equal((await docker.getImage(ref).inspect()).Id, id, 'not re-imported');
});

t.test('runSandbox: a running pause container on the bridge, labelled, named as dockershim does', async (t) => {
  const sb = await sandbox({ dns: { nameservers: ['10.43.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] } });
  t.match(sb.ip, /^\d+\.\d+\.\d+\.\d+$/);
  const c = await docker.getContainer(sb.id).inspect();
  t.equal(c.State.Status, 'running');
  t.equal(c.Name, `/k8s_POD_${sb.spec.name}_default_${sb.spec.podUid}_0`);
  t.equal(c.Config.Hostname, sb.spec.name);
  t.same(c.HostConfig.Dns, ['10.43.0.10']);
  t.match(c.Config.Labels, {
    [LABELS.podUid]: sb.spec.podUid,
    [LABELS.podNamespace]: 'default',
    [LABELS.podName]: sb.spec.name,
    [LABELS.containerName]: 'POD',
    [LABELS.type]: 'podsandbox',
    [LABELS.node]: node,
  });
  const info = await rt.inspectContainer(sb.id);
  t.match(info, { type: 'podsandbox', name: 'POD', state: 'running', ip: sb.ip, podUid: sb.spec.podUid });

  // Same pod again (agent crashed between create and record): the stale container is replaced.
  const again = await rt.runSandbox(sb.spec);
  t.not(again.id, sb.id);
  t.equal(await rt.inspectContainer(sb.id), undefined);
});

t.test('hostNetwork sandbox', async (t) => {
  const sb = await sandbox({ hostNetwork: true });
  t.equal(sb.ip, undefined);
  const c = await docker.getContainer(sb.id).inspect();
  t.equal(c.HostConfig.NetworkMode, 'host');
  t.equal(c.State.Status, 'running');
  const id = await run(sb, { command: ['sleep', '30'] });
  const r = await rt.execSync(id, ['hostname'], 5000);
  t.equal(r.output.trim(), (await import('node:os')).hostname(), 'the node hostname');
});

t.test('a pod: hostPort, localhost between containers, shared ipc, hostname and resolv.conf', async (t) => {
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), 'hello from httpd\n');
  const hostPort = await freePort();
  const sb = await sandbox({
    hostname: 'web-0',
    portMappings: [{ containerPort: 8080, hostPort, protocol: 'TCP', hostIP: '127.0.0.1' }],
    dns: { nameservers: ['10.43.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
  });
  t.same((await docker.getContainer(sb.id).inspect()).HostConfig.PortBindings, {
    '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }],
  });
  const web = await run(sb, {
    name: 'web',
    command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
    mounts: [{ hostPath: www, containerPath: '/www', readOnly: true }],
  });
  const client = await run(sb, { name: 'client', command: ['sleep', '60'] });

  const webInfo = await docker.getContainer(web).inspect();
  t.equal(webInfo.HostConfig.NetworkMode, `container:${sb.id}`);
  t.equal(webInfo.HostConfig.IpcMode, `container:${sb.id}`);

  const viaLocalhost = await eventually(async () => {
    const r = await rt.execSync(client, ['timeout', '5', 'wget', '-qO-', 'http://127.0.0.1:8080/index.html'], 8000);
    if (r.exitCode !== 0) throw new Error(`wget: ${r.exitCode} ${r.output}`);
    return r.output;
  });
  t.equal(viaLocalhost, 'hello from httpd\n', 'containers of a pod share localhost');

  const viaHostPort = await eventually(async () => (await fetch(`http://127.0.0.1:${hostPort}/index.html`)).text());
  t.equal(viaHostPort, 'hello from httpd\n', 'hostPort published on the node');

  t.equal((await rt.execSync(client, ['hostname'], 5000)).output, 'web-0\n', 'apps get the sandbox hostname');
  const resolv = (await rt.execSync(client, ['cat', '/etc/resolv.conf'], 5000)).output;
  t.match(resolv, /nameserver 10\.43\.0\.10/, 'apps share the sandbox resolv.conf');
  t.match(resolv, /search default\.svc\.cluster\.local/);
  t.match(resolv, /options ndots:5/);
});

t.test('command and args follow Kubernetes semantics', async (t) => {
  const sb = await sandbox();
  const cases: { name: string; command?: string[]; args?: string[]; want: string }[] = [
    { name: 'image defaults', want: 'ep default\n' },
    { name: 'args replace CMD only', args: ['a1', 'a2'], want: 'ep a1 a2\n' },
    { name: 'command drops CMD', command: ['/bin/echo', 'cmd'], want: 'cmd\n' },
    { name: 'command and args', command: ['/bin/echo', 'cmd'], args: ['x'], want: 'cmd x\n' },
  ];
  for (const [i, c] of cases.entries()) {
    const over: Partial<ContainerSpec> = { name: `c${i}`, image: ENTRYPOINT_IMAGE };
    if (c.command) over.command = c.command;
    if (c.args) over.args = c.args;
    const id = await run(sb, over);
    await waitExited(id);
    t.equal(await readAll(await rt.logs(id, { follow: false, timestamps: false })), c.want, c.name);
  }
});

t.test('env, workingDir, bind mounts ro and rw, limits', async (t) => {
  const ro = join(dir, 'ro');
  const rw = join(dir, 'rw');
  mkdirSync(ro);
  mkdirSync(rw);
  writeFileSync(join(ro, 'f'), 'read-only content\n');
  const sb = await sandbox();
  const id = await run(sb, {
    command: ['sh', '-c', 'echo "$FOO|$BAR"; pwd; cat /ro/f; echo written > /rw/out; (touch /ro/x 2>/dev/null && echo ro-writable) || echo ro-denied'],
    env: [
      { name: 'FOO', value: 'foo value' },
      { name: 'BAR', value: 'x=y' },
    ],
    workingDir: '/work/dir',
    mounts: [
      { hostPath: ro, containerPath: '/ro', readOnly: true },
      { hostPath: rw, containerPath: '/rw', readOnly: false },
    ],
    resources: { cpuMillis: 500, cpuRequestMillis: 250, memoryBytes: 64 * 1024 * 1024 },
  });
  await waitExited(id);
  const out = await readAll(await rt.logs(id, { follow: false, timestamps: false }));
  t.equal(out, 'foo value|x=y\n/work/dir\nread-only content\nro-denied\n');
  t.equal(readFileSync(join(rw, 'out'), 'utf8'), 'written\n');
  t.equal((await rt.inspectContainer(id))?.exitCode, 0);
  const hc = (await docker.getContainer(id).inspect()).HostConfig;
  t.match(hc, { Memory: 64 * 1024 * 1024, CpuPeriod: 100000, CpuQuota: 50000, CpuShares: 256 });
});

t.test('stop: SIGTERM ignored by busybox sh as PID 1, killed after the grace period', async (t) => {
  const sb = await sandbox();
  const id = await run(sb, { command: ['sh', '-c', 'while true; do sleep 1; done'] });
  await rt.stopContainer(id, 1);
  const info = await rt.inspectContainer(id);
  t.match(info, { state: 'exited', exitCode: 137, reason: 'Error' });
  t.ok(info?.finishedAt, 'finishedAt set');
  await rt.stopContainer(id, 1); // already stopped: no error
  await rt.removeContainer(id);
  await rt.removeContainer(id); // already gone: no error
  t.equal(await rt.inspectContainer(id), undefined, 'removed → undefined');
  // Stopping a sandbox ends the pause process through its SIGTERM handler.
  await rt.stopContainer(sb.id, 30);
  t.match(await rt.inspectContainer(sb.id), { state: 'exited', exitCode: 0 });
});

t.test("listContainers returns this node's containers with labels parsed back", async (t) => {
  const listNode = testNodeName('rt-list');
  t.teardown(() => cleanupNode(listNode, docker));
  const sb = await sandbox({ nodeName: listNode });
  const done = await run(sb, { name: 'done', kind: 'init', command: ['sh', '-c', 'exit 3'], restartCount: 2, specHash: 'abc123' });
  const live = await run(sb, { name: 'live', command: ['sleep', '60'] });
  await waitExited(done);
  const foreign = await sandbox({ nodeName: otherNode });

  const list = await rt.listContainers(listNode);
  const byId = new Map(list.map((c) => [c.id, c]));
  t.same([...byId.keys()].sort(), [sb.id, done, live].sort(), 'only this node');
  t.notOk(byId.has(foreign.id));
  t.match(byId.get(done), { name: 'done', kind: 'init', type: 'container', state: 'exited', exitCode: 3, reason: 'Error', restartCount: 2, specHash: 'abc123', podUid: sb.spec.podUid, podName: sb.spec.name, podNamespace: 'default', image: TEST_IMAGE });
  t.match(byId.get(done)?.imageId, /^sha256:/);
  t.match(byId.get(live), { name: 'live', kind: 'regular', state: 'running', restartCount: 0, specHash: 'h0' });
  t.ok(byId.get(live)?.startedAt instanceof Date);
  t.match(byId.get(sb.id), { type: 'podsandbox', name: 'POD', state: 'running', ip: sb.ip });

  // A second listing sees state changes (the inspect cache follows Docker's state).
  await rt.stopContainer(live, 0);
  const again = await rt.listContainers(listNode);
  t.match(again.find((c) => c.id === live), { state: 'exited', exitCode: 137 });
  await rt.removeContainer(done);
  t.notOk((await rt.listContainers(listNode)).some((c) => c.id === done), 'removed containers leave the list');
});

t.test("listPodContainers returns one pod's containers; a leftover of the same name is replaced on create", async (t) => {
  const listNode = testNodeName('rt-pod');
  t.teardown(() => cleanupNode(listNode, docker));
  const a = await sandbox({ nodeName: listNode });
  const b = await sandbox({ nodeName: listNode });
  const inA = await run(a, { name: 'app', command: ['sleep', '60'] });
  await run(b, { name: 'app', command: ['sleep', '60'] });
  const listed = await rt.listPodContainers(listNode, a.spec.podUid);
  t.same(listed.map((c) => c.id).sort(), [a.id, inA].sort(), "only pod a's sandbox and container");
  t.match(listed.find((c) => c.id === inA), { name: 'app', state: 'running', podUid: a.spec.podUid });

  // A crashed attempt can leave a container under the name the next create wants.
  await rt.stopContainer(inA, 0);
  const again = await rt.createContainer(containerSpec(a, { name: 'app', command: ['sleep', '60'] }));
  t.not(again, inA, 'a new container');
  t.equal(await rt.inspectContainer(inA), undefined, 'the same-named leftover was removed');
});

t.test('execSync: exit codes, output, timeout', async (t) => {
  const sb = await sandbox();
  const id = await run(sb, { command: ['sleep', '60'] });
  const cases: { cmd: string[]; exitCode: number; output: string }[] = [
    { cmd: ['echo', 'hi'], exitCode: 0, output: 'hi\n' },
    { cmd: ['sh', '-c', 'exit 3'], exitCode: 3, output: '' },
    { cmd: ['sh', '-c', 'echo err >&2; exit 1'], exitCode: 1, output: 'err\n' },
    { cmd: ['cat'], exitCode: 0, output: '' }, // stdin is not attached: cat sees EOF, nothing hangs
  ];
  for (const c of cases) {
    t.same(await rt.execSync(id, c.cmd, 5000), { exitCode: c.exitCode, output: c.output, timedOut: false }, c.cmd.join(' '));
  }
  const slow = await rt.execSync(id, ['sleep', '5'], 200);
  t.equal(slow.timedOut, true);
  const big = await rt.execSync(id, ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo 0123456789; i=$((i+1)); done'], 5000);
  t.equal(big.output.length, 10 * 1024, 'output truncated to 10 KiB');
  t.equal(big.exitCode, 0);
  await t.rejects(rt.execSync('no-such-container-xyz', ['true'], 1000));
});

t.test('exec: interactive stdin, separate stderr, exit code; tty', async (t) => {
  const sb = await sandbox();
  const id = await run(sb, { command: ['sleep', '60'] });

  const cat = await rt.exec(id, ['sh', '-c', 'cat; echo bye >&2; exit 7'], { stdin: true, stdout: true, stderr: true, tty: false });
  const out = readAll(cat.stdout);
  const err = readAll(cat.stderr);
  cat.stdin?.write('hello\n');
  cat.stdin?.end('world\n');
  t.equal(await out, 'hello\nworld\n');
  t.equal(await err, 'bye\n');
  t.equal(await cat.done, 7);

  const tty = await rt.exec(id, ['sh', '-c', 'read x; test -t 0 && test -t 1 && echo "tty:$x"'], { stdin: true, stdout: true, stderr: true, tty: true });
  t.equal(tty.stderr, undefined, 'no separate stderr with a tty');
  await tty.resize(100, 40);
  const ttyOut = readAll(tty.stdout);
  tty.stdin?.write('go\r');
  t.match(await ttyOut, /tty:go\r\n/);
  t.equal(await tty.done, 0);
  await tty.resize(80, 20); // after the end: ignored
});

t.test('attach to the main process', async (t) => {
  const sb = await sandbox();
  const id = await rt.createContainer(
    containerSpec(sb, { command: ['sh', '-c', 'read line; echo "got $line"; echo note >&2; exit 4'], stdin: true, stdinOnce: true }),
  );
  await rt.startContainer(id);
  const s = await rt.attach(id, { stdin: true, stdout: true, stderr: true, tty: false });
  const out = readAll(s.stdout);
  const err = readAll(s.stderr);
  s.stdin?.end('abc\n');
  t.equal(await out, 'got abc\n');
  t.equal(await err, 'note\n');
  t.equal(await s.done, 4);
});

t.test('logs: demultiplexed, tail, timestamps, limitBytes, follow ends with the container', async (t) => {
  const sb = await sandbox();
  // Docker copies stdout and stderr in separate goroutines: their relative order is not kept.
  const mixed = await run(sb, { name: 'mixed', command: ['sh', '-c', 'echo one; echo two >&2; echo three'] });
  const id = await run(sb, { command: ['sh', '-c', 'echo one; echo two; echo three'] });
  await waitExited(mixed);
  await waitExited(id);
  const mixedLines = (await readAll(await rt.logs(mixed, { follow: false, timestamps: false }))).split('\n');
  t.same([...mixedLines].sort(), ['', 'one', 'three', 'two'], 'stdout and stderr demultiplexed into one stream');
  t.ok(mixedLines.indexOf('one') < mixedLines.indexOf('three'), 'in order within a stream');
  const logs = (o: Partial<Parameters<typeof rt.logs>[1]> = {}) => rt.logs(id, { follow: false, timestamps: false, ...o }).then(readAll);
  t.equal(await logs(), 'one\ntwo\nthree\n');
  t.equal(await logs({ tailLines: 1 }), 'three\n');
  t.equal(await logs({ tailLines: 0 }), '');
  t.equal(await logs({ limitBytes: 6 }), 'one\ntw');
  const stamped = (await logs({ timestamps: true })).trimEnd().split('\n');
  t.equal(stamped.length, 3);
  for (const [i, word] of ['one', 'two', 'three'].entries()) {
    t.match(stamped[i], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z ${word}$`), 'RFC3339Nano prefix');
  }
  t.equal(await logs({ sinceTime: new Date(Date.now() + 3600_000) }), '', 'sinceTime in the future: nothing');

  const follower = await run(sb, { name: 'follow', command: ['sh', '-c', 'echo a; sleep 1; echo b >&2'] });
  t.equal(await readAll(await rt.logs(follower, { follow: true, timestamps: false })), 'a\nb\n', 'follow ends when the container exits');

  const ttyC = await run(sb, { name: 'tty', tty: true, command: ['sh', '-c', 'echo on-a-tty'] });
  await waitExited(ttyC);
  t.equal(await readAll(await rt.logs(ttyC, { follow: false, timestamps: false })), 'on-a-tty\r\n', 'tty logs are raw');
  await t.rejects(rt.logs('no-such-container-xyz', { follow: false, timestamps: false }), /not found/);
});

t.test('images: hasImage, pull failures without a registry, invalid names', { timeout: 20_000 }, async (t) => {
  t.equal(await rt.hasImage(TEST_IMAGE), true);
  t.equal(await rt.hasImage('orch-test/does-not-exist:1'), false);
  t.equal(await rt.hasImage('Bad Name'), false);
  for (const ref of ['nosuch.invalid/orch/none:1', '127.0.0.1:1/orch/none:1']) {
    const err = await rt.pullImage(ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof ImageError, `${ref}: ImageError`);
    t.match(err, { reason: 'ErrImagePull', message: new RegExp(ref.replace(/[.:/]/g, '\\$&')) });
  }
  const invalid = await rt.pullImage('UPPER/Case::x').then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(invalid instanceof ImageError);
  t.match(invalid, { reason: 'InvalidImageName' });
});

t.test('loadImageArchive loads a docker save tarball', async (t) => {
  const tag = `orch-test/load-${process.pid}:1`;
  const tarPath = join(dir, 'image.tar');
  await docker.getImage(TEST_IMAGE).tag({ repo: `orch-test/load-${process.pid}`, tag: '1' });
  t.teardown(() => docker.getImage(tag).remove().catch(() => undefined));
  await pipeline(await docker.getImage(tag).get(), createWriteStream(tarPath));
  await docker.getImage(tag).remove();
  t.equal(await rt.hasImage(tag), false);
  t.same(await rt.loadImageArchive(tarPath), [tag]);
  t.equal(await rt.hasImage(tag), true);
  await t.rejects(rt.loadImageArchive(join(dir, 'missing.tar')));
});

t.test("watchEvents reports this node's container events, not another node's", async (t) => {
  const mine: RuntimeEvent[] = [];
  const stop = rt.watchEvents(node, (e) => mine.push(e));
  t.teardown(stop);

  const other = await sandbox({ nodeName: otherNode });
  const otherC = await run(other, { command: ['true'] });
  await waitExited(otherC);

  const sb = await sandbox();
  const id = await run(sb, { command: ['sh', '-c', 'exit 2'] });
  await eventually(async () => {
    if (!mine.some((e) => e.containerId === id && e.action === 'die')) throw new Error('no die event yet');
  });
  t.ok(mine.some((e) => e.containerId === id && e.action === 'start' && e.podUid === sb.spec.podUid), 'start');
  t.match(
    mine.find((e) => e.containerId === id && e.action === 'die'),
    { podUid: sb.spec.podUid },
  );
  t.notOk(mine.some((e) => e.containerId === otherC || e.containerId === other.id), "another node's containers are not reported");
  await rt.removeContainer(id);
  await eventually(async () => {
    if (!mine.some((e) => e.containerId === id && e.action === 'destroy')) throw new Error('no destroy event yet');
  });
  t.pass('destroy reported');
});

t.test('a listing right after a die event shows the container exited', async (t) => {
  // Docker sends `die` before its listing (a replica updated later) says the container exited.
  const evNode = testNodeName('rt-die');
  t.teardown(() => cleanupNode(evNode, docker));
  const sb = await sandbox({ nodeName: evNode });
  const id = await run(sb, { command: ['sh', '-c', 'until [ -f /tmp/go ]; do sleep 0.05; done; exit 5'] });
  t.match((await rt.listContainers(evNode)).find((c) => c.id === id), { state: 'running' }, 'cached as running');
  const seen = new Promise<string | undefined>((resolve) => {
    const stop = rt.watchEvents(evNode, (e) => {
      if (e.containerId !== id || e.action !== 'die') return;
      stop();
      // What the kubelet does on the event: list the pod's containers.
      rt.listContainers(evNode).then(
        (list) => resolve(list.find((c) => c.id === id)?.state),
        () => resolve(undefined),
      );
    });
  });
  // Let the event stream connect before the container dies.
  await new Promise((r) => setTimeout(r, 300));
  await rt.execSync(id, ['touch', '/tmp/go'], 5000);
  t.equal(await seen, 'exited');
});
