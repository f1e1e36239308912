import t from 'tap';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';
import { MetricsRegistry } from '../../pkg/util/metrics.js';

const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
  data: { a: '1' },
});

const deployment = (name: string, image = 'nginx:1.25', replicas = 2) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
  },
});

t.test('health, version and cacerts are open; everything else needs the token', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  for (const path of ['/version', '/healthz', '/livez', '/readyz', '/cacerts']) {
    const res = await s.api.app.request(path);
    t.equal(res.status, 200, path);
  }
  const version = (await (await s.api.app.request('/version')).json()) as { major: string; minor: string };
  t.equal(version.major, '1');
  t.equal(version.minor, '32');
  for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`]) {
    const res = await s.api.app.request('/api/v1/namespaces', { headers: auth ? { authorization: auth } : {} });
    t.equal(res.status, 401, `auth ${auth}`);
    const body = await res.json();
    t.match(body, { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  }
});

t.test('/metrics: Prometheus text for the token holder, 401 without it, 404 when nothing registers', async (t) => {
  const metrics = new MetricsRegistry();
  metrics.register({ name: 'orch_test_total', help: 'A test counter.', type: 'counter', samples: () => [{ value: 3 }] });
  const s = await startTestApi({ metrics });
  t.teardown(() => s.close());
  const res = await s.api.app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.match(await res.text(), '# TYPE orch_test_total counter\norch_test_total 3\n');
  t.equal((await s.api.app.request('/metrics')).status, 401);
  const bare = await startTestApi();
  t.teardown(() => bare.close());
  t.equal((await bare.api.app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
});

t.test('discovery: aggregated with its exact content type, and legacy documents', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const accept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
  const api = await s.json('GET', '/api', undefined, { accept });
  t.equal(api.headers.get('content-type'), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const core = api.body.items[0].versions[0].resources;
  const pods = core.find((r: { resource: string }) => r.resource === 'pods');
  t.match(pods, { resource: 'pods', scope: 'Namespaced', singularResource: 'pod', shortNames: ['po'], categories: ['all'] });
  t.ok(pods.subresources.some((s: { subresource: string }) => s.subresource === 'log'));
  const apis = await s.json('GET', '/apis', undefined, { accept });
  const groups = apis.body.items.map((g: { metadata: { name: string } }) => g.metadata.name);
  t.same(groups.sort(), ['apps', 'coordination.k8s.io', 'rbac.authorization.k8s.io']);
  const deploy = apis.body.items
    .find((g: { metadata: { name: string } }) => g.metadata.name === 'apps')
    .versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
  t.same(deploy.categories, ['all']);
  t.ok(deploy.subresources.some((s: { subresource: string }) => s.subresource === 'scale'));

  const legacy = await s.json('GET', '/api');
  t.match(legacy.body, { kind: 'APIVersions', versions: ['v1'] });
  const v1 = await s.json('GET', '/api/v1');
  const names = v1.body.resources.map((r: { name: string }) => r.name);
  t.ok(names.includes('pods') && names.includes('pods/status') && names.includes('pods/binding'));
  const apps = await s.json('GET', '/apis/apps/v1');
  t.equal(apps.body.groupVersion, 'apps/v1');
  t.equal((await s.json('GET', '/apis/nope/v1')).status, 404);
});

t.test('default namespaces and the kubernetes Service exist from the start', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const ns = await s.json('GET', '/api/v1/namespaces');
  t.same(ns.body.items.map((n: { metadata: { name: string } }) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const svc = await s.json('GET', '/api/v1/namespaces/default/services/kubernetes');
  t.equal(svc.body.spec.clusterIP, '10.43.0.1');
  const ep = await s.json('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
  t.same(ep.body.subsets[0].addresses, [{ ip: '127.0.0.1' }]);
});

t.test('create sets identity and defaults; get and list return it', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const created = await s.json('POST', '/api/v1/namespaces/default/configmaps', cm('one'));
  t.equal(created.status, 201);
  const meta = created.body.metadata;
  t.match(meta, { name: 'one', namespace: 'default', uid: /^[0-9a-f-]{36}$/, creationTimestamp: /Z$/, resourceVersion: /^\d+$/ });
  t.equal(created.body.kind, 'ConfigMap');
  const got = await s.json('GET', '/api/v1/namespaces/default/configmaps/one');
  t.same(got.body, created.body);
  const list = await s.json('GET', '/api/v1/namespaces/default/configmaps');
  t.equal(list.body.kind, 'ConfigMapList');
  t.match(list.body.metadata, { resourceVersion: /^\d+$/ });
  t.equal(list.body.items.length, 1);

  const gen = await s.json('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
  t.match(gen.body.metadata.name, /^gen-[a-z0-9]{5}$/);

  const d = await s.json('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web'));
  t.equal(d.status, 201);
  t.equal(d.body.metadata.generation, 1);
  t.match(d.body.spec, { revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
  t.match(d.body.spec.template.spec, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
  t.equal(d.body.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
});

t.test('errors are Status objects with the right reason and write nothing', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  await s.json('POST', '/api/v1/namespaces/default/configmaps', cm('dup'));
  const before = s.backend.currentRevision();
  const cases: { name: string; method: string; path: string; body?: unknown; headers?: Record<string, string>; code: number; reason: string; message?: RegExp }[] = [
    { name: 'already exists', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: cm('dup'), code: 409, reason: 'AlreadyExists', message: /^configmaps "dup" already exists$/ },
    { name: 'not found', method: 'GET', path: '/api/v1/namespaces/default/configmaps/nope', code: 404, reason: 'NotFound', message: /^configmaps "nope" not found$/ },
    { name: 'not found in group', method: 'GET', path: '/apis/apps/v1/namespaces/default/deployments/nope', code: 404, reason: 'NotFound', message: /^deployments\.apps "nope" not found$/ },
    { name: 'missing namespace', method: 'POST', path: '/api/v1/namespaces/nope/configmaps', body: cm('x'), code: 404, reason: 'NotFound', message: /namespaces "nope" not found/ },
    { name: 'invalid name', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: cm('Bad_Name'), code: 422, reason: 'Invalid', message: /ConfigMap "Bad_Name" is invalid: metadata.name/ },
    { name: 'no name', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, code: 422, reason: 'Invalid' },
    { name: 'kind mismatch', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } }, code: 400, reason: 'BadRequest' },
    { name: 'version mismatch', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'k' } }, code: 400, reason: 'BadRequest' },
    { name: 'malformed json', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '{"apiVersion": "v1", ', code: 400, reason: 'BadRequest', message: /json parse error/ },
    { name: 'malformed yaml', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: 'a: [1, 2\nb: }', headers: { 'content-type': 'application/yaml' }, code: 400, reason: 'BadRequest', message: /yaml/ },
    { name: 'not an object', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '[1,2]', code: 400, reason: 'BadRequest' },
    { name: 'namespace mismatch', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: cm('m', { namespace: 'kube-system' }), code: 400, reason: 'BadRequest' },
    { name: 'too large', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { ...cm('big'), data: { a: 'x'.repeat(3 * 1024 * 1024) } }, code: 413, reason: 'RequestEntityTooLarge' },
    { name: 'unknown field under Strict', method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict', body: { ...deployment('s'), spec: { ...deployment('s').spec, replica: 3 } }, code: 400, reason: 'BadRequest', message: /strict decoding error: unknown field "spec.replica"/ },
    { name: 'unsupported media type', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: 'x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, code: 415, reason: 'UnsupportedMediaType' },
    { name: 'protobuf without the k8s magic', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: 'x', headers: { 'content-type': 'application/vnd.kubernetes.protobuf' }, code: 400, reason: 'BadRequest' },
    { name: 'bad label selector', method: 'GET', path: '/api/v1/pods?labelSelector=a%20in%20(', code: 400, reason: 'BadRequest' },
    { name: 'unsupported field selector', method: 'GET', path: '/api/v1/pods?fieldSelector=spec.bogus%3Dx', code: 400, reason: 'BadRequest', message: /field label not supported/ },
    { name: 'unknown resource', method: 'GET', path: '/api/v1/widgets', code: 404, reason: 'NotFound' },
    { name: 'bad limit', method: 'GET', path: '/api/v1/pods?limit=abc', code: 400, reason: 'BadRequest' },
    { name: 'bad continue', method: 'GET', path: '/api/v1/pods?continue=garbage', code: 400, reason: 'BadRequest' },
    { name: 'bad patch type', method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/dup', body: '{}', headers: { 'content-type': 'text/plain' }, code: 415, reason: 'UnsupportedMediaType' },
    { name: 'bad json patch', method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/dup', body: '[{"op":"test","path":"/data/a","value":"2"}]', headers: { 'content-type': 'application/json-patch+json' }, code: 422, reason: 'Invalid' },
  ];
  for (const c of cases) {
    const res = await s.json(c.method, c.path, c.body, c.headers);
    t.equal(res.status, c.code, `${c.name}: code`);
    t.match(res.body, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: c.reason, code: c.code }, `${c.name}: status`);
    if (c.message) t.match(res.body.message, c.message, `${c.name}: message`);
  }
  t.equal(s.backend.currentRevision(), before, 'no failed request wrote anything');
  const invalid = await s.json('POST', '/api/v1/namespaces/default/configmaps', cm('Bad_Name'));
  t.match(invalid.body.details, { name: 'Bad_Name', kind: 'ConfigMap', causes: [{ field: 'metadata.name' }] });
});

t.test('update: optimistic concurrency, generation, status subresource', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/apis/apps/v1/namespaces/default/deployments';
  const created = (await s.json('POST', base, deployment('web'))).body;

  const labelled = { ...created, metadata: { ...created.metadata, labels: { app: 'web', tier: 'x' } } };
  const u1 = await s.json('PUT', `${base}/web`, labelled);
  t.equal(u1.status, 200);
  t.equal(u1.body.metadata.generation, 1, 'metadata change keeps generation');

  const stale = await s.json('PUT', `${base}/web`, labelled);
  t.equal(stale.status, 409);
  t.match(stale.body, { reason: 'Conflict', message: /the object has been modified/ });

  const respec = { ...u1.body, spec: { ...u1.body.spec, replicas: 5 }, status: { replicas: 99 } };
  const u2 = await s.json('PUT', `${base}/web`, respec);
  t.equal(u2.body.metadata.generation, 2, 'spec change bumps generation');
  t.equal(u2.body.status?.replicas, undefined, 'main resource update ignores status');

  const withStatus = { ...u2.body, spec: { ...u2.body.spec, replicas: 1 }, status: { replicas: 5, observedGeneration: 2 } };
  const st = await s.json('PUT', `${base}/web/status`, withStatus);
  t.equal(st.status, 200);
  t.equal(st.body.status.replicas, 5);
  t.equal(st.body.spec.replicas, 5, 'status update ignores spec');

  const noRv = { ...st.body, metadata: { ...st.body.metadata, resourceVersion: undefined, annotations: { a: 'b' } } };
  const u3 = await s.json('PUT', `${base}/web`, noRv);
  t.equal(u3.status, 200, 'update without resourceVersion is unconditional');
  t.equal(u3.body.metadata.uid, created.metadata.uid);
  t.equal(u3.body.metadata.creationTimestamp, created.metadata.creationTimestamp);

  const renamed = await s.json('PUT', `${base}/web`, { ...u3.body, metadata: { ...u3.body.metadata, name: 'other' } });
  t.equal(renamed.status, 400);
  const immutable = await s.json('PUT', `${base}/web`, { ...u3.body, spec: { ...u3.body.spec, selector: { matchLabels: { app: 'x' } } } });
  t.equal(immutable.status, 422, 'selector is immutable');
});

t.test('patch: merge, json, strategic (kubectl re-apply body) and server-side apply', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/apis/apps/v1/namespaces/default/deployments';
  await s.json('POST', base, deployment('web'));

  const merge = await s.json('PATCH', `${base}/web/scale`, { spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(merge.status, 200);
  t.match(merge.body, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 }, status: { selector: 'app=web' } });

  const json = await s.json('PATCH', `${base}/web`, [{ op: 'replace', path: '/spec/replicas', value: 4 }], { 'content-type': 'application/json-patch+json' });
  t.equal(json.body.spec.replicas, 4);

  const smp = {
    metadata: { annotations: { note: 'x' } },
    spec: { replicas: 2, template: { spec: { '$setElementOrder/containers': [{ name: 'c' }], containers: [{ image: 'nginx:1.26', name: 'c' }] } } },
  };
  const strategic = await s.json('PATCH', `${base}/web`, smp, { 'content-type': 'application/strategic-merge-patch+json' });
  t.equal(strategic.status, 200);
  t.equal(strategic.body.spec.template.spec.containers.length, 1);
  t.match(strategic.body.spec.template.spec.containers[0], { name: 'c', image: 'nginx:1.26', imagePullPolicy: 'IfNotPresent' });
  t.equal(strategic.body.metadata.annotations.note, 'x');
  t.equal(strategic.body.metadata.generation, 4, 'replicas 3, 4, then template change bump generation each time');

  const applied = await s.json('PATCH', `${base}/api-made?fieldManager=kubectl&fieldValidation=Strict&force=false`, deployment('api-made', 'busybox:1', 1), {
    'content-type': 'application/apply-patch+yaml',
  });
  t.equal(applied.status, 201, 'apply creates when missing');
  t.equal(applied.body.metadata.managedFields?.[0]?.manager, 'kubectl');
  const again = await s.json('PATCH', `${base}/api-made?fieldManager=kubectl`, deployment('api-made', 'busybox:2', 1), { 'content-type': 'application/apply-patch+yaml' });
  t.equal(again.status, 200);
  t.equal(again.body.spec.template.spec.containers[0].image, 'busybox:2');
  const yamlApply = await s.call('PATCH', `${base}/api-made?fieldManager=kubectl`, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api-made\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: api-made}\n  template:\n    metadata: {labels: {app: api-made}}\n    spec:\n      containers: [{name: c, image: "busybox:2"}]\n', {
    'content-type': 'application/apply-patch+yaml',
  });
  t.equal(yamlApply.status, 200, 'apply accepts YAML');
  t.equal(((await yamlApply.json()) as { spec: { replicas: number } }).spec.replicas, 3);
  const missing = await s.json('PATCH', `${base}/nope`, { spec: {} }, { 'content-type': 'application/merge-patch+json' });
  t.equal(missing.status, 404);
});

t.test('list: limit and continue, label and field selectors, Table output', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  for (let i = 0; i < 7; i++) {
    await s.json('POST', '/api/v1/namespaces/default/configmaps', cm(`c${i}`, { labels: { parity: i % 2 ? 'odd' : 'even' } }));
  }
  const seen: string[] = [];
  let cont = '';
  let rv = '';
  for (let page = 0; page < 10; page++) {
    const res = await s.json('GET', `/api/v1/namespaces/default/configmaps?limit=3${cont ? `&continue=${cont}` : ''}`);
    seen.push(...res.body.items.map((i: { metadata: { name: string } }) => i.metadata.name));
    if (!rv) rv = res.body.metadata.resourceVersion;
    else t.equal(res.body.metadata.resourceVersion, rv, 'pages read one snapshot');
    if (page === 0) {
      t.equal(res.body.metadata.remainingItemCount, 4);
      // A write between pages must not show up in later pages.
      await s.json('POST', '/api/v1/namespaces/default/configmaps', cm('c9'));
    }
    cont = res.body.metadata.continue ?? '';
    if (!cont) break;
  }
  t.same(seen, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);

  const odd = await s.json('GET', '/api/v1/namespaces/default/configmaps?labelSelector=parity%3Dodd');
  t.same(odd.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['c1', 'c3', 'c5']);
  const notOdd = await s.json('GET', '/api/v1/namespaces/default/configmaps?labelSelector=parity%20notin%20(odd),parity&limit=2');
  t.same(notOdd.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['c0', 'c2']);
  const byName = await s.json('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Dc4');
  t.same(byName.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['c4']);

  await s.json('POST', '/api/v1/namespaces/default/events', {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default' }, reason: 'Started', message: 'm', type: 'Normal',
  });
  await s.json('POST', '/api/v1/namespaces/default/events', {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', name: 'p2', namespace: 'default' }, reason: 'Started', message: 'm', type: 'Normal',
  });
  const ev = await s.json('GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp2,involvedObject.kind%3DPod');
  t.same(ev.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['e2']);

  await s.json('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  const table = await s.json('GET', '/api/v1/namespaces/default/pods', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  t.equal(table.body.kind, 'Table');
  t.same(table.body.columnDefinitions.filter((c: { priority: number }) => c.priority === 0).map((c: { name: string }) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
  t.same(table.body.rows[0].cells.slice(0, 4), ['p', '0/1', 'Pending', '0']);
  t.equal(table.body.rows[0].object.kind, 'PartialObjectMetadata');
  t.match(table.body.metadata, { resourceVersion: /^\d+$/ });
});

t.test('patch retries on a concurrent change unless the patch carries a resourceVersion', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const made = (await s.json('POST', base, cm('race'))).body;
  const merge = { 'content-type': 'application/merge-patch+json' };
  // Many patches at once: each must land (the server re-reads and retries on conflict).
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.json('PATCH', `${base}/race`, { data: { [`k${i}`]: String(i) } }, merge)));
  t.same(results.map((r) => r.status), Array(20).fill(200));
  const after = (await s.json('GET', `${base}/race`)).body;
  t.equal(Object.keys(after.data).length, 21, 'no patch was lost');
  const stale = await s.json('PATCH', `${base}/race`, { metadata: { resourceVersion: made.metadata.resourceVersion }, data: { z: '1' } }, merge);
  t.equal(stale.status, 409, 'a resourceVersion in the patch is a precondition');
});

t.test('new pods get the default not-ready/unreachable tolerations unless they have their own', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/pods';
  const plain = await s.json('POST', base, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  t.same(plain.body.spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]);
  const own = await s.json('POST', base, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'own' },
    spec: { containers: [{ name: 'c', image: 'x' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] },
  });
  t.same(own.body.spec.tolerations.map((x: { key: string; tolerationSeconds: number }) => [x.key, x.tolerationSeconds]), [
    ['node.kubernetes.io/unreachable', 5],
    ['node.kubernetes.io/not-ready', 300],
  ]);
});
