import t from 'tap';
import { OPENAPI_TYPE_NAMES, PATCH_TYPES, patchMetaFor, type FieldPatchInfo, type PatchMeta } from '../../../pkg/apiserver/patch/patch-meta.js';

/** Walks `fields` (all but the last through child()) and returns the last field's metadata. */
function lookup(meta: PatchMeta, fields: string[]): FieldPatchInfo {
  let m = meta;
  for (const f of fields.slice(0, -1)) m = m.child(f);
  return m.field(fields[fields.length - 1]);
}

const podTemplate = ['spec', 'template', 'spec'];

const cases: { kind: [string, string]; path: string[]; strategy?: string; mergeKey?: string; listType?: string }[] = [
  { kind: ['v1', 'Pod'], path: ['spec', 'containers'], strategy: 'merge', mergeKey: 'name', listType: 'map' },
  { kind: ['v1', 'Pod'], path: ['spec', 'initContainers'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['v1', 'Pod'], path: ['spec', 'ephemeralContainers', 'env'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['v1', 'Pod'], path: ['spec', 'containers', 'ports'], strategy: 'merge', mergeKey: 'containerPort' },
  { kind: ['v1', 'Pod'], path: ['spec', 'containers', 'volumeMounts'], strategy: 'merge', mergeKey: 'mountPath' },
  { kind: ['v1', 'Pod'], path: ['spec', 'containers', 'volumeDevices'], strategy: 'merge', mergeKey: 'devicePath' },
  { kind: ['v1', 'Pod'], path: ['spec', 'containers', 'args'], listType: 'atomic' },
  { kind: ['v1', 'Pod'], path: ['spec', 'volumes'], strategy: 'merge,retainKeys', mergeKey: 'name' },
  { kind: ['v1', 'Pod'], path: ['spec', 'imagePullSecrets'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['v1', 'Pod'], path: ['spec', 'hostAliases'], strategy: 'merge', mergeKey: 'ip' },
  { kind: ['v1', 'Pod'], path: ['spec', 'tolerations'], listType: 'atomic' },
  { kind: ['v1', 'Pod'], path: ['status', 'conditions'], strategy: 'merge', mergeKey: 'type' },
  { kind: ['v1', 'Pod'], path: ['metadata', 'finalizers'], strategy: 'merge', listType: 'set' },
  { kind: ['v1', 'Pod'], path: ['metadata', 'ownerReferences'], strategy: 'merge', mergeKey: 'uid' },
  { kind: ['apps/v1', 'Deployment'], path: [...podTemplate, 'containers'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['apps/v1', 'Deployment'], path: [...podTemplate, 'containers', 'env'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['apps/v1', 'Deployment'], path: ['spec', 'template', 'metadata', 'finalizers'], strategy: 'merge' },
  { kind: ['apps/v1', 'Deployment'], path: ['spec', 'strategy'], strategy: 'retainKeys' },
  { kind: ['apps/v1', 'Deployment'], path: ['status', 'conditions'], strategy: 'merge', mergeKey: 'type' },
  { kind: ['apps/v1', 'ReplicaSet'], path: [...podTemplate, 'volumes'], strategy: 'merge,retainKeys', mergeKey: 'name' },
  { kind: ['apps/v1', 'DaemonSet'], path: [...podTemplate, 'initContainers', 'ports'], strategy: 'merge', mergeKey: 'containerPort' },
  { kind: ['v1', 'Service'], path: ['spec', 'ports'], strategy: 'merge', mergeKey: 'port' },
  { kind: ['v1', 'Endpoints'], path: ['subsets'], listType: 'atomic' },
  { kind: ['v1', 'Node'], path: ['spec', 'taints'], listType: 'atomic' },
  { kind: ['v1', 'Node'], path: ['spec', 'podCIDRs'], strategy: 'merge', listType: 'set' },
  { kind: ['v1', 'Node'], path: ['status', 'addresses'], strategy: 'merge', mergeKey: 'type' },
  { kind: ['v1', 'Node'], path: ['status', 'conditions'], strategy: 'merge', mergeKey: 'type' },
  { kind: ['v1', 'ServiceAccount'], path: ['secrets'], strategy: 'merge', mergeKey: 'name' },
  { kind: ['v1', 'Namespace'], path: ['spec', 'finalizers'], listType: 'atomic' },
  { kind: ['v1', 'ConfigMap'], path: ['metadata', 'finalizers'], strategy: 'merge' },
  { kind: ['coordination.k8s.io/v1', 'Lease'], path: ['spec', 'holderIdentity'] },
  { kind: ['rbac.authorization.k8s.io/v1', 'ClusterRole'], path: ['rules'], listType: 'atomic' },
  { kind: ['rbac.authorization.k8s.io/v1', 'RoleBinding'], path: ['subjects'], listType: 'atomic' },
];

t.test('patch metadata by kind and path', async (t) => {
  for (const c of cases) {
    const meta = patchMetaFor(...c.kind);
    if (!meta) {
      t.fail(`no metadata for ${c.kind.join('/')}`);
      continue;
    }
    const info = lookup(meta, c.path);
    t.strictSame(
      { strategy: info.strategy, mergeKey: info.mergeKey, listType: c.listType === undefined ? undefined : info.listType },
      { strategy: c.strategy, mergeKey: c.mergeKey, listType: c.listType },
      `${c.kind[1]} .${c.path.join('.')}`,
    );
  }
});

t.test('unknown kinds and fields', async (t) => {
  t.equal(patchMetaFor('example.com/v1', 'Widget'), undefined);
  t.equal(patchMetaFor('v1', 'Deployment'), undefined, 'apiVersion matters');
  const pod = patchMetaFor('v1', 'Pod');
  t.strictSame(pod?.child('spec').child('nope').field('containers'), {});
  t.equal(pod?.child('spec').child('affinity').typeName, undefined);
});

t.test('OpenAPI names map to table entries', async (t) => {
  t.equal(OPENAPI_TYPE_NAMES['io.k8s.api.core.v1.PodSpec'], 'PodSpec');
  t.equal(OPENAPI_TYPE_NAMES['io.k8s.api.apps.v1.DeploymentSpec'], 'DeploymentSpec');
  t.equal(OPENAPI_TYPE_NAMES['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'], 'ObjectMeta');
  t.equal(OPENAPI_TYPE_NAMES['io.k8s.api.rbac.v1.ClusterRole'], 'ClusterRole');
  for (const [schema, type] of Object.entries(OPENAPI_TYPE_NAMES)) {
    t.ok(Object.hasOwn(PATCH_TYPES, type), `${schema} → ${type}`);
  }
  for (const [type, fields] of Object.entries(PATCH_TYPES)) {
    for (const [name, info] of Object.entries(fields)) {
      if (info.type !== undefined) t.ok(Object.hasOwn(PATCH_TYPES, info.type), `${type}.${name} → ${info.type} exists`);
      if (info.mergeKey !== undefined) t.ok(info.strategy?.startsWith('merge'), `${type}.${name}: a merge key comes with the merge strategy`);
    }
  }
});
