import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import { cleanupPodDir, containerMounts, MountError, setupVolumes, type VolumeContext } from '../../pkg/kubelet/volumes.js';

const dir = mkdtempSync(join(tmpdir(), 'orch-volumes-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cms: Record<string, ConfigMap> = { cfg: { metadata: { name: 'cfg' }, data: { a: 'A', b: 'B' } } };
const secrets: Record<string, Secret> = { sec: { metadata: { name: 'sec' }, data: { pw: Buffer.from('pw!').toString('base64') } } };
const ctx: VolumeContext = { dataDir: join(dir, 'agent'), nodeIP: '10.0.0.5', podIP: '10.88.0.2', getConfigMap: async (_n, name) => cms[name], getSecret: async (_n, name) => secrets[name] };
let n = 0;
const pod = (volumes: Volume[]): Pod => ({ metadata: { name: 'p', namespace: 'default', uid: `uid-${n++}`, labels: { app: 'x' } }, spec: { containers: [{ name: 'c', resources: { limits: { memory: '1Mi' } } }], volumes } });
const mode = (p: string) => statSync(p).mode & 0o777;

t.test('configMap, secret, downwardAPI, projected and emptyDir', async (t) => {
  const p = pod([
    { name: 'cm', configMap: { name: 'cfg', defaultMode: 0o640 } },
    { name: 'cm-items', configMap: { name: 'cfg', items: [{ key: 'b', path: 'sub/bee', mode: 0o600 }] } },
    { name: 's', secret: { secretName: 'sec' } },
    { name: 'opt', secret: { secretName: 'nope', optional: true } },
    { name: 'dw', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory' } }] } },
    { name: 'pj', projected: { sources: [{ configMap: { name: 'cfg', items: [{ key: 'a', path: 'a.txt' }] } }, { secret: { name: 'sec' } }] } },
    { name: 'scratch', emptyDir: { medium: 'Memory' } },
  ]);
  const paths = await setupVolumes(p, ctx);
  t.equal(readFileSync(join(paths.get('cm')!, 'a'), 'utf8'), 'A');
  t.equal(mode(join(paths.get('cm')!, 'a')), 0o640);
  t.equal(readFileSync(join(paths.get('cm-items')!, 'sub', 'bee'), 'utf8'), 'B');
  t.equal(mode(join(paths.get('cm-items')!, 'sub', 'bee')), 0o600);
  t.notOk(existsSync(join(paths.get('cm-items')!, 'a')));
  t.equal(readFileSync(join(paths.get('s')!, 'pw'), 'utf8'), 'pw!');
  t.ok(existsSync(paths.get('opt')!), 'an optional missing secret is an empty volume');
  t.equal(readFileSync(join(paths.get('dw')!, 'labels'), 'utf8'), 'app="x"');
  t.equal(readFileSync(join(paths.get('dw')!, 'mem'), 'utf8'), String(1024 * 1024));
  t.equal(readFileSync(join(paths.get('pj')!, 'a.txt'), 'utf8'), 'A');
  t.equal(readFileSync(join(paths.get('pj')!, 'pw'), 'utf8'), 'pw!');
  t.equal(mode(paths.get('scratch')!), 0o777);
  t.match(paths.get('scratch'), /kubernetes\.io~empty-dir\/scratch$/);
  // Files that left the ConfigMap disappear on the next setup.
  cms.cfg = { metadata: { name: 'cfg' }, data: { a: 'A2' } };
  await setupVolumes({ ...p, spec: { ...p.spec!, volumes: [p.spec!.volumes![0]] } }, ctx);
  t.equal(readFileSync(join(paths.get('cm')!, 'a'), 'utf8'), 'A2');
  t.notOk(existsSync(join(paths.get('cm')!, 'b')));
  cms.cfg = { metadata: { name: 'cfg' }, data: { a: 'A', b: 'B' } };

  const mounts = await containerMounts(
    p,
    { name: 'c', volumeMounts: [{ name: 'cm', mountPath: '/etc/cm' }, { name: 'scratch', mountPath: '/data', subPathExpr: '$(POD)' }, { name: 'scratch', mountPath: '/ro', readOnly: true }] },
    paths,
    [{ name: 'POD', value: 'p' }],
  );
  t.same(mounts, [
    { hostPath: paths.get('cm'), containerPath: '/etc/cm', readOnly: true },
    { hostPath: join(paths.get('scratch')!, 'p'), containerPath: '/data', readOnly: false },
    { hostPath: paths.get('scratch'), containerPath: '/ro', readOnly: true },
  ]);
  t.ok(existsSync(join(paths.get('scratch')!, 'p')), 'subPath directory created');
  await t.rejects(containerMounts(p, { name: 'c', volumeMounts: [{ name: 'scratch', mountPath: '/x', subPath: '../../etc' }] }, paths, []), MountError);
  await cleanupPodDir(ctx.dataDir, p.metadata!.uid!);
  t.notOk(existsSync(join(ctx.dataDir, 'pods', p.metadata!.uid!)));
});

t.test('missing sources are FailedMount errors with Kubernetes messages', async (t) => {
  const cases: [Volume, string][] = [
    [{ name: 'v', configMap: { name: 'nope' } }, 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found'],
    [{ name: 'v', secret: { secretName: 'nope' } }, 'MountVolume.SetUp failed for volume "v" : secret "nope" not found'],
    [{ name: 'v', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'z' }] } }, 'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz'],
  ];
  for (const [v, message] of cases) await t.rejects(setupVolumes(pod([v]), ctx), { name: 'MountError', message }, message);
});

t.test('hostPath type checks', async (t) => {
  const base = join(dir, 'host');
  mkdirSync(join(base, 'adir'), { recursive: true });
  writeFileSync(join(base, 'afile'), 'x');
  const sock = join(base, 'sock');
  const server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const ok: [string, string][] = [
    ['', join(base, 'whatever')],
    ['Directory', join(base, 'adir')],
    ['DirectoryOrCreate', join(base, 'new', 'dir')],
    ['File', join(base, 'afile')],
    ['FileOrCreate', join(base, 'newdir', 'newfile')],
    ['Socket', sock],
  ];
  for (const [type, path] of ok) {
    const paths = await setupVolumes(pod([{ name: 'h', hostPath: { path, type } }]), ctx);
    t.equal(paths.get('h'), path, `${type || '(none)'} ok`);
  }
  t.ok(statSync(join(base, 'new', 'dir')).isDirectory(), 'DirectoryOrCreate created it');
  t.ok(statSync(join(base, 'newdir', 'newfile')).isFile(), 'FileOrCreate created it');
  const bad: [string, string, string][] = [
    ['Directory', join(base, 'afile'), 'a directory'],
    ['Directory', join(base, 'missing'), 'a directory'],
    ['File', join(base, 'adir'), 'a file'],
    ['Socket', join(base, 'afile'), 'a socket file'],
    ['DirectoryOrCreate', join(base, 'afile'), 'a directory'],
  ];
  for (const [type, path, what] of bad) {
    await t.rejects(setupVolumes(pod([{ name: 'h', hostPath: { path, type } }]), ctx), { message: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${path} is not ${what}` }, `${type} ${path}`);
  }
});

t.test('setting up again (the refresh of projected files) leaves an emptyDir as its containers made it', async (t) => {
  const p: Pod = { metadata: { uid: 'uid-again', namespace: 'default', name: 'again' }, spec: { containers: [], volumes: [{ name: 'scratch', emptyDir: {} }] } };
  const first = await setupVolumes(p, ctx);
  const scratch = first.get('scratch') ?? '';
  t.equal(statSync(scratch).mode & 0o777, 0o777, 'world-writable when created');
  chmodSync(scratch, 0o700);
  writeFileSync(join(scratch, 'kept'), 'x');
  await setupVolumes(p, ctx);
  t.equal(statSync(scratch).mode & 0o777, 0o700, 'mode left alone');
  t.equal(readFileSync(join(scratch, 'kept'), 'utf8'), 'x', 'contents kept');
  await cleanupPodDir(ctx.dataDir, 'uid-again');
});
