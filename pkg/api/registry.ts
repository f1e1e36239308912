/**
 * The registry of kinds the API serves: their REST names, scope and
 * subresources. Discovery, routing, OpenAPI and tables all read this table,
 * so adding a kind is one entry here.
 */

export interface ResourceType {
  /** API group; '' for core. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in paths, e.g. 'pods'. */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources served, e.g. ['status', 'scale']. */
  subresources: string[];
  /**
   * True when `status` is a subresource: writes to the main resource keep
   * the stored status and writes to /status change nothing but status.
   */
  statusSubresource: boolean;
  /** Name of the kubernetes-types schema, e.g. 'io.k8s.api.core.v1.Pod'. */
  schemaName: string;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

function resource(
  r: Omit<ResourceType, 'shortNames' | 'categories' | 'subresources' | 'statusSubresource' | 'schemaName'> &
    Partial<Pick<ResourceType, 'shortNames' | 'categories' | 'subresources' | 'schemaName'>>,
): ResourceType {
  const subresources = r.subresources ?? [];
  const groupForSchema = r.group === '' ? 'core' : r.group.split('.')[0];
  return {
    shortNames: [],
    categories: [],
    ...r,
    subresources,
    statusSubresource: subresources.includes('status'),
    schemaName: r.schemaName ?? `io.k8s.api.${groupForSchema}.${r.version}.${r.kind}`,
  };
}

const ALL = ['all'];

/** Every kind served, in discovery order. */
export const RESOURCES: readonly ResourceType[] = [
  // core/v1
  resource({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], subresources: ['status', 'finalize'] }),
  resource({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  resource({
    group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ALL,
    subresources: ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'eviction'],
  }),
  resource({ group: '', version: 'v1', kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ALL, subresources: ['status'] }),
  resource({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  resource({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] }),
  resource({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true }),
  resource({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'] }),
  resource({ group: '', version: 'v1', kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] }),
  // apps/v1
  resource({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ALL, subresources: ['status', 'scale'] }),
  resource({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', namespaced: true, shortNames: ['rs'], categories: ALL, subresources: ['status', 'scale'] }),
  resource({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', namespaced: true, shortNames: ['ds'], categories: ALL, subresources: ['status'] }),
  // coordination.k8s.io/v1
  resource({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true }),
  // rbac.authorization.k8s.io/v1
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', singular: 'role', namespaced: true }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true }),
  resource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false }),
];

/** 'v1' for core, 'apps/v1' otherwise. */
export function apiVersionOf(r: Pick<ResourceType, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** 'pods' for core, 'deployments.apps' otherwise: the key tables and selectors use. */
export function groupResourceOf(r: Pick<ResourceType, 'group' | 'plural'>): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

const byGroupVersionPlural = new Map(RESOURCES.map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));
const byApiVersionKind = new Map(RESOURCES.map((r) => [`${apiVersionOf(r)}/${r.kind}`, r]));

/** The resource served at /api(s)/<group>/<version>/<plural>, if any. */
export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return byGroupVersionPlural.get(`${group}/${version}/${plural}`);
}

/** The resource for an object's apiVersion and kind, if served. */
export function findResourceByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return byApiVersionKind.get(`${apiVersion}/${kind}`);
}

/** Distinct group/versions served, core first. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}
