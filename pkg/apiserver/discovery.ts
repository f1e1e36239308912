/**
 * Discovery documents: aggregated (apidiscovery.k8s.io v2 / v2beta1, what
 * kubectl asks for) and legacy (APIVersions, APIGroupList, APIResourceList,
 * what client-node reads). All are built once from the registry.
 */
import { createHash } from 'node:crypto';
import { RESOURCES, apiVersionOf, groupVersions, type ResourceType, VERBS } from '../api/registry.js';

interface Kind {
  group: string;
  version: string;
  kind: string;
}

interface SubresourceSpec {
  kind: Kind | 'parent';
  verbs: string[];
}

const SUBRESOURCES: Record<string, SubresourceSpec> = {
  status: { kind: 'parent', verbs: ['get', 'patch', 'update'] },
  scale: { kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] },
  binding: { kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] },
  log: { kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] },
  exec: { kind: { group: '', version: 'v1', kind: 'PodExecOptions' }, verbs: ['create', 'get'] },
  attach: { kind: { group: '', version: 'v1', kind: 'PodAttachOptions' }, verbs: ['create', 'get'] },
  portforward: { kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' }, verbs: ['create', 'get'] },
  eviction: { kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] },
  finalize: { kind: 'parent', verbs: ['update'] },
};

function verbsOf(r: ResourceType): string[] {
  return r.plural === 'namespaces' ? VERBS.filter((v) => v !== 'deletecollection') : [...VERBS];
}

function subKind(r: ResourceType, sub: string): Kind {
  const spec = SUBRESOURCES[sub];
  return spec.kind === 'parent' ? { group: r.group, version: r.version, kind: r.kind } : spec.kind;
}

function storageVersionHash(r: ResourceType): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}

function aggregatedResource(r: ResourceType) {
  const out: Record<string, unknown> = {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: verbsOf(r),
  };
  if (r.shortNames.length) out.shortNames = r.shortNames;
  if (r.categories.length) out.categories = r.categories;
  if (r.subresources.length) {
    out.subresources = r.subresources.map((s) => ({
      subresource: s,
      responseKind: subKind(r, s),
      verbs: SUBRESOURCES[s].verbs,
    }));
  }
  return out;
}

function aggregatedGroup(group: string) {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({
      version: gv.version,
      resources: RESOURCES.filter((r) => r.group === group && r.version === gv.version).map(aggregatedResource),
      freshness: 'Current',
    }));
  return { metadata: { name: group }, versions };
}

/** apidiscovery.k8s.io APIGroupDiscoveryList for /api (core) or /apis (the rest). */
export function aggregatedDiscovery(doc: 'api' | 'apis', apiVersion: 'apidiscovery.k8s.io/v2' | 'apidiscovery.k8s.io/v2beta1') {
  const groups = doc === 'api' ? [''] : [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
  return { kind: 'APIGroupDiscoveryList', apiVersion, metadata: {}, items: groups.map(aggregatedGroup) };
}

/** Legacy /api document. */
export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string) {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** Legacy /apis document. */
export function apiGroupList() {
  const groups = [...new Set(RESOURCES.filter((r) => r.group !== '').map((r) => r.group))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) };
}

/** Legacy /apis/<group> document, undefined when the group is not served. */
export function apiGroupDocument(group: string) {
  if (!RESOURCES.some((r) => r.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

/** Legacy /api/v1 or /apis/<group>/<version> document, undefined when not served. */
export function apiResourceList(group: string, version: string) {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of rs) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
      storageVersionHash: storageVersionHash(r),
    };
    if (r.shortNames.length) entry.shortNames = r.shortNames;
    if (r.categories.length) entry.categories = r.categories;
    resources.push(entry);
    for (const s of r.subresources) {
      const k = subKind(r, s);
      const sub: Record<string, unknown> = { name: `${r.plural}/${s}`, singularName: '', namespaced: r.namespaced, kind: k.kind, verbs: SUBRESOURCES[s].verbs };
      if (k.group !== r.group || k.version !== r.version) {
        sub.group = k.group;
        sub.version = k.version;
      }
      resources.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}
