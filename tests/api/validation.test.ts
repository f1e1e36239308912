import t from 'tap';
import { RESOURCES, type ResourceType } from '../../pkg/api/registry.js';
import type { JsonObject } from '../../pkg/api/object.js';
import { unknownFields, validateObject, type FieldCause } from '../../pkg/api/validation.js';

function res(kind: string): ResourceType {
  const r = RESOURCES.find((x) => x.kind === kind);
  if (!r) throw new Error(`no resource ${kind}`);
  return r;
}

const meta = (name: string, namespaced = true): JsonObject => (namespaced ? { name, namespace: 'default' } : { name });

function pod(): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('web'),
    spec: { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] }], restartPolicy: 'Always' },
  };
}

function workload(kind: 'Deployment' | 'ReplicaSet' | 'DaemonSet'): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: meta('web'),
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: 2 }),
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
    },
  };
}

function service(): JsonObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta('web'), spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] } };
}

const sa = (): JsonObject => ({ kind: 'ServiceAccount', name: 'default', namespace: 'default' });
const user = (): JsonObject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' });

const VALID: Record<string, () => JsonObject> = {
  Namespace: () => ({ apiVersion: 'v1', kind: 'Namespace', metadata: meta('team-a', false) }),
  Node: () => ({ apiVersion: 'v1', kind: 'Node', metadata: meta('node-1.example', false) }),
  Pod: pod,
  Service: service,
  Endpoints: () => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.42.0.5' }], ports: [{ port: 80 }] }] }),
  ConfigMap: () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('cfg'), data: { 'app.conf': 'x=1', KEY_NAME: 'v' } }),
  Secret: () => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), type: 'Opaque', data: { password: Buffer.from('hunter2').toString('base64') } }),
  ServiceAccount: () => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default') }),
  Event: () => ({ apiVersion: 'v1', kind: 'Event', metadata: meta('web.17a'), involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' } }),
  Deployment: () => workload('Deployment'),
  ReplicaSet: () => workload('ReplicaSet'),
  DaemonSet: () => workload('DaemonSet'),
  Lease: () => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta('node-1'), spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } }),
  Role: () => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('reader'), rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }),
  ClusterRole: () => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta('system:reader', false), rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] }),
  RoleBinding: () => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('rb'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
    subjects: [sa(), user()],
  }),
  ClusterRoleBinding: () => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta('crb', false),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:reader' },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' }],
  }),
};

function create(kind: string, obj: JsonObject): FieldCause[] {
  return validateObject(res(kind), obj, { operation: 'create' });
}

t.test('valid objects of every served kind pass', (t) => {
  for (const r of RESOURCES) {
    const make = VALID[r.kind];
    t.ok(make, `fixture for ${r.kind}`);
    if (make) t.same(create(r.kind, make()), [], r.kind);
  }
  t.end();
});

type Mutate = (o: any) => void;
/** Expected causes: exact strings or patterns per FieldCause key. */
type Want = Partial<Record<keyof FieldCause, string | RegExp>>[];
interface Case {
  name: string;
  kind: string;
  mutate: Mutate;
  want: Want;
}

const SUBDOMAIN_MSG =
  "Invalid value: \"Foo_\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const CASES: Case[] = [
  // names
  { name: 'bad subdomain name', kind: 'Pod', mutate: (o) => (o.metadata.name = 'Foo_'), want: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: SUBDOMAIN_MSG }] },
  { name: 'missing name', kind: 'ConfigMap', mutate: (o) => delete o.metadata.name, want: [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }] },
  { name: 'name too long', kind: 'ConfigMap', mutate: (o) => (o.metadata.name = 'a'.repeat(254)), want: [{ field: 'metadata.name', message: 'Invalid value: "' + 'a'.repeat(254) + '": must be no more than 253 characters' }] },
  { name: 'namespace name is a label', kind: 'Namespace', mutate: (o) => (o.metadata.name = 'a.b'), want: [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: /RFC 1123 label/ }] },
  { name: 'service name is a DNS-1035 label', kind: 'Service', mutate: (o) => (o.metadata.name = '1web'), want: [{ field: 'metadata.name', message: /DNS-1035 label/ }] },
  { name: 'missing namespace', kind: 'Pod', mutate: (o) => delete o.metadata.namespace, want: [{ field: 'metadata.namespace', reason: 'FieldValueRequired' }] },
  { name: 'RBAC names may not contain /', kind: 'Role', mutate: (o) => (o.metadata.name = 'a/b'), want: [{ field: 'metadata.name', message: "Invalid value: \"a/b\": may not contain '/'" }] },
  // labels and annotations
  { name: 'bad label key', kind: 'ConfigMap', mutate: (o) => (o.metadata.labels = { 'bad key': 'x' }), want: [{ field: 'metadata.labels', reason: 'FieldValueInvalid', message: /^Invalid value: "bad key": name part must consist of/ }] },
  { name: 'bad label value', kind: 'ConfigMap', mutate: (o) => (o.metadata.labels = { app: 'a'.repeat(64) }), want: [{ field: 'metadata.labels', message: /must be no more than 63 characters/ }] },
  { name: 'bad label prefix', kind: 'ConfigMap', mutate: (o) => (o.metadata.labels = { 'Example.com/x': 'y' }), want: [{ field: 'metadata.labels', message: /prefix part a lowercase RFC 1123 subdomain/ }] },
  { name: 'bad annotation key', kind: 'ConfigMap', mutate: (o) => (o.metadata.annotations = { '/x': 'y' }), want: [{ field: 'metadata.annotations', message: /prefix part must be non-empty/ }] },
  { name: 'annotations too large', kind: 'ConfigMap', mutate: (o) => (o.metadata.annotations = { big: 'x'.repeat(256 * 1024) }), want: [{ field: 'metadata.annotations', reason: 'FieldValueTooLong', message: 'Too long: may not be more than 262144 bytes' }] },
  // pods
  { name: 'no containers', kind: 'Pod', mutate: (o) => (o.spec.containers = []), want: [{ field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' }] },
  { name: 'missing image', kind: 'Pod', mutate: (o) => delete o.spec.containers[0].image, want: [{ field: 'spec.containers[0].image', reason: 'FieldValueRequired', message: 'Required value' }] },
  { name: 'missing container name', kind: 'Pod', mutate: (o) => delete o.spec.containers[0].name, want: [{ field: 'spec.containers[0].name', reason: 'FieldValueRequired' }] },
  {
    name: 'duplicate container names across init containers', kind: 'Pod',
    mutate: (o) => (o.spec.initContainers = [{ name: 'nginx', image: 'busybox' }]),
    want: [{ field: 'spec.initContainers[0].name', reason: 'FieldValueDuplicate', message: 'Duplicate value: "nginx"' }],
  },
  { name: 'port out of range', kind: 'Pod', mutate: (o) => (o.spec.containers[0].ports[0].containerPort = 70000), want: [{ field: 'spec.containers[0].ports[0].containerPort', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' }] },
  { name: 'bad protocol', kind: 'Pod', mutate: (o) => (o.spec.containers[0].ports[0].protocol = 'HTTP'), want: [{ field: 'spec.containers[0].ports[0].protocol', reason: 'FieldValueNotSupported', message: 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"' }] },
  { name: 'bad restart policy', kind: 'Pod', mutate: (o) => (o.spec.restartPolicy = 'Sometimes'), want: [{ field: 'spec.restartPolicy', reason: 'FieldValueNotSupported', message: 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' }] },
  { name: 'container name not a label', kind: 'Pod', mutate: (o) => (o.spec.containers[0].name = 'Web_1'), want: [{ field: 'spec.containers[0].name', message: /RFC 1123 label/ }] },
  // types (kubernetes-models validators)
  { name: 'string where integer', kind: 'Deployment', mutate: (o) => (o.spec.replicas = '3'), want: [{ field: 'spec.replicas', reason: 'FieldValueInvalid', message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"' }] },
  { name: 'bad quantity', kind: 'Pod', mutate: (o) => (o.spec.containers[0].resources = { limits: { cpu: '1x' } }), want: [{ field: 'spec.containers[0].resources.limits[cpu]', message: /quantities must match/ }] },
  { name: 'bad image pull policy (enum)', kind: 'Pod', mutate: (o) => (o.spec.containers[0].imagePullPolicy = 'Sometimes'), want: [{ field: 'spec.containers[0].imagePullPolicy', reason: 'FieldValueNotSupported' }] },
  // workloads
  { name: 'selector required', kind: 'Deployment', mutate: (o) => delete o.spec.selector, want: [{ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' }] },
  { name: 'empty selector', kind: 'Deployment', mutate: (o) => (o.spec.selector = {}), want: [{ field: 'spec.selector', message: 'Invalid value: {}: empty selector is invalid for deployment' }] },
  {
    name: 'selector mismatch', kind: 'Deployment', mutate: (o) => (o.spec.selector.matchLabels = { app: 'other' }),
    want: [{ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid', message: 'Invalid value: map[string]string{"app":"web", "tier":"fe"}: `selector` does not match template `labels`' }],
  },
  {
    name: 'selector expressions mismatch', kind: 'ReplicaSet',
    mutate: (o) => (o.spec.selector = { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['fe'] }] }),
    want: [{ field: 'spec.template.metadata.labels', message: /does not match template/ }],
  },
  { name: 'selector In without values', kind: 'DaemonSet', mutate: (o) => (o.spec.selector.matchExpressions = [{ key: 'app', operator: 'In' }]), want: [{ field: 'spec.selector.matchExpressions[0].values', reason: 'FieldValueRequired' }, { field: 'spec.selector', message: /: invalid label selector$/ }] },
  { name: 'negative replicas', kind: 'ReplicaSet', mutate: (o) => (o.spec.replicas = -1), want: [{ field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }] },
  { name: 'template image required', kind: 'DaemonSet', mutate: (o) => (o.spec.template.spec.containers[0].image = ''), want: [{ field: 'spec.template.spec.containers[0].image', reason: 'FieldValueRequired' }] },
  { name: 'template restartPolicy must be Always', kind: 'Deployment', mutate: (o) => (o.spec.template.spec.restartPolicy = 'Never'), want: [{ field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Never": supported values: "Always"' }] },
  { name: 'bad strategy type', kind: 'Deployment', mutate: (o) => (o.spec.strategy = { type: 'Blue' }), want: [{ field: 'spec.strategy.type', reason: 'FieldValueNotSupported' }] },
  { name: 'maxUnavailable and maxSurge both 0', kind: 'Deployment', mutate: (o) => (o.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '0%' } }), want: [{ field: 'spec.strategy.rollingUpdate.maxUnavailable', message: 'Invalid value: 0: may not be 0 when `maxSurge` is 0' }] },
  { name: 'bad percent', kind: 'Deployment', mutate: (o) => (o.spec.strategy = { rollingUpdate: { maxSurge: '150%' } }), want: [{ field: 'spec.strategy.rollingUpdate.maxSurge', message: 'Invalid value: "150%": must not be greater than 100%' }] },
  // services
  { name: 'ports required', kind: 'Service', mutate: (o) => (o.spec.ports = []), want: [{ field: 'spec.ports', reason: 'FieldValueRequired' }] },
  { name: 'port out of range', kind: 'Service', mutate: (o) => (o.spec.ports[0].port = 0), want: [{ field: 'spec.ports[0].port', message: 'Invalid value: 0: must be between 1 and 65535, inclusive' }] },
  {
    name: 'names required with several ports', kind: 'Service', mutate: (o) => o.spec.ports.push({ port: 443, name: 'https' }),
    want: [{ field: 'spec.ports[0].name', reason: 'FieldValueRequired' }],
  },
  {
    name: 'duplicate port names', kind: 'Service', mutate: (o) => (o.spec.ports = [{ port: 80, name: 'http' }, { port: 81, name: 'http' }]),
    want: [{ field: 'spec.ports[1].name', reason: 'FieldValueDuplicate', message: 'Duplicate value: "http"' }],
  },
  { name: 'bad type', kind: 'Service', mutate: (o) => (o.spec.type = 'Magic'), want: [{ field: 'spec.type', reason: 'FieldValueNotSupported', message: 'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' }] },
  { name: 'bad named targetPort', kind: 'Service', mutate: (o) => (o.spec.ports[0].targetPort = 'Http_Port'), want: [{ field: 'spec.ports[0].targetPort', reason: 'FieldValueInvalid' }] },
  { name: 'nodePort with ClusterIP', kind: 'Service', mutate: (o) => (o.spec.ports[0].nodePort = 30080), want: [{ field: 'spec.ports[0].nodePort', reason: 'FieldValueForbidden' }] },
  { name: 'ExternalName needs externalName', kind: 'Service', mutate: (o) => (o.spec = { type: 'ExternalName' }), want: [{ field: 'spec.externalName', reason: 'FieldValueRequired' }] },
  { name: 'bad clusterIP', kind: 'Service', mutate: (o) => (o.spec.clusterIP = '10.0.0.300'), want: [{ field: 'spec.clusterIP', reason: 'FieldValueInvalid' }] },
  // config
  { name: 'bad configmap key', kind: 'ConfigMap', mutate: (o) => (o.data = { 'bad key': 'x' }), want: [{ field: 'data[bad key]', message: /^Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' \(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '\[-._a-zA-Z0-9\]\+'\)$/ }] },
  { name: 'key in data and binaryData', kind: 'ConfigMap', mutate: (o) => (o.binaryData = { KEY_NAME: 'eA==' }), want: [{ field: 'binaryData[KEY_NAME]', message: /duplicate of key present in data/ }] },
  { name: 'secret data not base64', kind: 'Secret', mutate: (o) => (o.data = { password: 'not base64!' }), want: [{ field: 'data[password]', reason: 'FieldValueInvalid' }] },
  { name: 'tls secret needs keys', kind: 'Secret', mutate: (o) => (o.type = 'kubernetes.io/tls'), want: [{ field: 'data[tls.crt]', reason: 'FieldValueRequired' }, { field: 'data[tls.key]', reason: 'FieldValueRequired' }] },
  // misc
  { name: 'lease duration positive', kind: 'Lease', mutate: (o) => (o.spec.leaseDurationSeconds = 0), want: [{ field: 'spec.leaseDurationSeconds', message: 'Invalid value: 0: must be greater than 0' }] },
  { name: 'endpoint ip', kind: 'Endpoints', mutate: (o) => (o.subsets[0].addresses[0].ip = 'nope'), want: [{ field: 'subsets[0].addresses[0].ip', reason: 'FieldValueInvalid' }] },
  // rbac
  { name: 'role rule verbs required', kind: 'Role', mutate: (o) => (o.rules[0].verbs = []), want: [{ field: 'rules[0].verbs', reason: 'FieldValueRequired', message: 'Required value: verbs must contain at least one value' }] },
  { name: 'role rule resources required', kind: 'Role', mutate: (o) => delete o.rules[0].resources, want: [{ field: 'rules[0].resources', message: 'Required value: resource rules must supply at least one resource' }] },
  { name: 'namespaced role with nonResourceURLs', kind: 'Role', mutate: (o) => (o.rules = [{ nonResourceURLs: ['/x'], verbs: ['get'] }]), want: [{ field: 'rules[0].nonResourceURLs', message: /namespaced rules cannot apply to non-resource URLs/ }] },
  { name: 'roleRef required', kind: 'RoleBinding', mutate: (o) => delete o.roleRef, want: [{ field: 'roleRef.apiGroup', reason: 'FieldValueNotSupported' }, { field: 'roleRef.kind' }, { field: 'roleRef.name', reason: 'FieldValueRequired' }, { field: 'roleRef', reason: 'FieldValueRequired' }] },
  { name: 'cluster binding to a Role', kind: 'ClusterRoleBinding', mutate: (o) => (o.roleRef.kind = 'Role'), want: [{ field: 'roleRef.kind', message: 'Unsupported value: "Role": supported values: "ClusterRole"' }] },
  { name: 'bad subject kind', kind: 'RoleBinding', mutate: (o) => (o.subjects[0].kind = 'Robot'), want: [{ field: 'subjects[0].kind', reason: 'FieldValueNotSupported' }] },
];

t.test('create rules', (t) => {
  for (const c of CASES) {
    const obj = VALID[c.kind]();
    c.mutate(obj);
    const got = create(c.kind, obj);
    t.match(got, c.want, c.name);
    t.equal(got.length, c.want.length, `${c.name}: exactly ${c.want.length} cause(s)`);
    if (got.length !== c.want.length) t.comment(JSON.stringify(got, null, 1));
  }
  t.end();
});

t.test('apiVersion and kind may be left to the path', (t) => {
  const o = pod();
  delete o.apiVersion;
  delete o.kind;
  t.same(create('Pod', o), []);
  t.end();
});

interface UpdateCase {
  name: string;
  kind: string;
  mutateOld?: Mutate;
  mutate: Mutate;
  want: Want;
}

const UPDATES: UpdateCase[] = [
  { name: 'deployment selector immutable', kind: 'Deployment', mutate: (o) => { o.spec.selector.matchLabels.tier = 'fe'; }, want: [{ field: 'spec.selector', reason: 'FieldValueInvalid', message: /field is immutable$/ }] },
  { name: 'daemonset selector immutable', kind: 'DaemonSet', mutate: (o) => (o.spec.selector = { matchLabels: { tier: 'fe' } }), want: [{ field: 'spec.selector', message: /field is immutable/ }] },
  { name: 'deployment replicas and image may change', kind: 'Deployment', mutate: (o) => { o.spec.replicas = 5; o.spec.template.spec.containers[0].image = 'nginx:2'; }, want: [] },
  { name: 'pod image may change', kind: 'Pod', mutate: (o) => (o.spec.containers[0].image = 'nginx:1.28'), want: [] },
  { name: 'pod tolerations may be added', kind: 'Pod', mutate: (o) => (o.spec.tolerations = [{ key: 'a', operator: 'Exists' }]), want: [] },
  { name: 'pod activeDeadlineSeconds may be set', kind: 'Pod', mutate: (o) => (o.spec.activeDeadlineSeconds = 30), want: [] },
  { name: 'pod activeDeadlineSeconds may not grow', kind: 'Pod', mutateOld: (o) => (o.spec.activeDeadlineSeconds = 30), mutate: (o) => (o.spec.activeDeadlineSeconds = 60), want: [{ field: 'spec.activeDeadlineSeconds', message: 'Invalid value: 60: must be less than or equal to previous value' }] },
  { name: 'pod ports immutable', kind: 'Pod', mutate: (o) => (o.spec.containers[0].ports[0].containerPort = 81), want: [{ field: 'spec', reason: 'FieldValueForbidden', message: /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/ }] },
  { name: 'pod tolerations may not be removed', kind: 'Pod', mutateOld: (o) => (o.spec.tolerations = [{ key: 'a', operator: 'Exists' }]), mutate: (o) => (o.spec.tolerations = []), want: [{ field: 'spec', reason: 'FieldValueForbidden' }] },
  { name: 'service clusterIP immutable', kind: 'Service', mutateOld: (o) => (o.spec.clusterIP = '10.43.0.10'), mutate: (o) => (o.spec.clusterIP = '10.43.0.11'), want: [{ field: 'spec.clusterIP', message: 'Invalid value: "10.43.0.11": field is immutable' }] },
  { name: 'service clusterIP kept', kind: 'Service', mutateOld: (o) => (o.spec.clusterIP = '10.43.0.10'), mutate: (o) => { o.spec.clusterIP = '10.43.0.10'; o.spec.ports[0].port = 81; }, want: [] },
  { name: 'service to ExternalName drops clusterIP', kind: 'Service', mutateOld: (o) => (o.spec.clusterIP = '10.43.0.10'), mutate: (o) => (o.spec = { type: 'ExternalName', externalName: 'example.com' }), want: [] },
  { name: 'immutable configmap data', kind: 'ConfigMap', mutateOld: (o) => (o.immutable = true), mutate: (o) => { o.immutable = true; o.data.KEY_NAME = 'w'; }, want: [{ field: 'data', reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set' }] },
  { name: 'immutable configmap flag', kind: 'ConfigMap', mutateOld: (o) => (o.immutable = true), mutate: (o) => (o.immutable = false), want: [{ field: 'immutable', reason: 'FieldValueForbidden' }] },
  { name: 'mutable configmap data', kind: 'ConfigMap', mutate: (o) => (o.data.KEY_NAME = 'w'), want: [] },
  { name: 'immutable secret stringData', kind: 'Secret', mutateOld: (o) => (o.immutable = true), mutate: (o) => { o.immutable = true; o.stringData = { password: 'other' }; }, want: [{ field: 'data', reason: 'FieldValueForbidden' }] },
  { name: 'secret type immutable', kind: 'Secret', mutate: (o) => { o.type = 'kubernetes.io/basic-auth'; }, want: [{ field: 'type', message: 'Invalid value: "kubernetes.io/basic-auth": field is immutable' }] },
  { name: 'roleRef immutable', kind: 'RoleBinding', mutate: (o) => (o.roleRef.name = 'writer'), want: [{ field: 'roleRef', reason: 'FieldValueInvalid', message: /: cannot change roleRef$/ }] },
  { name: 'subjects may change', kind: 'RoleBinding', mutate: (o) => o.subjects.pop(), want: [] },
  { name: 'name immutable', kind: 'ConfigMap', mutate: (o) => (o.metadata.name = 'other'), want: [{ field: 'metadata.name', message: 'Invalid value: "other": field is immutable' }] },
];

t.test('update rules', (t) => {
  for (const c of UPDATES) {
    const old = VALID[c.kind]();
    c.mutateOld?.(old);
    const obj = structuredClone(old);
    c.mutate(obj);
    const got = validateObject(res(c.kind), obj, { operation: 'update', old });
    t.match(got, c.want, c.name);
    t.equal(got.length, c.want.length, `${c.name}: exactly ${c.want.length} cause(s)`);
    if (got.length !== c.want.length) t.comment(JSON.stringify(got, null, 1));
  }
  t.end();
});

t.test('unknownFields', (t) => {
  const cases: { name: string; schema: string; obj: unknown; want: string[] }[] = [
    { name: 'valid deployment', schema: 'io.k8s.api.apps.v1.Deployment', obj: workload('Deployment'), want: [] },
    { name: 'top level', schema: 'io.k8s.api.core.v1.ConfigMap', obj: { ...VALID.ConfigMap(), extra: 1 }, want: ['extra'] },
    {
      name: 'nested and in lists', schema: 'io.k8s.api.apps.v1.Deployment',
      obj: (() => {
        const d: any = workload('Deployment');
        d.spec.replica = 3;
        d.spec.template.spec.containers[0].imagee = 'x';
        d.spec.template.spec.containers.push({ name: 'b', image: 'b', ports: [{ containerPort: 1, hostIP: '1.2.3.4', hostIp: 'x' }] });
        return d;
      })(),
      want: ['spec.template.spec.containers[0].imagee', 'spec.template.spec.containers[1].ports[0].hostIp', 'spec.replica'],
    },
    {
      name: 'maps are free, their object values are checked', schema: 'io.k8s.api.core.v1.Pod',
      obj: { ...pod(), metadata: { name: 'x', labels: { anything: 'goes' }, annotations: { 'a/b': 'c' } } },
      want: [],
    },
    {
      name: 'managedFields fieldsV1 is free-form', schema: 'io.k8s.api.core.v1.Pod',
      obj: { ...pod(), metadata: { name: 'x', managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': { 'f:containers': {} } }, bogus: 1 }] } },
      want: ['metadata.managedFields[0].bogus'],
    },
    {
      name: 'int-or-string and quantities are not objects', schema: 'io.k8s.api.core.v1.Pod',
      obj: { ...pod(), spec: { containers: [{ name: 'a', image: 'a', resources: { limits: { cpu: '1', memory: 5 } }, livenessProbe: { httpGet: { port: 'http', path: '/' } } }] } },
      want: [],
    },
    { name: 'type mismatch is not an unknown field', schema: 'io.k8s.api.core.v1.Pod', obj: { ...pod(), spec: 'nope' }, want: [] },
    { name: 'unknown schema', schema: 'io.k8s.api.core.v1.Nope', obj: { a: 1 }, want: [] },
    {
      name: 'document order', schema: 'io.k8s.api.core.v1.Service',
      obj: { zeta: 1, ...service(), alpha: 2, spec: { ports: [{ port: 1, foo: 1 }], bar: 2 } },
      // `spec` keeps the position service() gave it, before `alpha`.
      want: ['zeta', 'spec.ports[0].foo', 'spec.bar', 'alpha'],
    },
  ];
  for (const c of cases) t.same(unknownFields(c.schema, c.obj), c.want, c.name);
  t.end();
});
