/**
 * OpenAPI v3 discovery (`/openapi/v3`) and per-group-version documents
 * (`/openapi/v3/apis/apps/v1`), shaped like kube-apiserver's: what
 * `kubectl apply` needs (a patch operation per kind with
 * `x-kubernetes-group-version-kind` and a `fieldValidation` parameter) and
 * what `kubectl explain` needs (component schemas with group-version-kinds).
 * Documents are built on first request and cached with their hash.
 */
import { createHash } from 'node:crypto';
import { cloneJson } from '../api/object.js';
import { RESOURCES, groupVersions, type ResourceType } from '../api/registry.js';
import { reachableSchemas, schemaFor, type Schema } from '../api/schema.js';
import { OPENAPI_TYPE_NAMES, PATCH_TYPES, type FieldPatchInfo } from './patch/patch-meta.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const SCALE = 'io.k8s.api.autoscaling.v1.Scale';
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

type Json = Record<string, unknown>;

/** An OpenAPI 3.0 document as served. */
export interface OpenApiDocument {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Json>;
  components: { schemas: Record<string, Schema> };
}

/** The `/openapi/v3` discovery document. */
export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

// ---- parameters -----------------------------------------------------------

function query(name: string, description: string, type: 'string' | 'boolean' | 'integer' = 'string'): Json {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

const P = {
  pretty: query('pretty', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: query('dryRun', 'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.'),
  fieldValidation: query('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.'),
  force: query('force', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.', 'boolean'),
  allowWatchBookmarks: query('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion.', 'boolean'),
  continue: query('continue', 'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue).'),
  fieldSelector: query('fieldSelector', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: query('labelSelector', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: query('limit', 'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.', 'integer'),
  resourceVersion: query('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details. Defaults to unset'),
  resourceVersionMatch: query('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details. Defaults to unset'),
  sendInitialEvents: query('sendInitialEvents', '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection.', 'boolean'),
  timeoutSeconds: query('timeoutSeconds', 'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.', 'integer'),
  watch: query('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.', 'boolean'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.', 'integer'),
  orphanDependents: query('orphanDependents', 'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned.', 'boolean'),
  propagationPolicy: query('propagationPolicy', "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
  name: (kind: string): Json => ({ name: 'name', in: 'path', description: `name of the ${kind}`, required: true, schema: { type: 'string', uniqueItems: true } }),
  namespace: { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string', uniqueItems: true } },
};

const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

// ---- operations -----------------------------------------------------------

const READ_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const LIST_TYPES = [...READ_TYPES, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
const PATCH_TYPES_IN = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function content(types: string[], schemaName: string): Json {
  return Object.fromEntries(types.map((t) => [t, { schema: ref(schemaName) }]));
}

function responses(codes: Record<string, string>, schemaName: string, types = READ_TYPES): Json {
  const out: Json = {};
  for (const [code, description] of Object.entries(codes)) out[code] = { description, content: content(types, schemaName) };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

/** 'apps' → 'AppsV1', '' → 'CoreV1', 'rbac.authorization.k8s.io' → 'RbacAuthorizationV1' (upstream operationId style). */
function idPart(r: ResourceType): string {
  const words = r.group === '' ? ['core'] : r.group.replace(/\.k8s\.io$/, '').split('.');
  const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
  return words.map(cap).join('') + cap(r.version);
}

function tag(r: ResourceType): string {
  const words = r.group === '' ? ['core'] : r.group.replace(/\.k8s\.io$/, '').split('.');
  return `${words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('')}_${r.version}`;
}

function gvk(r: ResourceType, kind = r.kind, group = r.group, version = r.version): Json {
  return { group, version, kind };
}

interface OpSpec {
  action: string;
  verb: string;
  description: string;
  params: Json[];
  body?: Json;
  responses: Json;
  gvk: Json;
}

function operation(r: ResourceType, idName: string, o: OpSpec): Json {
  return {
    tags: [tag(r)],
    description: o.description,
    operationId: `${o.verb}${idPart(r)}${idName}`,
    ...(o.params.length > 0 ? { parameters: o.params } : {}),
    ...(o.body ? { requestBody: o.body } : {}),
    responses: o.responses,
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': o.gvk,
  };
}

function body(schemaName: string, types = ['*/*']): Json {
  return { content: content(types, schemaName), required: true };
}

/** Item path operations: get, put, patch (and delete for the object itself). */
function itemOps(r: ResourceType, idName: string, schemaName: string, kindGvk: Json, withDelete: boolean): Json {
  const ops: Json = {
    get: operation(r, idName, { action: 'get', verb: 'read', description: `read the specified ${r.kind}`, params: [], responses: responses({ '200': 'OK' }, schemaName), gvk: kindGvk }),
    put: operation(r, idName, {
      action: 'put', verb: 'replace', description: `replace the specified ${r.kind}`, params: WRITE_PARAMS,
      body: body(schemaName), responses: responses({ '200': 'OK', '201': 'Created' }, schemaName), gvk: kindGvk,
    }),
    patch: operation(r, idName, {
      action: 'patch', verb: 'patch', description: `partially update the specified ${r.kind}`, params: [...WRITE_PARAMS, P.force],
      body: body(`${META}.Patch`, PATCH_TYPES_IN), responses: responses({ '200': 'OK', '201': 'Created' }, schemaName), gvk: kindGvk,
    }),
  };
  if (withDelete) {
    ops.delete = operation(r, idName, {
      action: 'delete', verb: 'delete', description: `delete ${r.kind === 'Endpoints' ? 'Endpoints' : `a ${r.kind}`}`, params: DELETE_PARAMS,
      body: body(`${META}.DeleteOptions`), responses: responses({ '200': 'OK', '202': 'Accepted' }, `${META}.Status`), gvk: kindGvk,
    });
  }
  return ops;
}

/** The paths of one resource: collection, item, all-namespaces list and subresources. */
function resourcePaths(r: ResourceType): Record<string, Json> {
  const prefix = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const scoped = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}` : `${prefix}/${r.plural}`;
  const ns = r.namespaced ? 'Namespaced' : '';
  const kindGvk = gvk(r);
  const list = `${r.schemaName}List`;
  const pathParams = (extra: Json[]): Json[] => [...extra, ...(r.namespaced ? [P.namespace] : []), P.pretty];
  const paths: Record<string, Json> = {};

  paths[scoped] = {
    get: operation(r, `${ns}${r.kind}`, { action: 'list', verb: 'list', description: `list or watch objects of kind ${r.kind}`, params: LIST_PARAMS, responses: responses({ '200': 'OK' }, list, LIST_TYPES), gvk: kindGvk }),
    post: operation(r, `${ns}${r.kind}`, {
      action: 'post', verb: 'create', description: `create ${r.kind === 'Endpoints' ? 'Endpoints' : `a ${r.kind}`}`, params: WRITE_PARAMS,
      body: body(r.schemaName), responses: responses({ '200': 'OK', '201': 'Created', '202': 'Accepted' }, r.schemaName), gvk: kindGvk,
    }),
    delete: operation(r, `Collection${ns}${r.kind}`, {
      action: 'deletecollection', verb: 'delete', description: `delete collection of ${r.kind}`, params: [...DELETE_PARAMS, ...LIST_PARAMS],
      body: body(`${META}.DeleteOptions`), responses: responses({ '200': 'OK' }, `${META}.Status`), gvk: kindGvk,
    }),
    parameters: pathParams([]),
  };
  paths[`${scoped}/{name}`] = { ...itemOps(r, `${ns}${r.kind}`, r.schemaName, kindGvk, true), parameters: pathParams([P.name(r.kind)]) };
  if (r.subresources.includes('status')) {
    paths[`${scoped}/{name}/status`] = { ...itemOps(r, `${ns}${r.kind}Status`, r.schemaName, kindGvk, false), parameters: pathParams([P.name(r.kind)]) };
  }
  if (r.subresources.includes('scale')) {
    paths[`${scoped}/{name}/scale`] = {
      ...itemOps(r, `${ns}${r.kind}Scale`, SCALE, gvk(r, 'Scale', 'autoscaling', 'v1'), false),
      parameters: pathParams([P.name('Scale')]),
    };
  }
  if (r.namespaced) {
    paths[`${prefix}/${r.plural}`] = {
      get: operation(r, `${r.kind}ForAllNamespaces`, { action: 'list', verb: 'list', description: `list or watch objects of kind ${r.kind}`, params: LIST_PARAMS, responses: responses({ '200': 'OK' }, list, LIST_TYPES), gvk: kindGvk }),
      parameters: [P.pretty],
    };
  }
  return paths;
}

// ---- schemas --------------------------------------------------------------

/** Extensions kube-apiserver puts on a property from the Go struct tags. */
function patchExtensions(info: FieldPatchInfo): Json {
  const x: Json = {};
  if (info.strategy) x['x-kubernetes-patch-strategy'] = info.strategy;
  if (info.mergeKey) x['x-kubernetes-patch-merge-key'] = info.mergeKey;
  if (info.listType) x['x-kubernetes-list-type'] = info.listType;
  if (info.listMapKeys) x['x-kubernetes-list-map-keys'] = [...info.listMapKeys];
  if (info.mapType) x['x-kubernetes-map-type'] = info.mapType;
  return x;
}

/** A copy of the named schemas with the strategic-merge metadata of patch-meta.ts applied. */
function componentSchemas(names: Iterable<string>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const name of [...names].sort()) {
    const s = schemaFor(name);
    if (!s) continue;
    const copy = cloneJson(s);
    const goType = OPENAPI_TYPE_NAMES[name];
    const fields = goType === undefined ? undefined : PATCH_TYPES[goType];
    for (const [field, info] of Object.entries(fields ?? {})) {
      const prop = copy.properties?.[field];
      if (prop) Object.assign(prop, patchExtensions(info));
    }
    out[name] = copy;
  }
  return out;
}

/** Every schema a set of path items refers to, and everything those refer to. */
function referencedSchemas(paths: Record<string, Json>): Set<string> {
  const roots = new Set<string>();
  const scan = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(scan);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') roots.add(x.replace('#/components/schemas/', ''));
        else scan(x);
      }
    }
  };
  scan(paths);
  return reachableSchemas(roots);
}

function documentFor(paths: Record<string, Json>, extraSchemas: string[] = []): OpenApiDocument {
  const names = referencedSchemas(paths);
  for (const n of reachableSchemas(extraSchemas)) names.add(n);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas: componentSchemas(names) },
  };
}

/** 'api/v1' for core, 'apis/apps/v1' otherwise. */
function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function discoveryOp(operationId: string, tagName: string, description: string, schemaName: string): Json {
  return { get: { tags: [tagName], description, operationId, responses: responses({ '200': 'OK' }, schemaName, ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']) } };
}

function groupVersionDocument(group: string, version: string): OpenApiDocument | undefined {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  const first = resources[0];
  const prefix = `/${gvPath(group, version)}`;
  const paths: Record<string, Json> = {
    [`${prefix}/`]: discoveryOp(`get${idPart(first)}APIResources`, tag(first), 'get available resources', `${META}.APIResourceList`),
  };
  for (const r of resources) Object.assign(paths, resourcePaths(r));
  // WatchEvent is what the watch=true list responses carry; upstream lists it in every document.
  return documentFor(paths, [`${META}.WatchEvent`]);
}

/** Every document served, by its path under /openapi/v3/, built on demand. */
function documentBuilders(): Map<string, () => OpenApiDocument | undefined> {
  const builders = new Map<string, () => OpenApiDocument | undefined>();
  builders.set('api', () => documentFor({ '/api/': discoveryOp('getCoreAPIVersions', 'core', 'get available API versions', `${META}.APIVersions`) }));
  builders.set('apis', () => documentFor({ '/apis/': discoveryOp('getAPIVersions', 'apis', 'get available API versions', `${META}.APIGroupList`) }));
  for (const { group, version } of groupVersions()) {
    if (group !== '' && !builders.has(`apis/${group}`)) {
      const first = RESOURCES.find((r) => r.group === group);
      const id = first ? idPart(first).replace(/V\d.*$/, '') : group;
      builders.set(`apis/${group}`, () =>
        documentFor({ [`/apis/${group}/`]: discoveryOp(`get${id}APIGroup`, first ? tag(first).replace(/_.*$/, '') : group, 'get information of a group', `${META}.APIGroup`) }),
      );
    }
    builders.set(gvPath(group, version), () => groupVersionDocument(group, version));
  }
  return builders;
}

interface Built {
  doc: OpenApiDocument;
  body: string;
  hash: string;
}

let builders: Map<string, () => OpenApiDocument | undefined> | undefined;
const built = new Map<string, Built | undefined>();

function build(path: string): Built | undefined {
  if (built.has(path)) return built.get(path);
  builders ??= documentBuilders();
  const doc = builders.get(path)?.();
  const result = doc && { doc, body: JSON.stringify(doc), hash: '' };
  if (result) result.hash = createHash('sha512').update(result.body).digest('hex').toUpperCase();
  built.set(path, result);
  return result;
}

/** Paths of every document served under /openapi/v3/ ('api', 'apis', 'api/v1', 'apis/apps', 'apis/apps/v1', ...). */
export function openapiV3Paths(): string[] {
  builders ??= documentBuilders();
  return [...builders.keys()];
}

/**
 * The `/openapi/v3` root: each document's URL carries its content hash, so
 * clients cache documents until they change. `baseHash`, when given, is
 * mixed in (e.g. a server build id) to change every URL at once.
 */
export function openapiV3Root(baseHash = ''): OpenApiRoot {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const p of openapiV3Paths()) {
    const hash = openapiV3Hash(p, baseHash);
    if (hash !== undefined) paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

/** The document at /openapi/v3/<groupVersionPath> (e.g. 'apis/apps/v1'), or undefined if none. */
export function openapiV3Document(groupVersionPath: string): OpenApiDocument | undefined {
  return build(groupVersionPath.replace(/^\/+|\/+$/g, ''))?.doc;
}

/** The document serialized once, for serving without re-encoding; undefined if none. */
export function openapiV3DocumentBody(groupVersionPath: string): string | undefined {
  return build(groupVersionPath.replace(/^\/+|\/+$/g, ''))?.body;
}

/** The hash that the root lists for a document (sha512 of its JSON, upper-case hex, as kube-apiserver). */
export function openapiV3Hash(groupVersionPath: string, baseHash = ''): string | undefined {
  const b = build(groupVersionPath.replace(/^\/+|\/+$/g, ''));
  if (!b) return undefined;
  return baseHash === '' ? b.hash : createHash('sha512').update(baseHash).update(b.hash).digest('hex').toUpperCase();
}
