import t from 'tap';
import { FieldSet, formatPath, removeAt, valueAt } from '../../../pkg/apiserver/patch/managed-fields.js';
import type { JsonObject } from '../../../pkg/apiserver/patch/json.js';

const fieldsV1: JsonObject = {
  'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } },
        },
      },
    },
  },
};

t.test('FieldsV1 round trip and set operations', async (t) => {
  const set = FieldSet.fromFieldsV1(fieldsV1);
  t.equal(set.size, 8);
  t.strictSame(set.toFieldsV1(), fieldsV1);
  t.ok(set.has(['f:metadata', 'f:labels']));
  t.notOk(set.has(['f:metadata']), 'a struct on the way is not a member');
  t.ok(set.hasDescendant(['f:spec']));
  t.notOk(set.hasDescendant(['f:spec', 'f:replicas']));
  const replicas = FieldSet.of([['f:spec', 'f:replicas']]);
  const rest = set.difference(replicas);
  t.equal(rest.size, 7);
  t.notOk(rest.has(['f:spec', 'f:replicas']));
  t.ok(set.intersection(replicas).equals(replicas));
  t.ok(rest.union(replicas).equals(set));
  rest.delete(['f:metadata', 'f:labels', 'f:app']);
  rest.delete(['f:metadata', 'f:labels']);
  t.notOk(rest.hasDescendant(['f:metadata']), 'emptied branches are pruned');
  t.equal(set.leaves().length, 5);
});

t.test('invalid FieldsV1', async (t) => {
  t.throws(() => FieldSet.fromFieldsV1({ spec: {} }), { name: 'PatchError', code: 400 });
  t.throws(() => FieldSet.fromFieldsV1({ 'f:spec': 1 }), { name: 'PatchError', code: 400 });
});

t.test('paths over objects', async (t) => {
  const obj: JsonObject = {
    spec: { containers: [{ name: 'a', ports: [{ containerPort: 80 }] }, { name: 'c', ports: [{ containerPort: 80, protocol: 'UDP' }] }] },
    metadata: { finalizers: ['x', 'y'] },
  };
  const port = ['f:spec', 'f:containers', 'k:{"name":"a"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}'];
  t.strictSame(valueAt(obj, port), { containerPort: 80 }, 'a missing protocol matches its TCP default');
  t.equal(valueAt(obj, ['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), undefined);
  t.equal(formatPath([...port, 'f:containerPort']), '.spec.containers[name="a"].ports[containerPort=80,protocol="TCP"].containerPort');
  t.equal(formatPath(['f:metadata', 'f:finalizers', 'v:"y"']), '.metadata.finalizers[="y"]');
  removeAt(obj, ['f:metadata', 'f:finalizers', 'v:"x"']);
  removeAt(obj, ['f:spec', 'f:containers', 'k:{"name":"a"}']);
  removeAt(obj, ['f:spec', 'f:nothing', 'f:deeper']);
  t.strictSame(obj, { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'UDP' }] }] }, metadata: { finalizers: ['y'] } });
});
