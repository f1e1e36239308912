/**
 * Node credentials: the join route trades the join secret and a node
 * password for a credential; a name is held by the first password; the
 * credential authenticates API requests; the store is the source of truth
 * (a deleted Secret revokes, a restarted server still knows the nodes).
 */
import t from 'tap';
import { MemoryBackend } from '../../embedded-store/memory.js';
import { createApiServer, type ApiServer } from '../../pkg/apiserver/app.js';
import { NODE_CREDENTIAL_PATH } from '../../pkg/apiserver/node-join.js';
import { bootstrapObjects } from '../../pkg/server/bootstrap.js';
import { bearerChecker } from '../../pkg/server/token.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import {
  NodeCredentials,
  NodeJoinError,
  NODE_PASSWORD_SECRET_TYPE,
  hashNodePassword,
  nodePasswordSecretName,
  verifyNodePassword,
} from '../../pkg/server/node-credentials.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'admin-token-for-tests';
const JOIN_SECRET = 'join-secret-for-tests';
const PW_A = 'a'.repeat(64);
const PW_B = 'b'.repeat(64);

async function startApi(backend: MemoryBackend): Promise<{ api: ApiServer; creds: NodeCredentials; close(): Promise<void> }> {
  const creds = new NodeCredentials();
  const isAdmin = bearerChecker(ADMIN);
  const api = createApiServer({
    backend,
    authenticate: (h) => isAdmin(h) || creds.authenticate(h) !== undefined,
    nodeJoin: { checkJoinSecret: bearerChecker(JOIN_SECRET), join: (n, p) => creds.join(n, p) },
    serverAddress: '127.0.0.1:6443',
    serviceCidr: '10.43.0.0/16',
    nodePortRange: '30000-32767',
  });
  await bootstrapObjects(api, { advertiseAddress: '127.0.0.1', port: 6443, serviceCidr: '10.43.0.0/16' });
  const client = new Client(inProcessTransport(api.app.fetch, ADMIN));
  await creds.start(client);
  return {
    api,
    creds,
    async close() {
      await creds.stop();
      await client.transport.close();
    },
  };
}

async function post(api: ApiServer, auth: string | undefined, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await api.app.request(NODE_CREDENTIAL_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('node password hashes verify only their password', async (t) => {
  const h = await hashNodePassword(PW_A);
  t.match(h, /^scrypt\$/);
  t.ok(await verifyNodePassword(PW_A, h));
  t.notOk(await verifyNodePassword(PW_B, h));
  t.notOk(await verifyNodePassword(PW_A, 'not-a-hash'));
  t.not(await hashNodePassword(PW_A), h, 'salted');
});

t.test('the join route', async (t) => {
  const backend = new MemoryBackend();
  const s = await startApi(backend);
  t.teardown(async () => {
    await s.close();
    await backend.close();
  });
  const cases: [string, string | undefined, unknown, number][] = [
    ['no credential', undefined, { nodeName: 'n1', nodePassword: PW_A }, 401],
    ['the admin token is not the join secret', `Bearer ${ADMIN}`, { nodeName: 'n1', nodePassword: PW_A }, 401],
    ['a wrong secret', 'Bearer nope', { nodeName: 'n1', nodePassword: PW_A }, 401],
    ['not JSON', `Bearer ${JOIN_SECRET}`, 'nope', 400],
    ['no password', `Bearer ${JOIN_SECRET}`, { nodeName: 'n1' }, 400],
    ['a short password', `Bearer ${JOIN_SECRET}`, { nodeName: 'n1', nodePassword: 'short' }, 400],
    ['a bad node name', `Bearer ${JOIN_SECRET}`, { nodeName: 'Not_A_Name', nodePassword: PW_A }, 400],
  ];
  for (const [what, auth, body, status] of cases) {
    t.equal((await post(s.api, auth, body)).status, status, what);
  }

  const ok = await post(s.api, `Bearer ${JOIN_SECRET}`, { nodeName: 'n1', nodePassword: PW_A });
  t.equal(ok.status, 200);
  t.equal(ok.body.nodeName, 'n1');
  const credential = String(ok.body.credential);
  t.ok(credential.length >= 32);

  // The credential is an API credential; a random one is not.
  const nodes = await s.api.app.request('/api/v1/nodes', { headers: { authorization: `Bearer ${credential}` } });
  t.equal(nodes.status, 200, 'node credential authenticates');
  const random = await s.api.app.request('/api/v1/nodes', { headers: { authorization: 'Bearer 0123456789abcdef0123456789abcdef' } });
  t.equal(random.status, 401, 'random token refused');
  t.equal(s.creds.authenticate(`Bearer ${credential}`), 'n1');

  // The store holds hashes only.
  const secret = await s.api.app.request(`/api/v1/namespaces/kube-system/secrets/${nodePasswordSecretName('n1')}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const stored = (await secret.json()) as { type: string; data: Record<string, string> };
  t.equal(stored.type, NODE_PASSWORD_SECRET_TYPE);
  const decoded = Object.values(stored.data).map((v) => Buffer.from(v, 'base64').toString());
  t.notOk(decoded.some((v) => v.includes(PW_A) || v.includes(credential)), 'no plain password or credential stored');

  // Another machine under the same name is refused with what to do.
  const taken = await post(s.api, `Bearer ${JOIN_SECRET}`, { nodeName: 'n1', nodePassword: PW_B });
  t.equal(taken.status, 403);
  t.match(String(taken.body.message), /already taken by another machine/);
  t.match(String(taken.body.message), /--node-name/);
  t.match(String(taken.body.message), /delete secret n1\.node-password\.orch/);

  // The same machine again (agent restart, lost credential): a new credential, the old one revoked.
  const again = await post(s.api, `Bearer ${JOIN_SECRET}`, { nodeName: 'n1', nodePassword: PW_A });
  t.equal(again.status, 200);
  t.not(again.body.credential, credential);
  t.equal(s.creds.authenticate(`Bearer ${String(again.body.credential)}`), 'n1');
  t.equal(s.creds.authenticate(`Bearer ${credential}`), undefined, 'previous credential revoked');
});

t.test('the store is the source of truth: deletion revokes, a restart keeps credentials', async (t) => {
  const backend = new MemoryBackend();
  const first = await startApi(backend);
  const c1 = await first.creds.join('n1', PW_A);
  const c2 = await first.creds.join('n2', PW_A);
  await first.close();

  // A new server on the same store knows both nodes at once (before any join).
  const second = await startApi(backend);
  t.teardown(async () => {
    await second.close();
    await backend.close();
  });
  t.equal(second.creds.authenticate(`Bearer ${c1}`), 'n1');
  t.equal(second.creds.authenticate(`Bearer ${c2}`), 'n2');

  // An operator deleting the Secret (the machine is gone) revokes it and frees the name.
  const del = await second.api.app.request(`/api/v1/namespaces/kube-system/secrets/${nodePasswordSecretName('n1')}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  t.equal(del.status, 200);
  await waitFor(() => second.creds.authenticate(`Bearer ${c1}`) === undefined, 5000, 'revocation');
  t.equal(second.creds.authenticate(`Bearer ${c2}`), 'n2', 'other nodes unaffected');
  const taken = await second.creds.join('n1', PW_B);
  t.equal(second.creds.authenticate(`Bearer ${taken}`), 'n1', 'a new machine may take the freed name');
  await t.rejects(second.creds.join('n1', PW_A), NodeJoinError);
});
