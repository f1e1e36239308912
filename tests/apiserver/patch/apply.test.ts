import t from 'tap';
import { readManagedFields, recordUpdate, serverSideApply, type ApplyOptions } from '../../../pkg/apiserver/patch/apply.js';
import { ApplyConflictError } from '../../../pkg/apiserver/patch/errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../pkg/apiserver/patch/json.js';

const T0 = new Date('2025-01-01T00:00:00.500Z');
const T1 = new Date('2025-01-01T00:01:00Z');

function opts(manager: string, extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return { manager, force: false, apiVersion: 'v1', now: T0, ...extra };
}

function get(v: JsonValue | undefined, ...path: (string | number)[]): JsonValue | undefined {
  for (const p of path) {
    if (Array.isArray(v) && typeof p === 'number') v = v[p];
    else if (isJsonObject(v) && typeof p === 'string') v = Object.hasOwn(v, p) ? v[p] : undefined;
    else return undefined;
  }
  return v;
}

function fieldsOf(obj: JsonObject, manager: string, operation = 'Apply'): JsonValue | undefined {
  return readManagedFields(obj).find((e) => e.manager === manager && e.operation === operation)?.fieldsV1;
}

function configMap(data: JsonObject, labels: JsonObject = { app: 'web' }): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'default', labels }, data };
}

function deployment(containers: JsonValue[], replicas = 2): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    },
  };
}

/** What the server adds on create; apply must leave these alone. */
function stored(obj: JsonObject): JsonObject {
  const md = obj.metadata;
  if (!isJsonObject(md)) throw new Error('no metadata');
  return { ...obj, metadata: { ...md, uid: 'u-1', resourceVersion: '5', creationTimestamp: '2025-01-01T00:00:00Z' } };
}

t.test('create: the result is the applied object plus an Apply entry', async (t) => {
  const applied = configMap({ a: '1', b: '2' });
  const out = serverSideApply(undefined, applied, opts('kubectl'));
  t.strictSame(get(out, 'data'), { a: '1', b: '2' });
  t.strictSame(get(out, 'metadata', 'managedFields'), [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'v1',
      time: '2025-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
    },
  ]);
  t.strictSame(applied, configMap({ a: '1', b: '2' }), 'applied config untouched');
});

t.test('keyed lists are recorded with k: keys', async (t) => {
  const out = serverSideApply(undefined, deployment([{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }]), opts('kubectl', { apiVersion: 'apps/v1' }));
  t.strictSame(get(fieldsOf(out, 'kubectl'), 'f:spec', 'f:template', 'f:spec', 'f:containers'), {
    'k:{"name":"c"}': {
      '.': {},
      'f:image': {},
      'f:name': {},
      'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
    },
  });
  t.strictSame(get(fieldsOf(out, 'kubectl'), 'f:spec', 'f:selector'), {}, 'LabelSelector is atomic');
});

t.test('re-applying the same configuration is a no-op', async (t) => {
  const applied = deployment([{ name: 'c', image: 'nginx' }]);
  const first = stored(serverSideApply(undefined, applied, opts('kubectl', { apiVersion: 'apps/v1' })));
  const again = serverSideApply(first, applied, opts('kubectl', { apiVersion: 'apps/v1', now: T1 }));
  t.strictSame(again, first, 'same object, same managedFields time');
});

t.test('dropping a field from the configuration removes it', async (t) => {
  const first = stored(serverSideApply(undefined, configMap({ a: '1', b: '2' }, { app: 'web', tier: 'fe' }), opts('kubectl')));
  const out = serverSideApply(first, configMap({ a: '1' }), opts('kubectl', { now: T1 }));
  t.strictSame(get(out, 'data'), { a: '1' });
  t.strictSame(get(out, 'metadata', 'labels'), { app: 'web' });
  t.equal(get(out, 'metadata', 'uid'), 'u-1', 'server fields kept');
  t.strictSame(fieldsOf(out, 'kubectl'), { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } });
  t.equal(get(out, 'metadata', 'managedFields', 0, 'time'), '2025-01-01T00:01:00Z');
});

t.test('dropping a container removes it; containers of other managers stay', async (t) => {
  const o = opts('kubectl', { apiVersion: 'apps/v1' });
  const first = stored(serverSideApply(undefined, deployment([{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }]), o));
  const other = serverSideApply(first, deployment([{ name: 'side', image: 'z' }]), { ...o, manager: 'injector' });
  t.strictSame(
    get(other, 'spec', 'template', 'spec', 'containers'),
    [
      { name: 'side', image: 'z' },
      { name: 'a', image: 'x' },
      { name: 'b', image: 'y' },
    ],
    'the injector only added its container (and shares replicas/selector with the same values)',
  );
  const out = serverSideApply(other, deployment([{ name: 'a', image: 'x2' }]), o);
  t.strictSame(get(out, 'spec', 'template', 'spec', 'containers'), [
    { name: 'side', image: 'z' },
    { name: 'a', image: 'x2' },
  ]);
});

t.test('a field another manager also owns is not removed', async (t) => {
  const first = stored(serverSideApply(undefined, configMap({ a: '1', b: '2' }), opts('kubectl')));
  const shared = serverSideApply(first, configMap({ b: '2' }), opts('other'));
  const out = serverSideApply(shared, configMap({ a: '1' }), opts('kubectl'));
  t.strictSame(get(out, 'data'), { a: '1', b: '2' });
  t.strictSame(fieldsOf(out, 'other'), { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } });
});

t.test('conflicts with another manager', async (t) => {
  const o = opts('kubectl', { apiVersion: 'apps/v1' });
  const first = stored(serverSideApply(undefined, deployment([{ name: 'c', image: 'nginx' }], 2), o));
  // `kubectl scale` writes replicas with an ordinary update.
  const scaled = recordUpdate(first, { ...first, spec: { ...(isJsonObject(first.spec) ? first.spec : {}), replicas: 5 } }, 'kubectl-scale', T1);
  t.strictSame(fieldsOf(scaled, 'kubectl-scale', 'Update'), { 'f:spec': { 'f:replicas': {} } });
  t.equal(get(fieldsOf(scaled, 'kubectl'), 'f:spec', 'f:replicas'), undefined, 'the update took replicas from the applier');

  t.test('same value: no conflict', async (t) => {
    const out = serverSideApply(scaled, deployment([{ name: 'c', image: 'nginx' }], 5), o);
    t.equal(get(out, 'spec', 'replicas'), 5);
  });

  t.test('different value: ApplyConflictError', async (t) => {
    const err = t.throws(() => serverSideApply(scaled, deployment([{ name: 'c', image: 'nginx:2' }], 3), o));
    t.ok(err instanceof ApplyConflictError);
    if (!(err instanceof ApplyConflictError)) return;
    t.equal(err.code, 409);
    t.strictSame(err.conflicts, [{ manager: 'kubectl-scale', operation: 'Update', apiVersion: 'apps/v1', field: '.spec.replicas' }]);
    t.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas');
    t.strictSame(err.causes(), [{ type: 'FieldManagerConflict', message: 'conflict with "kubectl-scale" using apps/v1', field: '.spec.replicas' }]);
  });

  t.test('force takes ownership', async (t) => {
    const out = serverSideApply(scaled, deployment([{ name: 'c', image: 'nginx' }], 3), { ...o, force: true });
    t.equal(get(out, 'spec', 'replicas'), 3);
    t.ok(get(fieldsOf(out, 'kubectl'), 'f:spec', 'f:replicas'), 'applier owns replicas');
    t.equal(fieldsOf(out, 'kubectl-scale', 'Update'), undefined, 'the emptied entry is gone');
  });

  t.test('conflicts between two appliers, on a list item field', async (t) => {
    const taken = serverSideApply(first, deployment([{ name: 'c', image: 'other' }]), { ...o, manager: 'ci', force: true });
    const err = t.throws(() => serverSideApply(taken, deployment([{ name: 'c', image: 'nginx:3' }]), o));
    t.ok(err instanceof ApplyConflictError);
    if (err instanceof ApplyConflictError) {
      t.strictSame(err.conflicts.map((c) => [c.manager, c.operation, c.field]), [['ci', 'Apply', '.spec.template.spec.containers[name="c"].image']]);
      t.match(err.message, /conflict with "ci": \.spec\.template/);
    }
  });
});

t.test('finalizers apply as a set', async (t) => {
  const withFinalizers = (f: string[]): JsonObject => ({ ...configMap({}), metadata: { name: 'cm', finalizers: f } });
  const first = stored(serverSideApply(undefined, withFinalizers(['a/x']), opts('kubectl')));
  t.strictSame(get(fieldsOf(first, 'kubectl'), 'f:metadata', 'f:finalizers'), { 'v:"a/x"': {} });
  const other = serverSideApply(first, withFinalizers(['b/y']), opts('gc'));
  t.strictSame(get(other, 'metadata', 'finalizers'), ['a/x', 'b/y']);
  const dropped = serverSideApply(other, withFinalizers([]), opts('kubectl'));
  t.strictSame(get(dropped, 'metadata', 'finalizers'), ['b/y']);
});

t.test('reset fields (status on the main resource) are neither applied nor owned', async (t) => {
  const live = stored({ ...deployment([{ name: 'c', image: 'x' }]), status: { replicas: 1 } });
  const out = serverSideApply(live, { ...deployment([{ name: 'c', image: 'x' }]), status: { replicas: 9 } }, opts('kubectl', { apiVersion: 'apps/v1', resetFields: ['status'] }));
  t.strictSame(get(out, 'status'), { replicas: 1 });
  t.equal(get(fieldsOf(out, 'kubectl'), 'f:status'), undefined);
});

t.test('recordUpdate', async (t) => {
  const created = recordUpdate(undefined, configMap({ a: '1' }), 'kubectl-client-side-apply', T0);
  t.strictSame(get(created, 'metadata', 'managedFields'), [
    {
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      apiVersion: 'v1',
      time: '2025-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { '.': {}, 'f:a': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } },
    },
  ]);
  const same = recordUpdate(created, configMap({ a: '1' }), 'kubectl-client-side-apply', T1);
  t.strictSame(same, created, 'a no-op write changes nothing');
  const edited = recordUpdate(created, configMap({ a: '2', c: '3' }, {}), 'kubectl-edit', T1);
  t.strictSame(fieldsOf(edited, 'kubectl-edit', 'Update'), { 'f:data': { 'f:a': {}, 'f:c': {} } });
  // The first writer keeps the maps themselves and loses the keys it no longer wrote last.
  t.strictSame(fieldsOf(edited, 'kubectl-client-side-apply', 'Update'), { 'f:data': {}, 'f:metadata': { 'f:labels': {} } });
  t.strictSame(get(edited, 'metadata', 'labels'), {});
  const cleared = recordUpdate(created, { ...configMap({ a: '1' }), metadata: { name: 'cm', namespace: 'default', labels: { app: 'web' }, managedFields: [] } }, 'x', T1);
  t.equal(get(cleared, 'metadata', 'managedFields'), undefined, 'an empty managedFields from the client clears them');
});

