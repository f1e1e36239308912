import t, { type Test } from 'tap';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN, type TestApi } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport, type Transport } from '../../pkg/client/transport.js';
import { Informer, SharedInformerFactory, keyOf, splitKey, stripManagedFields } from '../../pkg/client/informer.js';

/**
 * Wraps a transport so a test can cut every open watch and hold new ones
 * back, the way a dropped connection and a slow reconnect would.
 */
function controllable(inner: Transport) {
  const open = new Set<AbortController>();
  let gate: Promise<void> | undefined;
  let release: () => void = () => undefined;
  const watchPaths: string[] = [];
  const transport: Transport = {
    async request(method, path, opts = {}) {
      if (!path.includes('watch=true')) return inner.request(method, path, opts);
      await gate;
      watchPaths.push(path);
      const ac = new AbortController();
      open.add(ac);
      const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
      return inner.request(method, path, { ...opts, signal });
    },
    close: () => inner.close(),
  };
  return {
    transport,
    watchPaths,
    /** Ends every open watch stream. */
    cut() {
      for (const ac of open) ac.abort();
      open.clear();
    },
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release() {
      gate = undefined;
      release();
    },
  };
}

async function setup(t: Test, opts: { bookmarkIntervalMs?: number } = {}) {
  const s: TestApi = await startTestApi(opts);
  const ctl = controllable(inProcessTransport(s.api.app.fetch, TOKEN));
  const client = new Client(ctl.transport);
  await client.resource('namespaces').create({ metadata: { name: 'inf' } });
  t.teardown(async () => {
    await ctl.transport.close();
    await s.close();
  });
  return { s, ctl, client, cms: client.resource('configmaps').namespace('inf') };
}

type Seen = [string, string, string?];

function recorder<T extends ConfigMap | Pod>(inf: Informer<T>): Seen[] {
  const seen: Seen[] = [];
  inf.addEventHandler({
    onAdd: (o) => seen.push(['add', keyOf(o)]),
    onUpdate: (a, b) => seen.push(['update', keyOf(b), `${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`]),
    onDelete: (o) => seen.push(['delete', keyOf(o)]),
  });
  return seen;
}

const cm = (name: string, data: Record<string, string> = {}): ConfigMap => ({ metadata: { name, namespace: 'inf' }, data });

t.test('keys', async (t) => {
  const cases: [ConfigMap, string, { namespace?: string; name: string }][] = [
    [{ metadata: { name: 'a', namespace: 'ns' } }, 'ns/a', { namespace: 'ns', name: 'a' }],
    [{ metadata: { name: 'node-1' } }, 'node-1', { name: 'node-1' }],
  ];
  for (const [obj, key, split] of cases) {
    t.equal(keyOf(obj), key);
    t.same(splitKey(key), split);
  }
});

t.test('initial paginated sync, then add/update/delete handlers', async (t) => {
  const { client, cms } = await setup(t);
  for (let i = 0; i < 5; i++) await cms.create(cm(`pre-${i}`));
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf', pageSize: 2 });
  const seen = recorder(inf);
  t.notOk(inf.hasSynced());
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  t.ok(inf.hasSynced());
  t.same(inf.keys().sort(), ['inf/pre-0', 'inf/pre-1', 'inf/pre-2', 'inf/pre-3', 'inf/pre-4']);
  t.same(seen.length, 5, 'one add per listed object');
  seen.length = 0;

  const created = await cms.create(cm('new'));
  const updated = await cms.patch('new', 'merge', { data: { x: '1' } });
  await cms.delete('pre-0');
  await waitFor(() => seen.length === 3, 5000, 'three events');
  t.same(seen, [
    ['add', 'inf/new'],
    ['update', 'inf/new', `${created.metadata?.resourceVersion}->${updated.metadata?.resourceVersion}`],
    ['delete', 'inf/pre-0'],
  ]);
  t.same(inf.getByName('inf', 'new')?.data, { x: '1' });
  t.equal(inf.get('inf/pre-0'), undefined);
  t.ok(Number(inf.resourceVersion) > Number(updated.metadata?.resourceVersion), 'the cache is current to the delete');

  // A handler added late gets the cache as adds.
  const late: string[] = [];
  inf.addEventHandler({ onAdd: (o) => late.push(keyOf(o)) });
  t.equal(late.length, 5);
});

t.test('indexers: by namespace, by node, by owner', async (t) => {
  const { client } = await setup(t);
  await client.resource('nodes').create({ metadata: { name: 'n1' } });
  const pods = client.resource('pods');
  const inf = new Informer(pods);
  inf.addIndexer('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  const mk = (ns: string, name: string, owner?: string): Pod => ({
    metadata: { name, namespace: ns, ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: owner, controller: true }] } : {}) },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  });
  await pods.create(mk('inf', 'a', 'rs-uid'));
  await pods.create(mk('inf', 'b', 'rs-uid'));
  await pods.create(mk('default', 'c'));
  inf.addIndexer('owner', (p) => (p.metadata?.ownerReferences ?? []).map((r) => r.uid));
  await waitFor(() => inf.size === 3, 5000, 'three pods');
  const names = (ps: Pod[]) => ps.map((p) => p.metadata?.name).sort();
  t.same(names(inf.byNamespace('inf')), ['a', 'b']);
  t.same(names(inf.byIndex('owner', 'rs-uid')), ['a', 'b'], 'an indexer added late indexes what is cached');
  t.same(inf.byIndex('node', 'n1'), []);
  await client.bind({ namespace: 'inf', name: 'a' }, 'n1');
  await waitFor(() => inf.byIndex('node', 'n1').length === 1, 5000, 'a on n1');
  t.same(names(inf.byIndex('node', 'n1')), ['a']);
  await pods.namespace('inf').delete('b', { gracePeriodSeconds: 0 });
  await waitFor(() => inf.byIndex('owner', 'rs-uid').length === 1, 5000, 'b gone from the owner index');
  t.throws(() => inf.byIndex('nope', 'x'), /no indexer/);
  t.throws(() => inf.addIndexer('node', () => []), /already exists/);
});

t.test('a cut watch resumes from the last resourceVersion without re-listing', async (t) => {
  const { client, ctl, cms } = await setup(t);
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf', backoffInitialMs: 10 });
  const seen = recorder(inf);
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  await cms.create(cm('before'));
  await waitFor(() => seen.length === 1, 5000, 'before');
  const rv = inf.resourceVersion;

  ctl.hold();
  ctl.cut();
  await cms.create(cm('during'));
  await cms.patch('before', 'merge', { data: { y: '2' } });
  ctl.release();
  await waitFor(() => seen.length === 3, 5000, 'changes made while cut');
  t.same(seen.map((s) => s.slice(0, 2)), [
    ['add', 'inf/before'],
    ['add', 'inf/during'],
    ['update', 'inf/before'],
  ]);
  t.equal(inf.stats.lists, 1, 'no re-list');
  t.ok(ctl.watchPaths.length >= 2);
  t.match(ctl.watchPaths[ctl.watchPaths.length - 1], new RegExp(`resourceVersion=${rv}&`), 're-watched from the last version');
  t.match(ctl.watchPaths[0], /allowWatchBookmarks=true/);
});

t.test('a watch that ends on its timeout is re-opened', async (t) => {
  const { client, ctl, cms } = await setup(t);
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf', watchTimeoutSeconds: 1, backoffInitialMs: 10 });
  const seen = recorder(inf);
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  await waitFor(() => ctl.watchPaths.length >= 2, 10_000, 'a second watch');
  await cms.create(cm('after-timeout'));
  await waitFor(() => seen.length === 1, 5000, 'event on the new watch');
  t.equal(inf.stats.lists, 1);
});

t.test('bookmarks advance the resourceVersion', async (t) => {
  const { client, ctl } = await setup(t, { bookmarkIntervalMs: 20 });
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf' });
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  // A write outside the informer's namespace moves the store's revision; only a bookmark tells the informer.
  const other = await client.resource('configmaps').create({ metadata: { name: 'elsewhere', namespace: 'default' } });
  const target = Number(other.metadata?.resourceVersion);
  await waitFor(() => Number(inf.resourceVersion) >= target, 5000, 'bookmark');
  ctl.cut();
  await waitFor(() => ctl.watchPaths.length >= 2, 5000, 'second watch');
  const last = ctl.watchPaths[ctl.watchPaths.length - 1] ?? '';
  t.ok(Number(/resourceVersion=(\d+)/.exec(last)?.[1]) >= target, 'resumes from the bookmark');
});

t.test('410 while the watch is down: re-list delivers the difference', async (t) => {
  const { s, client, ctl, cms } = await setup(t);
  await cms.create(cm('stays'));
  await cms.create(cm('changes'));
  await cms.create(cm('goes'));
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf', backoffInitialMs: 10 });
  const seen = recorder(inf);
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  t.equal(seen.length, 3);
  seen.length = 0;
  const goneBefore = inf.get('inf/goes');

  ctl.hold();
  ctl.cut();
  await cms.delete('goes');
  await cms.patch('changes', 'merge', { data: { v: '2' } });
  await cms.create(cm('arrives'));
  await s.backend.compact(s.backend.currentRevision());
  ctl.release();

  await waitFor(() => seen.length === 3, 5000, 'the difference');
  t.same(seen.map((x) => x.slice(0, 2)).sort(), [
    ['add', 'inf/arrives'],
    ['delete', 'inf/goes'],
    ['update', 'inf/changes'],
  ].sort());
  t.equal(inf.stats.expired, 1);
  t.equal(inf.stats.lists, 2, 'one re-list');
  t.same(inf.keys().sort(), ['inf/arrives', 'inf/changes', 'inf/stays']);
  t.same(inf.get('inf/changes')?.data, { v: '2' });
  t.ok(goneBefore);

  // And it keeps watching from the re-list's version.
  await cms.create(cm('later'));
  await waitFor(() => seen.length === 4, 5000, 'live again');
  t.same(seen[3]?.slice(0, 2), ['add', 'inf/later']);
});

t.test('label selector scope', async (t) => {
  const { client, cms } = await setup(t);
  const inf = new Informer(client.resource('configmaps'), { labelSelector: 'pick=yes' });
  const seen = recorder(inf);
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();
  await cms.create({ metadata: { name: 'no', labels: { pick: 'no' } } });
  await cms.create({ metadata: { name: 'yes', labels: { pick: 'yes' } } });
  await waitFor(() => seen.length === 1, 5000, 'the matching one');
  await cms.patch('yes', 'merge', { metadata: { labels: { pick: 'no' } } });
  await waitFor(() => seen.length === 2, 5000, 'stops matching');
  t.same(seen.map((x) => x.slice(0, 2)), [
    ['add', 'inf/yes'],
    ['delete', 'inf/yes'],
  ]);
});

t.test('stop ends the watch; waitForSync of a stopped informer rejects', async (t) => {
  const { client, cms } = await setup(t);
  const inf = new Informer(client.resource('configmaps'), { namespace: 'inf' });
  const seen = recorder(inf);
  inf.start();
  await inf.waitForSync();
  await inf.stop();
  await cms.create(cm('unseen'));
  // Any event still in flight would have been delivered by now through the in-process stream.
  await new Promise((r) => setImmediate(r));
  t.same(seen, []);
  const never = new Informer(client.resource('configmaps'));
  const waiting = never.waitForSync();
  await never.stop();
  await t.rejects(waiting, /stopped before sync/);
});

t.test('shared factory: one informer per kind and scope', async (t) => {
  const { client, cms } = await setup(t);
  const f = new SharedInformerFactory(client);
  t.teardown(() => f.stop());
  const a = f.informerFor('configmaps');
  const b = f.informerFor('configmaps');
  const c = f.informerFor('configmaps', { namespace: 'inf' });
  t.equal(a, b, 'same key, same informer');
  t.not(a, c, 'other scope, other informer');
  t.equal(f.informerFor('deployments'), f.informerFor('deployments.apps'));
  f.start();
  await f.waitForSync();
  t.ok(a.hasSynced() && c.hasSynced());
  const late = f.informerFor('pods');
  t.ok(late.isStarted(), 'an informer asked for after start() starts at once');
  await f.waitForSync();
  await cms.create(cm('shared'));
  await waitFor(() => a.get('inf/shared') !== undefined && c.get('inf/shared') !== undefined, 5000, 'both caches');
  t.pass('both caches see the object');
});

t.test('a transform shapes what is cached, from the list and from the watch', async (t) => {
  const { client, cms } = await setup(t);
  await cms.create(cm('listed', { a: '1' }));
  const factory = new SharedInformerFactory(client, { transform: stripManagedFields });
  const inf = factory.informerFor('configmaps', { namespace: 'inf' });
  factory.start();
  t.teardown(() => factory.stop());
  await factory.waitForSync();
  t.ok((await cms.get('listed')).metadata?.managedFields?.length, 'the server keeps managedFields');
  t.equal(inf.getByName('inf', 'listed')?.metadata?.managedFields, undefined, 'stripped from a listed object');
  t.same(inf.getByName('inf', 'listed')?.data, { a: '1' }, 'the rest is kept');
  await cms.create(cm('watched', { b: '2' }));
  await waitFor(() => inf.getByName('inf', 'watched') !== undefined, 5000, 'the watched object');
  t.equal(inf.getByName('inf', 'watched')?.metadata?.managedFields, undefined, 'stripped from a watched object');
});
