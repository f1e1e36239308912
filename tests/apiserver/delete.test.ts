import t from 'tap';
import { startTestApi } from '../helpers/apiserver.js';

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 20, ...extra },
});

t.test('an unscheduled pod goes at once; a bound running pod waits for its node', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/pods';
  await s.json('POST', base, pod('loose'));
  const gone = await s.json('DELETE', `${base}/loose`);
  t.equal(gone.status, 200);
  t.equal((await s.json('GET', `${base}/loose`)).status, 404);

  await s.json('POST', base, pod('bound'));
  const bind = await s.json('POST', `${base}/bound/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { kind: 'Node', name: 'n1' } });
  t.equal(bind.status, 201);
  const rebind = await s.json('POST', `${base}/bound/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { kind: 'Node', name: 'n2' } });
  t.equal(rebind.status, 409, 'a pod is bound once');
  const bound = await s.json('GET', `${base}/bound`);
  t.equal(bound.body.spec.nodeName, 'n1');
  t.match(bound.body.status.conditions, [{ type: 'PodScheduled', status: 'True' }]);

  const marked = await s.json('DELETE', `${base}/bound`);
  t.equal(marked.status, 202, 'deletion pending');
  t.equal(marked.body.metadata.deletionGracePeriodSeconds, 20);
  t.ok(marked.body.metadata.deletionTimestamp);
  const still = await s.json('GET', `${base}/bound`);
  t.equal(still.status, 200, 'still there until the node confirms');

  const shorter = await s.json('DELETE', `${base}/bound`, { gracePeriodSeconds: 5 });
  t.equal(shorter.body.metadata.deletionGracePeriodSeconds, 5, 'a second delete may shorten the grace period');
  const longer = await s.json('DELETE', `${base}/bound`, { gracePeriodSeconds: 60 });
  t.equal(longer.body.metadata.deletionGracePeriodSeconds, 5, 'but not lengthen it');

  const confirm = await s.json('DELETE', `${base}/bound`, { gracePeriodSeconds: 0 });
  t.equal(confirm.status, 200);
  t.equal((await s.json('GET', `${base}/bound`)).status, 404, 'the node confirmed: gone');

  await s.json('POST', base, pod('finished'));
  await s.json('POST', `${base}/finished/binding`, { target: { name: 'n1' }, metadata: { name: 'finished' } });
  const cur = (await s.json('GET', `${base}/finished`)).body;
  await s.json('PUT', `${base}/finished/status`, { ...cur, status: { ...cur.status, phase: 'Succeeded' } });
  t.equal((await s.json('DELETE', `${base}/finished`)).status, 200);
  t.equal((await s.json('GET', `${base}/finished`)).status, 404, 'a finished pod goes at once');
});

t.test('finalizers hold an object; removing the last one deletes it', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  await s.json('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  const del = await s.json('DELETE', `${base}/held`);
  t.equal(del.status, 202);
  t.ok(del.body.metadata.deletionTimestamp);
  const again = await s.json('DELETE', `${base}/held`);
  t.equal(again.status, 202, 'deleting again changes nothing');
  t.equal(again.body.metadata.deletionTimestamp, del.body.metadata.deletionTimestamp);

  const cannotCreate = await s.json('PATCH', `${base}/held`, { metadata: { labels: { a: 'b' } } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(cannotCreate.status, 200, 'a deleting object can still be updated');
  t.equal(cannotCreate.body.metadata.deletionTimestamp, del.body.metadata.deletionTimestamp, 'deletionTimestamp cannot be cleared by an update');

  const release = await s.json('PATCH', `${base}/held`, { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(release.status, 200);
  t.equal((await s.json('GET', `${base}/held`)).status, 404, 'gone once its last finalizer is removed');
});

t.test('propagation policy: Foreground and Orphan add their finalizers, Background deletes now', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  for (const [name, policy, finalizer] of [
    ['fg', 'Foreground', 'foregroundDeletion'],
    ['or', 'Orphan', 'orphan'],
  ] as const) {
    await s.json('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const res = await s.json('DELETE', `${base}/${name}`, { propagationPolicy: policy });
    t.equal(res.status, 202, policy);
    t.same(res.body.metadata.finalizers, [finalizer], policy);
  }
  await s.json('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bg' } });
  const bg = await s.json('DELETE', `${base}/bg?propagationPolicy=Background`);
  t.match(bg.body, { kind: 'Status', status: 'Success', details: { name: 'bg', kind: 'configmaps' } });
  t.equal((await s.json('DELETE', `${base}/bg`)).status, 404);
  const bad = await s.json('DELETE', `${base}/fg`, { propagationPolicy: 'Sideways' });
  t.equal(bad.status, 400);
});

t.test('preconditions, dry run and deletecollection', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const made = (await s.json('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p', labels: { g: 'a' } } })).body;
  const wrongUid = await s.json('DELETE', `${base}/p`, { preconditions: { uid: 'nope' } });
  t.equal(wrongUid.status, 409);
  const dry = await s.json('DELETE', `${base}/p?dryRun=All`);
  t.equal(dry.status, 200);
  t.equal((await s.json('GET', `${base}/p`)).status, 200, 'dry run deletes nothing');
  const dryCreate = await s.json('POST', `${base}?dryRun=All`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } });
  t.equal(dryCreate.status, 201);
  t.equal((await s.json('GET', `${base}/dry`)).status, 404, 'dry run creates nothing');
  t.equal((await s.json('DELETE', `${base}/p`, { preconditions: { uid: made.metadata.uid } })).status, 200);

  for (const [name, g] of [['a1', 'a'], ['a2', 'a'], ['b1', 'b']]) {
    await s.json('POST', base, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { g } } });
  }
  const coll = await s.json('DELETE', `${base}?labelSelector=g%3Da`);
  t.equal(coll.status, 200);
  const left = await s.json('GET', base);
  t.same(left.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['b1']);
});

t.test('namespaces: deletion marks Terminating and refuses new content', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  await s.json('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  const ns = await s.json('GET', '/api/v1/namespaces/team');
  t.equal(ns.body.status.phase, 'Active');
  t.same(ns.body.spec.finalizers, ['kubernetes']);
  const del = await s.json('DELETE', '/api/v1/namespaces/team');
  t.equal(del.status, 202);
  t.equal(del.body.status.phase, 'Terminating');
  const refused = await s.json('POST', '/api/v1/namespaces/team/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
  t.equal(refused.status, 403);
  t.match(refused.body.message, /because it is being terminated/);
  const fin = await s.json('PUT', '/api/v1/namespaces/team/finalize', { ...del.body, spec: { finalizers: [] } });
  t.equal(fin.status, 200);
  t.equal((await s.json('GET', '/api/v1/namespaces/team')).status, 404, 'finalized namespace is gone');
});
