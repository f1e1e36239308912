import t, { type Test } from 'tap';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN, type TestApi } from '../helpers/apiserver.js';
import { Client, resourceFor, type WatchEvent } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { ApiStatusError, isAlreadyExists, isConflict, isExpired, isInvalid, isNotFound } from '../../pkg/client/errors.js';

async function setup(t: Test): Promise<{ s: TestApi; client: Client }> {
  const s = await startTestApi();
  const transport = inProcessTransport(s.api.app.fetch, TOKEN);
  t.teardown(async () => {
    await transport.close();
    await s.close();
  });
  return { s, client: new Client(transport) };
}

const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): ConfigMap => ({
  metadata: { name, namespace: 'default', labels },
  data,
});

const pod = (name: string): Pod => ({
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

t.test('CRUD on a namespaced kind, with typed errors', async (t) => {
  const { client } = await setup(t);
  const cms = client.resource('configmaps');
  const created = await cms.create(cm('a', { k: '1' }, { app: 'x' }));
  t.equal(created.kind, 'ConfigMap', 'kind and apiVersion are filled in');
  t.equal(created.apiVersion, 'v1');
  t.ok(created.metadata?.uid);
  t.ok(isAlreadyExists(await rejection(cms.create(cm('a')))), 'second create is AlreadyExists');

  const bound = cms.namespace('default');
  const got = await bound.get('a');
  t.same(got.data, { k: '1' });

  const updated = await bound.update({ ...got, data: { k: '2' } });
  t.same(updated.data, { k: '2' });
  const stale = await rejection(bound.update({ ...got, data: { k: '3' } }));
  t.ok(isConflict(stale), 'a stale resourceVersion is a Conflict');
  t.notOk(isAlreadyExists(stale));

  await cms.create(cm('b', {}, { app: 'y' }));
  const listed = await bound.list({ labelSelector: 'app=x' });
  t.same(listed.items.map((i) => i.metadata?.name), ['a']);
  t.match(listed.metadata.resourceVersion, /^\d+$/);
  t.equal(listed.items[0]?.kind, 'ConfigMap');
  const byField = await cms.list({ fieldSelector: 'metadata.name=b' });
  t.same(byField.items.map((i) => i.metadata?.name), ['b'], 'list across namespaces with a field selector');

  t.equal(await bound.delete('a'), undefined, 'a deleted ConfigMap answers with a Status');
  const gone = await rejection(bound.get('a'));
  t.ok(isNotFound(gone));
  t.ok(gone instanceof ApiStatusError && gone.status.reason === 'NotFound' && gone.code === 404 && gone.reason === 'NotFound');
  t.ok(isNotFound(await rejection(bound.delete('a'))));
  t.ok(isInvalid(await rejection(cms.create({ metadata: { name: 'Bad_Name', namespace: 'default' } }))));
  t.throws(() => cms.objectPath('x'), /namespace is required/, 'a namespaced name needs a namespace');
});

t.test('patch types', async (t) => {
  const { client } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  await cms.create(cm('p', { a: '1' }));
  const cases: { name: string; type: 'merge' | 'json' | 'strategic' | 'apply'; body: unknown; opts?: { fieldManager?: string; force?: boolean }; want: Record<string, string> }[] = [
    { name: 'merge', type: 'merge', body: { data: { b: '2' } }, want: { a: '1', b: '2' } },
    { name: 'strategic', type: 'strategic', body: { data: { a: null } }, want: { b: '2' } },
    { name: 'json', type: 'json', body: [{ op: 'add', path: '/data/c', value: '3' }], want: { b: '2', c: '3' } },
    {
      name: 'apply',
      type: 'apply',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p', namespace: 'default' }, data: { d: '4' } },
      opts: { fieldManager: 'tester', force: true },
      want: { b: '2', c: '3', d: '4' },
    },
  ];
  for (const c of cases) {
    const out = await cms.patch('p', c.type, c.body, c.opts);
    t.same(out.data, c.want, c.name);
  }
  const fresh = await cms.get('p');
  t.ok(fresh.metadata?.managedFields?.some((m) => m.manager === 'tester'), 'apply records the field manager');
  await t.rejects(cms.patch('p', 'apply', {}), /fieldManager/);
});

t.test('cluster-scoped kinds, status, binding, eviction, scale', async (t) => {
  const { client } = await setup(t);
  const nodes = client.resource('nodes');
  const node = await nodes.create({ metadata: { name: 'n1' } });
  const withStatus = await nodes.updateStatus({ ...node, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  t.same(withStatus.status?.conditions?.map((c) => c.type), ['Ready']);

  const pods = client.resource('pods').namespace('default');
  const p = await pods.create(pod('web'));
  await client.bind({ namespace: 'default', name: 'web', uid: p.metadata?.uid }, 'n1');
  const bound = await pods.get('web');
  t.equal(bound.spec?.nodeName, 'n1');
  t.ok(bound.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True'));
  t.ok(isConflict(await rejection(client.bind({ namespace: 'default', name: 'web' }, 'n2'))), 'binding twice is a Conflict');

  await pods.create(pod('victim'));
  await client.evict({ namespace: 'default', name: 'victim' }, { gracePeriodSeconds: 0 });
  t.ok(isNotFound(await rejection(pods.get('victim'))), 'evicted unbound pod is gone');

  const deploys = client.resource('deployments').namespace('default');
  await deploys.create({
    metadata: { name: 'd' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'd' } },
      template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  });
  t.equal((await deploys.getScale('d')).spec?.replicas, 1);
  const scaled = await deploys.updateScale('d', 4);
  t.equal(scaled.spec?.replicas, 4);
  t.equal((await deploys.get('d')).spec?.replicas, 4);
  t.equal(resourceFor('deployments.apps').kind, 'Deployment');
  t.throws(() => resourceFor('widgets'), /unknown resource/);
});

t.test('delete options: preconditions and propagation', async (t) => {
  const { client } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  const c = await cms.create(cm('x'));
  t.ok(isConflict(await rejection(cms.delete('x', { preconditions: { uid: 'not-the-uid' } }))), 'wrong uid precondition');
  t.ok(isConflict(await rejection(cms.delete('x', { preconditions: { resourceVersion: '1' } }))), 'wrong resourceVersion precondition');
  await cms.delete('x', { preconditions: { uid: c.metadata?.uid }, propagationPolicy: 'Background', gracePeriodSeconds: 0 });
  t.ok(isNotFound(await rejection(cms.get('x'))));

  // An object with a finalizer survives the DELETE and is returned with deletionTimestamp.
  await cms.create({ metadata: { name: 'fin', finalizers: ['example.com/hold'] } });
  const held = await cms.delete('fin', { propagationPolicy: 'Foreground' });
  t.ok(held?.metadata?.deletionTimestamp, 'delete returns the object still held by finalizers');
  await cms.patch('fin', 'merge', { metadata: { finalizers: null } });
  t.ok(isNotFound(await rejection(cms.get('fin'))));

  for (const n of ['c1', 'c2', 'c3']) await cms.create(cm(n, {}, { group: n === 'c3' ? 'keep' : 'drop' }));
  await cms.deleteCollection({ labelSelector: 'group=drop' });
  t.same((await cms.list({ labelSelector: 'group' })).items.map((i) => i.metadata?.name), ['c3']);
});

t.test('pagination', async (t) => {
  const { client } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  for (let i = 0; i < 5; i++) await cms.create(cm(`page-${i}`, {}, { paged: 'yes' }));
  const first = await cms.list({ labelSelector: 'paged=yes', limit: 2 });
  t.equal(first.items.length, 2);
  t.ok(first.metadata.continue, 'a continue token');
  const second = await cms.list({ labelSelector: 'paged=yes', limit: 2, continue: first.metadata.continue });
  t.equal(second.items.length, 2);
  const all = await cms.listAll({ labelSelector: 'paged=yes', pageSize: 2 });
  t.same(all.items.map((i) => i.metadata?.name), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  t.match(all.metadata.resourceVersion, /^\d+$/);
  t.notOk(all.metadata.continue);
});

t.test('watch sees changes in order and closes cleanly on abort', async (t) => {
  const { client } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  const rv = (await cms.list()).metadata.resourceVersion;
  const ac = new AbortController();
  const w = await cms.watch({ resourceVersion: rv, allowWatchBookmarks: true, signal: ac.signal });
  const seen: WatchEvent<ConfigMap>[] = [];
  const reading = (async () => {
    for await (const ev of w) {
      seen.push(ev);
      if (ev.type === 'DELETED') ac.abort();
    }
  })();
  await cms.create(cm('w'));
  await cms.patch('w', 'merge', { data: { x: '1' } });
  await cms.delete('w');
  await reading; // ends without throwing once aborted
  t.same(
    seen.map((e) => [e.type, e.type === 'ERROR' ? e.object.message : e.object.metadata?.name]),
    [
      ['ADDED', 'w'],
      ['MODIFIED', 'w'],
      ['DELETED', 'w'],
    ],
  );
  const modified = seen[1];
  t.ok(modified && modified.type === 'MODIFIED' && modified.object.data?.x === '1');
});

t.test('watch: close() ends a pending iteration; a too-old version yields an Expired ERROR', async (t) => {
  const { s, client } = await setup(t);
  const cms = client.resource('configmaps').namespace('default');
  const w = await cms.watch({ resourceVersion: (await cms.list()).metadata.resourceVersion });
  const reading = (async () => {
    let n = 0;
    for await (const _ of w) n++;
    return n;
  })();
  w.close();
  t.equal(await reading, 0);

  const old = (await cms.list()).metadata.resourceVersion;
  await cms.create(cm('one'));
  await cms.create(cm('two'));
  await s.backend.compact(s.backend.currentRevision());
  const stale = await cms.watch({ resourceVersion: old });
  const events: WatchEvent<ConfigMap>[] = [];
  for await (const ev of stale) events.push(ev);
  t.equal(events.length, 1);
  const ev = events[0];
  t.ok(ev && ev.type === 'ERROR' && isExpired(new ApiStatusError(ev.object)), 'ERROR event with 410 Expired');
  // A list from a compacted continue token is Expired too.
  const page = await cms.list({ limit: 1 });
  await cms.create(cm('three'));
  await s.backend.compact(s.backend.currentRevision());
  t.ok(isExpired(await rejection(cms.list({ limit: 1, continue: page.metadata.continue }))), 'stale continue token is Expired');
});

t.test('errors without a Status body, and a wrong token', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const bad = new Client(inProcessTransport(s.api.app.fetch, 'wrong'));
  const e = await rejection(bad.resource('pods').list());
  t.ok(e instanceof ApiStatusError && e.code === 401 && e.reason === 'Unauthorized');
  const textOnly = new Client(inProcessTransport(() => new Response('upstream broke', { status: 503 })));
  const e2 = await rejection(textOnly.resource('pods').list());
  t.ok(e2 instanceof ApiStatusError && e2.code === 503 && e2.reason === 'ServiceUnavailable' && e2.message === 'upstream broke');
});
