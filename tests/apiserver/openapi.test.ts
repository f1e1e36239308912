import t from 'tap';
import { createHash } from 'node:crypto';
import { RESOURCES } from '../../pkg/api/registry.js';
import {
  openapiV3Document,
  openapiV3DocumentBody,
  openapiV3Hash,
  openapiV3Paths,
  openapiV3Root,
} from '../../pkg/apiserver/openapi.js';

const REF = '#/components/schemas/';
type Json = Record<string, any>;

/** A document as a client sees it: the served JSON, parsed. */
function parsed(path: string): Json {
  const body = openapiV3DocumentBody(path);
  if (body === undefined) throw new Error(`no document ${path}`);
  return JSON.parse(body);
}

/** Every $ref value in a document. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x);
      else refs(x, out);
    }
  }
  return out;
}

t.test('the root lists every document with its content hash', (t) => {
  const root = openapiV3Root();
  t.same(Object.keys(root.paths).sort(), [
    'api', 'api/v1', 'apis', 'apis/apps', 'apis/apps/v1', 'apis/coordination.k8s.io', 'apis/coordination.k8s.io/v1',
    'apis/rbac.authorization.k8s.io', 'apis/rbac.authorization.k8s.io/v1',
  ]);
  t.same(Object.keys(root.paths).sort(), openapiV3Paths().sort());
  for (const [path, { serverRelativeURL }] of Object.entries(root.paths)) {
    const body = openapiV3DocumentBody(path);
    t.ok(body, path);
    const hash = createHash('sha512').update(body!).digest('hex').toUpperCase();
    t.equal(serverRelativeURL, `/openapi/v3/${path}?hash=${hash}`, `${path} URL carries the hash of its document`);
    t.equal(openapiV3Hash(path), hash);
  }
  const salted = openapiV3Root('build-2');
  t.not(salted.paths['api/v1'].serverRelativeURL, root.paths['api/v1'].serverRelativeURL, 'baseHash changes every URL');
  t.equal(salted.paths['api/v1'].serverRelativeURL, `/openapi/v3/api/v1?hash=${openapiV3Hash('api/v1', 'build-2')}`);
  t.end();
});

t.test('documents are cached and unknown paths are undefined', (t) => {
  t.equal(openapiV3Document('apis/apps/v1'), openapiV3Document('/apis/apps/v1/'));
  t.equal(openapiV3Document('apis/batch/v1'), undefined);
  t.equal(openapiV3Document('nope'), undefined);
  t.equal(openapiV3Hash('nope'), undefined);
  t.end();
});

t.test('every document is well-formed OpenAPI 3.0 with resolvable refs', (t) => {
  for (const path of openapiV3Paths()) {
    const doc = parsed(path);
    t.equal(doc.openapi, '3.0.0', path);
    t.ok(doc.info.title && doc.info.version, `${path} info`);
    t.ok(Object.keys(doc.paths).length > 0, `${path} has paths`);
    const all = refs(doc);
    t.ok(all.every((r) => r.startsWith(REF)), `${path}: refs are ${REF}…`);
    const missing = all.map((r) => r.slice(REF.length)).filter((n) => !doc.components.schemas[n]);
    t.same([...new Set(missing)], [], `${path}: all refs resolve`);
  }
  t.end();
});

t.test('each served kind has what kubectl apply and explain look for', (t) => {
  for (const r of RESOURCES) {
    const gvPath = r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
    const doc = parsed(gvPath);
    const want = { group: r.group, version: r.version, kind: r.kind };
    // kubectl's query-param verifier: a PATCH operation with this GVK (an object) and a fieldValidation query parameter.
    const items: Json[] = Object.values(doc.paths);
    const patches = items.filter((item) => JSON.stringify(item.patch?.['x-kubernetes-group-version-kind']) === JSON.stringify(want)).map((item) => item.patch);
    t.ok(patches.length > 0, `${r.kind}: patch operation`);
    for (const op of patches) {
      t.ok(op.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query'), `${r.kind}: fieldValidation`);
      t.ok(op.parameters.some((p: Json) => p.name === 'dryRun'), `${r.kind}: dryRun`);
      t.ok(op.parameters.some((p: Json) => p.name === 'fieldManager'), `${r.kind}: fieldManager`);
      t.ok(op.requestBody.content['application/strategic-merge-patch+json'], `${r.kind}: strategic merge patch body`);
      t.equal(op['x-kubernetes-action'], 'patch');
    }
    // kubectl explain: a component schema carrying the GVK as an array.
    const schema = doc.components.schemas[r.schemaName];
    t.ok(schema, `${r.kind}: schema ${r.schemaName}`);
    t.same(schema['x-kubernetes-group-version-kind'], [want], `${r.kind}: schema GVK`);
    t.ok(doc.components.schemas[`${r.schemaName}List`], `${r.kind}: list schema`);
    const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
    const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
    const item = doc.paths[`${collection}/{name}`];
    t.ok(item, `${r.kind}: item path`);
    t.same(Object.keys(item).sort(), ['delete', 'get', 'parameters', 'patch', 'put']);
    t.equal(item.put.requestBody.content['*/*'].schema.$ref, `${REF}${r.schemaName}`);
    t.equal(doc.paths[collection].get.responses['200'].content['application/json'].schema.$ref, `${REF}${r.schemaName}List`);
    t.equal(doc.paths[collection].post['x-kubernetes-action'], 'post');
    t.equal(doc.paths[collection].delete['x-kubernetes-action'], 'deletecollection');
    t.equal(item.parameters.some((p: Json) => p.name === 'namespace' && p.in === 'path'), r.namespaced, `${r.kind}: namespace parameter`);
    if (r.subresources.includes('status')) t.ok(doc.paths[`${collection}/{name}/status`]?.patch, `${r.kind}: status`);
  }
  t.end();
});

t.test('meta types and scale are included', (t) => {
  const apps = parsed('apis/apps/v1');
  for (const n of ['Status', 'DeleteOptions', 'ListMeta', 'WatchEvent', 'Patch', 'ObjectMeta', 'APIResourceList']) {
    t.ok(apps.components.schemas[`io.k8s.apimachinery.pkg.apis.meta.v1.${n}`], n);
  }
  t.ok(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale'], 'Scale');
  t.same(apps.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'].put['x-kubernetes-group-version-kind'], {
    group: 'autoscaling', version: 'v1', kind: 'Scale',
  });
  t.notOk(apps.components.schemas['io.k8s.api.rbac.v1.Role'], 'only what is reachable');
  t.end();
});

t.test('strategic merge metadata is on the properties', (t) => {
  const core = parsed('api/v1');
  const containers: Json = core.components.schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
  t.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  t.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  t.equal(containers['x-kubernetes-list-type'], 'map');
  t.same(containers['x-kubernetes-list-map-keys'], ['name']);
  const ports: Json = core.components.schemas['io.k8s.api.core.v1.ServiceSpec'].properties.ports;
  t.same(ports['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  t.end();
});
