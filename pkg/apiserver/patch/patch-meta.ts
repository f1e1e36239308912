/**
 * Strategic-merge and list metadata of the kinds we serve, transcribed from
 * the Go struct tags of k8s.io/api and apimachinery's ObjectMeta
 * (`patchStrategy`, `patchMergeKey`, `+listType`, `+listMapKey`,
 * `+mapType`/`+structType`). Fields not listed have no metadata: their
 * lists are replaced atomically by a strategic merge patch.
 *
 * The table is a small type graph: each Go type lists the fields that carry
 * metadata or lead to a type that does (`type`), so a pod template inside a
 * Deployment reaches the PodSpec rules through DeploymentSpec.template →
 * PodTemplateSpec.spec → PodSpec.
 */

export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';

/** Metadata of one field of a Go struct. */
export interface FieldPatchInfo {
  /** Go type of the value (of each element, for a list) when it carries metadata of its own. */
  readonly type?: string;
  /** The `patchStrategy` struct tag. */
  readonly strategy?: PatchStrategy;
  /** The `patchMergeKey` struct tag. */
  readonly mergeKey?: string;
  /** `+listType` (x-kubernetes-list-type). */
  readonly listType?: 'atomic' | 'set' | 'map';
  /** `+listMapKey` (x-kubernetes-list-map-keys), in declaration order. */
  readonly listMapKeys?: readonly string[];
  /** `+mapType`/`+structType` (x-kubernetes-map-type). */
  readonly mapType?: 'atomic' | 'granular';
}

type Fields = Readonly<Record<string, FieldPatchInfo>>;

const meta: FieldPatchInfo = { type: 'ObjectMeta' };
const atomic: FieldPatchInfo = { listType: 'atomic' };
const atomicMap: FieldPatchInfo = { mapType: 'atomic' };
/** `patchStrategy:"merge" patchMergeKey:k` plus `+listType=map +listMapKey=k…`. */
const byKey = (key: string, extra: Partial<FieldPatchInfo> = {}): FieldPatchInfo => ({
  strategy: 'merge',
  mergeKey: key,
  listType: 'map',
  listMapKeys: [key],
  ...extra,
});
const conditions = byKey('type');

const containerFields: Fields = {
  ports: byKey('containerPort', { listMapKeys: ['containerPort', 'protocol'] }),
  env: byKey('name'),
  volumeMounts: byKey('mountPath'),
  volumeDevices: byKey('devicePath'),
  command: atomic,
  args: atomic,
  envFrom: atomic,
  resizePolicy: atomic,
  resources: { type: 'ResourceRequirements' },
};

/** Go type name → field name → metadata. */
export const PATCH_TYPES: Readonly<Record<string, Fields>> = {
  ObjectMeta: {
    finalizers: { strategy: 'merge', listType: 'set' },
    ownerReferences: byKey('uid'),
  },
  // core/v1
  Pod: { metadata: meta, spec: { type: 'PodSpec' }, status: { type: 'PodStatus' } },
  PodTemplateSpec: { metadata: meta, spec: { type: 'PodSpec' } },
  PodSpec: {
    volumes: byKey('name', { strategy: 'merge,retainKeys' }),
    initContainers: byKey('name', { type: 'Container' }),
    containers: byKey('name', { type: 'Container' }),
    ephemeralContainers: byKey('name', { type: 'EphemeralContainer' }),
    imagePullSecrets: byKey('name'),
    hostAliases: byKey('ip'),
    topologySpreadConstraints: byKey('topologyKey', { listMapKeys: ['topologyKey', 'whenUnsatisfiable'] }),
    schedulingGates: byKey('name'),
    resourceClaims: byKey('name', { strategy: 'merge,retainKeys' }),
    tolerations: atomic,
    readinessGates: atomic,
    nodeSelector: atomicMap,
  },
  Container: containerFields,
  EphemeralContainer: containerFields,
  ResourceRequirements: { claims: { listType: 'map', listMapKeys: ['name'] } },
  PodStatus: {
    conditions,
    hostIPs: { strategy: 'merge', mergeKey: 'ip', listType: 'atomic' },
    podIPs: byKey('ip'),
    resourceClaimStatuses: byKey('name', { strategy: 'merge,retainKeys' }),
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
  },
  Service: { metadata: meta, spec: { type: 'ServiceSpec' }, status: { type: 'ServiceStatus' } },
  ServiceSpec: {
    ports: byKey('port', { listMapKeys: ['port', 'protocol'] }),
    selector: atomicMap,
    clusterIPs: atomic,
    externalIPs: atomic,
    loadBalancerSourceRanges: atomic,
    ipFamilies: atomic,
  },
  ServiceStatus: { conditions, loadBalancer: { type: 'LoadBalancerStatus' } },
  LoadBalancerStatus: { ingress: atomic },
  Endpoints: { metadata: meta, subsets: atomic },
  ConfigMap: { metadata: meta },
  Secret: { metadata: meta },
  ServiceAccount: { metadata: meta, secrets: byKey('name'), imagePullSecrets: atomic },
  Event: { metadata: meta },
  Namespace: { metadata: meta, spec: { type: 'NamespaceSpec' }, status: { type: 'NamespaceStatus' } },
  NamespaceSpec: { finalizers: atomic },
  NamespaceStatus: { conditions },
  Node: { metadata: meta, spec: { type: 'NodeSpec' }, status: { type: 'NodeStatus' } },
  NodeSpec: { podCIDRs: { strategy: 'merge', listType: 'set' }, taints: atomic },
  NodeStatus: {
    conditions,
    addresses: byKey('type'),
    images: atomic,
    volumesInUse: atomic,
    volumesAttached: atomic,
  },
  // apps/v1
  Deployment: { metadata: meta, spec: { type: 'DeploymentSpec' }, status: { type: 'DeploymentStatus' } },
  DeploymentSpec: {
    selector: atomicMap,
    template: { type: 'PodTemplateSpec' },
    strategy: { strategy: 'retainKeys' },
  },
  DeploymentStatus: { conditions },
  ReplicaSet: { metadata: meta, spec: { type: 'ReplicaSetSpec' }, status: { type: 'ReplicaSetStatus' } },
  ReplicaSetSpec: { selector: atomicMap, template: { type: 'PodTemplateSpec' } },
  ReplicaSetStatus: { conditions },
  DaemonSet: { metadata: meta, spec: { type: 'DaemonSetSpec' }, status: { type: 'DaemonSetStatus' } },
  DaemonSetSpec: { selector: atomicMap, template: { type: 'PodTemplateSpec' } },
  DaemonSetStatus: { conditions },
  // coordination.k8s.io/v1
  Lease: { metadata: meta },
  // rbac.authorization.k8s.io/v1
  Role: { metadata: meta, rules: atomic },
  ClusterRole: { metadata: meta, rules: atomic, aggregationRule: { type: 'AggregationRule' } },
  AggregationRule: { clusterRoleSelectors: atomic },
  RoleBinding: { metadata: meta, subjects: atomic },
  ClusterRoleBinding: { metadata: meta, subjects: atomic },
};

/** OpenAPI package prefix of each Go type in PATCH_TYPES. */
const OPENAPI_PACKAGE: Readonly<Record<string, string>> = {
  ObjectMeta: 'io.k8s.apimachinery.pkg.apis.meta.v1',
  Deployment: 'io.k8s.api.apps.v1',
  DeploymentSpec: 'io.k8s.api.apps.v1',
  DeploymentStatus: 'io.k8s.api.apps.v1',
  ReplicaSet: 'io.k8s.api.apps.v1',
  ReplicaSetSpec: 'io.k8s.api.apps.v1',
  ReplicaSetStatus: 'io.k8s.api.apps.v1',
  DaemonSet: 'io.k8s.api.apps.v1',
  DaemonSetSpec: 'io.k8s.api.apps.v1',
  DaemonSetStatus: 'io.k8s.api.apps.v1',
  Lease: 'io.k8s.api.coordination.v1',
  Role: 'io.k8s.api.rbac.v1',
  ClusterRole: 'io.k8s.api.rbac.v1',
  AggregationRule: 'io.k8s.api.rbac.v1',
  RoleBinding: 'io.k8s.api.rbac.v1',
  ClusterRoleBinding: 'io.k8s.api.rbac.v1',
};

/** OpenAPI schema name (e.g. `io.k8s.api.core.v1.PodSpec`) → Go type name in PATCH_TYPES. */
export const OPENAPI_TYPE_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.keys(PATCH_TYPES).map((t) => [`${OPENAPI_PACKAGE[t] ?? 'io.k8s.api.core.v1'}.${t}`, t]),
);

/** `apiVersion/kind` → Go type of the object's root. */
const KIND_ROOTS: Readonly<Record<string, string>> = {
  'v1/Pod': 'Pod',
  'v1/Service': 'Service',
  'v1/Endpoints': 'Endpoints',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Event': 'Event',
  'v1/Namespace': 'Namespace',
  'v1/Node': 'Node',
  'apps/v1/Deployment': 'Deployment',
  'apps/v1/ReplicaSet': 'ReplicaSet',
  'apps/v1/DaemonSet': 'DaemonSet',
  'coordination.k8s.io/v1/Lease': 'Lease',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
};

/** A position in the type graph: answers "what metadata does field X have here, and where does it lead". */
export interface PatchMeta {
  /** Go type name at this position; undefined where nothing is known (all lists atomic). */
  readonly typeName: string | undefined;
  /** Metadata of a field of the value at this position. */
  field(name: string): FieldPatchInfo;
  /** Position of a field's value (of its elements, for a list). */
  child(name: string): PatchMeta;
}

const NO_INFO: FieldPatchInfo = {};

class TypePatchMeta implements PatchMeta {
  constructor(readonly typeName: string | undefined) {}
  field(name: string): FieldPatchInfo {
    const fields = this.typeName === undefined ? undefined : PATCH_TYPES[this.typeName];
    return (fields && Object.hasOwn(fields, name) ? fields[name] : undefined) ?? NO_INFO;
  }
  child(name: string): PatchMeta {
    const t = this.field(name).type;
    return t === undefined ? UNKNOWN_PATCH_META : patchMetaForType(t);
  }
}

/** Metadata for values of unknown type: no merge keys, every list atomic. */
export const UNKNOWN_PATCH_META: PatchMeta = new TypePatchMeta(undefined);

const byType = new Map<string, PatchMeta>();

/** Metadata rooted at a Go type name of PATCH_TYPES (unknown names give UNKNOWN_PATCH_META). */
export function patchMetaForType(typeName: string): PatchMeta {
  if (!Object.hasOwn(PATCH_TYPES, typeName)) return UNKNOWN_PATCH_META;
  let m = byType.get(typeName);
  if (!m) {
    m = new TypePatchMeta(typeName);
    byType.set(typeName, m);
  }
  return m;
}

/**
 * Metadata of a served kind's objects, or undefined for kinds without Go
 * struct metadata (custom resources: kube-apiserver refuses strategic merge
 * patches for them with 415).
 */
export function patchMetaFor(apiVersion: string, kind: string): PatchMeta | undefined {
  const key = `${apiVersion}/${kind}`;
  return Object.hasOwn(KIND_ROOTS, key) ? patchMetaForType(KIND_ROOTS[key]) : undefined;
}

/** True when a strategy tag includes `merge` (lists merge element-wise). */
export function mergesList(info: FieldPatchInfo): boolean {
  return info.strategy === 'merge' || info.strategy === 'merge,retainKeys';
}
