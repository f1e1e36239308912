import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSchemas, reachableSchemas, refName, resolveSchema, schemaFor, type Schema } from '../../pkg/api/schema.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string) => `#/components/schemas/${name}`;

t.test('the generator emits upstream-named schemas with types, refs and required', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-schemas-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'schemas.json');
  execFileSync(process.execPath, [join(repo, 'scripts/gen-schemas.mjs'), '--out', out], { stdio: 'pipe' });
  const s: Record<string, Schema> = JSON.parse(readFileSync(out, 'utf8'));

  const pod = s[`${CORE}.Pod`];
  t.equal(pod.type, 'object');
  t.match(pod.description, /collection of containers/);
  t.same(pod['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
  t.same(pod.properties?.spec.allOf, [{ $ref: ref(`${CORE}.PodSpec`) }]);
  t.same(pod.properties?.metadata.allOf, [{ $ref: ref(`${META}.ObjectMeta`) }]);
  t.equal(pod.properties?.kind.type, 'string');

  const podSpec = s[`${CORE}.PodSpec`];
  t.same(podSpec.required, ['containers']);
  t.equal(podSpec.properties?.containers.type, 'array');
  t.same(podSpec.properties?.containers.items, { $ref: ref(`${CORE}.Container`) });
  t.same(podSpec.properties?.nodeSelector.additionalProperties, { type: 'string' });
  t.equal(podSpec.properties?.hostNetwork.type, 'boolean');

  const container = s[`${CORE}.Container`];
  t.same(container.required, ['name']);
  t.equal(container.properties?.image.type, 'string');
  t.equal(s[`${CORE}.ContainerPort`].properties?.containerPort.type, 'integer');
  t.same(s[`${CORE}.ResourceRequirements`].properties?.limits.additionalProperties, {
    $ref: ref('io.k8s.apimachinery.pkg.api.resource.Quantity'),
  });

  const deploy = s['io.k8s.api.apps.v1.Deployment'];
  t.same(deploy['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  const spec = s['io.k8s.api.apps.v1.DeploymentSpec'];
  t.same(spec.required, ['selector', 'template']);
  t.equal(spec.properties?.replicas.type, 'integer');
  t.same(spec.properties?.template.allOf, [{ $ref: ref(`${CORE}.PodTemplateSpec`) }]);
  t.same(s['io.k8s.api.apps.v1.RollingUpdateDeployment'].properties?.maxSurge.allOf, [
    { $ref: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString') },
  ]);
  t.same(s['io.k8s.api.rbac.v1.RoleBinding']['x-kubernetes-group-version-kind'], [
    { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding', version: 'v1' },
  ]);

  t.equal(s['io.k8s.apimachinery.pkg.util.intstr.IntOrString']['x-kubernetes-int-or-string'], true);
  t.same(s[`${META}.Time`].format, 'date-time');
  t.equal(s[`${META}.Time`].type, 'string');
  t.equal(s[`${META}.FieldsV1`].properties, undefined, 'FieldsV1 is free-form');

  // Every reference resolves within the file.
  const dangling: string[] = [];
  const check = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(check);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && !s[refName(x)]) dangling.push(x);
        else check(x);
      }
    }
  };
  check(s);
  t.same(dangling, []);
  t.end();
});

t.test('getSchemas loads once and schemaFor looks names up', (t) => {
  t.equal(getSchemas(), getSchemas(), 'cached');
  t.equal(schemaFor(`${CORE}.Pod`)?.type, 'object');
  t.equal(schemaFor('io.k8s.api.core.v1.Nope'), undefined);
  t.equal(schemaFor('constructor'), undefined, 'no prototype keys');
  t.end();
});

t.test('resolveSchema follows $ref and single allOf wrappers', (t) => {
  const prop = schemaFor('io.k8s.api.apps.v1.DeploymentSpec')?.properties?.selector;
  t.ok(prop);
  t.equal(resolveSchema(prop!), schemaFor(`${META}.LabelSelector`));
  t.equal(resolveSchema({ $ref: ref('missing.Thing') }), undefined);
  t.end();
});

t.test('reachableSchemas walks the reference graph', (t) => {
  const names = reachableSchemas(['io.k8s.api.apps.v1.Deployment']);
  for (const n of [`${CORE}.Container`, `${META}.ObjectMeta`, `${META}.Time`, 'io.k8s.apimachinery.pkg.util.intstr.IntOrString']) {
    t.ok(names.has(n), n);
  }
  t.notOk(names.has('io.k8s.api.rbac.v1.Role'));
  t.end();
});
