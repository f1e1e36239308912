import t from 'tap';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  KubeconfigError,
  defaultKubeconfigPath,
  parseFileMode,
  renderKubeconfig,
  writeKubeconfig,
} from '../../pkg/server/kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), 'orch-kubeconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('parseFileMode', async (t) => {
  const ok: [string | number, number][] = [
    ['0600', 0o600],
    ['0644', 0o644],
    ['644', 0o644],
    [' 0640 ', 0o640],
    [0o600, 0o600],
  ];
  for (const [mode, want] of ok) t.equal(parseFileMode(mode), want, String(mode));
  for (const bad of ['', '0689', '64', '06444', 'rw-r--r--', '0x1a4', -1, 0o1000, 1.5]) {
    t.throws(() => parseFileMode(bad), { name: 'KubeconfigError', message: /invalid kubeconfig mode .*octal/ }, String(bad));
  }
});

t.test('defaultKubeconfigPath', async (t) => {
  t.equal(defaultKubeconfigPath({ isRoot: true, dataDir: '/var/lib/orch' }), '/etc/orch/orch.yaml');
  t.equal(defaultKubeconfigPath({ isRoot: false, dataDir: '/home/u/.orch' }), '/home/u/.orch/kubeconfig.yaml');
});

t.test('renderKubeconfig looks like k3s.yaml with a token user', async (t) => {
  const doc: unknown = parse(await renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok' }));
  t.same(doc, {
    apiVersion: 'v1',
    clusters: [
      { cluster: { 'certificate-authority-data': Buffer.from(CA).toString('base64'), server: 'https://127.0.0.1:6443' }, name: 'default' },
    ],
    contexts: [{ context: { cluster: 'default', user: 'default' }, name: 'default' }],
    'current-context': 'default',
    kind: 'Config',
    preferences: {},
    users: [{ name: 'default', user: { token: 'tok' } }],
  });
  const named: unknown = parse(
    await renderKubeconfig({ server: 'https://10.0.0.1:6443', caPem: CA, token: 't', clusterName: 'c', userName: 'u', contextName: 'x' }),
  );
  t.match(named, {
    clusters: [{ name: 'c' }],
    contexts: [{ context: { cluster: 'c', user: 'u' }, name: 'x' }],
    'current-context': 'x',
    users: [{ name: 'u' }],
  });
});

t.test('writeKubeconfig creates the dir and honours the mode', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'etc', 'orch', 'orch.yaml');
  await writeKubeconfig({ path, server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok' });
  t.equal((await stat(path)).mode & 0o777, 0o600, 'default 0600');
  t.match(parse(await readFile(path, 'utf8')), { users: [{ user: { token: 'tok' } }] });

  await writeKubeconfig({ path, mode: '0644', server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok2' });
  t.equal((await stat(path)).mode & 0o777, 0o644, 'mode from the CLI string');
  t.match(parse(await readFile(path, 'utf8')), { users: [{ user: { token: 'tok2' } }] }, 'rewritten');

  // An existing file with a looser mode is tightened, not left as it was.
  await chmod(path, 0o666);
  await writeKubeconfig({ path, server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok3' });
  t.equal((await stat(path)).mode & 0o777, 0o600);

  const untouched = join(dir, 'keep.yaml');
  await writeFile(untouched, 'old');
  await t.rejects(
    writeKubeconfig({ path: untouched, mode: '999', server: 'https://127.0.0.1:6443', caPem: CA, token: 't' }),
    KubeconfigError,
  );
  t.equal(await readFile(untouched, 'utf8'), 'old', 'bad mode writes nothing');
});
