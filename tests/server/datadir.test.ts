import t from 'tap';
import { mkdtemp, rm, stat, writeFile, chmod, mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DataDirError, dbPath, defaultDataDir, prepareDataDir, serverPaths } from '../../pkg/server/datadir.js';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), 'orch-datadir-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('defaults and layout', async (t) => {
  t.equal(defaultDataDir({ isRoot: true, home: '/root' }), '/var/lib/orch');
  t.equal(defaultDataDir({ isRoot: false, home: '/home/u' }), '/home/u/.orch');
  t.equal(dbPath('/d'), '/d/server/db/state.db');
  t.same(serverPaths('/d'), {
    root: '/d',
    server: '/d/server',
    db: '/d/server/db',
    dbPath: '/d/server/db/state.db',
    tls: '/d/server/tls',
    cred: '/d/server/cred',
    token: '/d/server/token',
    nodeToken: '/d/server/node-token',
    adminToken: '/d/server/cred/admin.token',
  });
});

t.test('prepareDataDir creates private subdirs and is idempotent', async (t) => {
  const base = await tempDir(t);
  const dir = join(base, 'nested', 'orch');
  const p = await prepareDataDir(dir);
  t.equal(p.dbPath, join(dir, 'server', 'db', 'state.db'));
  for (const d of [p.server, p.db, p.tls, p.cred]) {
    const s = await stat(d);
    t.ok(s.isDirectory(), d);
    t.equal(s.mode & 0o777, 0o700, `${d} is 0700`);
  }
  await chmod(p.tls, 0o755);
  await prepareDataDir(dir);
  t.equal((await stat(p.tls)).mode & 0o777, 0o700, 'loose mode tightened on restart');
  t.same(await readdir(p.server).then((l) => l.sort()), ['cred', 'db', 'tls'], 'no probe file left behind');
});

t.test('prepareDataDir fails with a clear typed error', async (t) => {
  const base = await tempDir(t);
  const file = join(base, 'a-file');
  await writeFile(file, '');
  await t.rejects(prepareDataDir(join(file, 'orch')), new DataDirError(join(file, 'orch'), 'ENOTDIR', `data dir ${join(file, 'orch')} cannot be created: ENOTDIR`));
  await t.rejects(prepareDataDir(file), { name: 'DataDirError', code: /EEXIST|ENOTDIR/, message: /^data dir .* cannot be created: E/ });

  // Root ignores permission bits, so as root the EACCES case runs in a child
  // process dropped to nobody.
  const locked = join(base, 'locked');
  await mkdir(locked, { mode: 0o555 });
  await chmod(base, 0o755);
  const target = join(locked, 'orch');
  const moduleUrl = new URL('../../pkg/server/datadir.ts', import.meta.url).href;
  const script = join(base, 'probe.mts');
  await writeFile(
    script,
    `import { prepareDataDir } from ${JSON.stringify(moduleUrl)};\n` +
      `try { await prepareDataDir(${JSON.stringify(target)}); console.log('{}'); }\n` +
      `catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }\n`,
  );
  await chmod(script, 0o644);
  const asRoot = process.getuid?.() === 0;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    ...(asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: base } } : {}),
  });
  t.same(JSON.parse(stdout), { name: 'DataDirError', code: 'EACCES', message: `data dir ${target} is not writable: EACCES` });
});
