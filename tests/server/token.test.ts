import t from 'tap';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  TokenError,
  caHash,
  bearerChecker,
  ensureServerToken,
  formatToken,
  loadCredentials,
  loadOrCreateAdminToken,
  parseToken,
} from '../../pkg/server/token.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB...fake...\n-----END CERTIFICATE-----\n';
const OTHER_CA = '-----BEGIN CERTIFICATE-----\nMIIB...other...\n-----END CERTIFICATE-----\n';
const HASH = createHash('sha256').update(CA).digest('hex');

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), 'orch-token-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('caHash and formatToken', async (t) => {
  t.equal(caHash(CA), HASH);
  t.match(caHash(CA), /^[0-9a-f]{64}$/);
  t.equal(formatToken(CA, 's3cret'), `K10${HASH}::server:s3cret`);
});

t.test('parseToken', async (t) => {
  const ok: [string, object][] = [
    [`K10${HASH}::server:abc123`, { caHash: HASH, username: 'server', secret: 'abc123' }],
    [`K10${HASH}::node:with:colons`, { caHash: HASH, username: 'node', secret: 'with:colons' }],
    ['just-a-secret', { secret: 'just-a-secret' }],
    ['  padded\n', { secret: 'padded' }],
    ['K10lookslikeprefix', { secret: 'K10lookslikeprefix' }],
  ];
  for (const [token, want] of ok) t.same(parseToken(token), want, JSON.stringify(token));
  for (const bad of ['', '   ', `K10${HASH}::server`, 'K10abc::server:x', `K10${HASH.toUpperCase()}::server:x`, `K10${HASH}::server:`]) {
    t.throws(() => parseToken(bad), TokenError, `rejects ${JSON.stringify(bad)}`);
  }
});

t.test('ensureServerToken: generated once, kept, written to token and node-token', async (t) => {
  const dataDir = await tempDir(t);
  const first = await ensureServerToken({ dataDir, caPem: CA });
  t.match(first.token, new RegExp(`^K10${HASH}::server:[0-9a-f]{32}$`));
  t.equal(parseToken(first.token).secret, first.secret);
  for (const f of ['token', 'node-token']) {
    const path = join(dataDir, 'server', f);
    t.equal((await readFile(path, 'utf8')).trim(), first.token, `${f} content`);
    t.equal((await stat(path)).mode & 0o777, 0o600, `${f} mode`);
  }
  const second = await ensureServerToken({ dataDir, caPem: CA });
  t.same(second, first, 'reused across restarts');

  // If the CA was recreated the secret survives, with the new hash.
  const rehashed = await ensureServerToken({ dataDir, caPem: OTHER_CA });
  t.equal(rehashed.secret, first.secret);
  t.equal(parseToken(rehashed.token).caHash, caHash(OTHER_CA));
});

t.test('ensureServerToken with --token', async (t) => {
  const dataDir = await tempDir(t);
  const bare = await ensureServerToken({ dataDir, caPem: CA, token: 'my-cluster-secret' });
  t.same(bare, { token: `K10${HASH}::server:my-cluster-secret`, secret: 'my-cluster-secret' });
  t.equal((await readFile(join(dataDir, 'server', 'token'), 'utf8')).trim(), bare.token);

  const full = await ensureServerToken({ dataDir, caPem: CA, token: `K10${HASH}::server:other-secret` });
  t.equal(full.secret, 'other-secret');

  await t.rejects(
    ensureServerToken({ dataDir, caPem: CA, token: `K10${caHash(OTHER_CA)}::server:x` }),
    { name: 'TokenError', message: /different CA/ },
  );
  await t.rejects(ensureServerToken({ dataDir, caPem: CA, token: 'K10zz::server:x' }), TokenError);
  t.equal((await readFile(join(dataDir, 'server', 'token'), 'utf8')).trim(), full.token, 'a refused token changes nothing');
});

t.test('admin token', async (t) => {
  const dataDir = await tempDir(t);
  const a = await loadOrCreateAdminToken(dataDir);
  t.match(a, /^[A-Za-z0-9_-]{40,}$/);
  const path = join(dataDir, 'server', 'cred', 'admin.token');
  t.equal((await stat(path)).mode & 0o777, 0o600);
  t.equal(await loadOrCreateAdminToken(dataDir), a, 'reused');
  t.same(await loadCredentials(dataDir), { adminToken: a });
  const other = await tempDir(t);
  t.not(await loadOrCreateAdminToken(other), a, 'random per data dir');
  // An emptied file is replaced rather than accepted as an empty token.
  await mkdir(join(other, 'server', 'cred'), { recursive: true });
  await writeFile(join(other, 'server', 'cred', 'admin.token'), '\n');
  t.match(await loadOrCreateAdminToken(other), /^[A-Za-z0-9_-]{40,}$/);
});

t.test('bearerChecker', async (t) => {
  const cases: [string | undefined, string, boolean][] = [
    ['Bearer abc', 'abc', true],
    ['bearer abc', 'abc', true],
    ['Bearer   abc  ', 'abc', true],
    ['Bearer abd', 'abc', false],
    ['Bearer abcd', 'abc', false],
    ['Bearer ab', 'abc', false],
    ['Basic abc', 'abc', false],
    ['abc', 'abc', false],
    ['Bearer ', 'abc', false],
    ['Bearer a b', 'a', false],
    [undefined, 'abc', false],
    ['Bearer ', '', false],
  ];
  for (const [header, expected, want] of cases) t.equal(bearerChecker(expected)(header), want, `${String(header)} vs ${expected}`);
});
