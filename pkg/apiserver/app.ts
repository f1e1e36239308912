/**
 * The hono app: authentication, discovery, health, version, OpenAPI, and
 * the generic REST routes over the registry. HTTP in, Rest calls out.
 */
import { Hono, type Context } from 'hono';
import type { Backend } from '../../embedded-store/types.js';
import { groupResourceOf, type ResourceType } from '../api/registry.js';
import { asKubeObject, type KubeObject } from '../api/object.js';
import {
  SelectorError,
  fieldsOf,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  validateFieldSelector,
} from '../api/selectors.js';
import { ApiError, errors, successStatus } from './errors.js';
import { parsePath, type PathTarget, type ResourceTarget } from './request.js';
import { ObjectStore } from './storage.js';
import { Rest, type ListQuery, type WriteOptions, type WriteResult } from './rest/rest.js';
import { parseFieldValidation } from './rest/prepare.js';
import { parseDeleteOptions } from './rest/delete-plan.js';
import { patchTypeOf } from './rest/patch.js';
import { bindPod, evictPod, finalizeNamespace, patchScale, toScale, updateScale } from './rest/subresources.js';
import { decodeBody, decodeObjectBody, isBlankBody, mediaType, PROTOBUF_MEDIA_TYPE, requestBody, requestBodyBytes } from './body.js';
import { asList, asPartial, asPartialList, asTable, negotiate, parseIncludeObject, type Negotiated } from './output.js';
import { openWatch } from './watch.js';
import { aggregatedDiscovery, apiGroupDocument, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { ServiceAllocations } from './service-alloc.js';
import { openapiV3DocumentBody, openapiV3Root } from './openapi.js';
import { withDefaultTolerations, type DefaultTolerationOptions } from './admission/default-tolerations.js';
import { NODE_CREDENTIAL_PATH, registerNodeJoin, type NodeJoinService } from './node-join.js';
// Streaming (logs/exec/attach/portforward) and the agents' tunnels.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TunnelServer } from './tunnel.js';
import { createUpgradeHandler, podLogResponse } from './streaming.js';
import { METRICS_CONTENT_TYPE, type MetricsRegistry } from '../util/metrics.js';

export interface ApiServerOptions {
  backend: Backend;
  /** Decides whether a request's Authorization header is a valid credential. */
  authenticate: (authorization: string | undefined) => boolean;
  /** host:port clients should use, for the legacy /api document. */
  serverAddress: string;
  /** CA bundle served at /cacerts to joining agents. */
  caBundle?: string;
  serviceCidr: string;
  nodePortRange: string;
  bookmarkIntervalMs?: number;
  now?: () => Date;
  /** /readyz answers 503 until this is true (default: always ready). */
  isReady?: () => boolean;
  /** DefaultTolerationSeconds admission (--default-*-toleration-seconds; 300 s each by default). */
  defaultTolerations?: DefaultTolerationOptions;
  /** Serves POST /v1-orch/node-credential (agents joining with the join secret). */
  nodeJoin?: NodeJoinService;
  /** Served at /metrics (authenticated), in the Prometheus text format. */
  metrics?: MetricsRegistry;
  /** Whether a credential may open node `node`'s tunnel (default: any valid credential). */
  authorizeTunnel?: (authorization: string | undefined, node: string) => boolean | Promise<boolean>;
}

export interface ApiServer {
  app: Hono;
  rest: Rest;
  store: ObjectStore;
  services: ServiceAllocations;
  /** Agents' tunnels to their kubelets (logs, exec, attach, port-forward). */
  tunnels: TunnelServer;
  /** The HTTP server's `upgrade` listener: tunnels and exec/attach/portforward WebSockets. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+orch',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-25T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

const OPEN_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz', '/cacerts']);
const DISCOVERY_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const DISCOVERY_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
const DEFAULT_WATCH_TIMEOUT_S = 1800;

function json(body: unknown, status = 200, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } });
}

function statusResponse(e: ApiError): Response {
  return json(e.toStatus(), e.code);
}

/** Builds the API server; call `services.restore` from stored Services before serving. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const now = opts.now ?? (() => new Date());
  const store = new ObjectStore(opts.backend);
  const services = new ServiceAllocations(opts.serviceCidr, opts.nodePortRange);
  const defaultTolerations = opts.defaultTolerations ?? {};
  const rest = new Rest(
    store,
    {
      Service: services.hooks(),
      Pod: { admitCreate: (pod) => withDefaultTolerations(pod, defaultTolerations) },
    },
    now,
  );
  const app = new Hono();
  const tunnels = new TunnelServer();

  app.onError((err) => {
    if (err instanceof ApiError) return statusResponse(err);
    if (err instanceof SelectorError) return statusResponse(errors.badRequest(err.message));
    console.error('orch apiserver: unexpected error:', err);
    return statusResponse(errors.internal(err instanceof Error ? err.message : String(err)));
  });
  app.notFound(() => statusResponse(errors.pathNotFound()));

  // The join route checks the join secret itself; nothing else is open without a credential.
  const joinPath = opts.nodeJoin ? NODE_CREDENTIAL_PATH : undefined;
  app.use('*', async (c, next) => {
    if (!OPEN_PATHS.has(c.req.path) && c.req.path !== joinPath && !opts.authenticate(c.req.header('authorization'))) {
      return statusResponse(errors.unauthorized());
    }
    await next();
  });

  app.get('/version', () => json(VERSION_INFO));
  const isReady = opts.isReady ?? (() => true);
  for (const path of ['/healthz', '/livez', '/readyz']) {
    app.get(path, (c) => {
      if (path === '/readyz' && !isReady()) return c.text('[-]bootstrap not finished\nreadyz check failed\n', 503);
      return c.req.query('verbose') !== undefined ? c.text(`[+]ping ok\n[+]etcd ok\n${path.slice(1)} check passed\n`) : c.text('ok');
    });
  }
  if (opts.nodeJoin) registerNodeJoin(app, opts.nodeJoin);
  app.get('/cacerts', (c) => (opts.caBundle ? c.text(opts.caBundle) : statusResponse(errors.pathNotFound())));
  app.get('/metrics', (c) => {
    const metrics = opts.metrics;
    if (!metrics) return statusResponse(errors.pathNotFound());
    return c.body(metrics.render(), 200, { 'content-type': METRICS_CONTENT_TYPE });
  });
  app.get('/openapi/v3', () => json(openapiV3Root()));
  app.get('/openapi/v3/*', (c) => {
    // Documents are large and never change while the server runs: serve the cached text.
    const body = openapiV3DocumentBody(c.req.path.slice('/openapi/v3/'.length));
    return body ? new Response(body, { headers: { 'content-type': 'application/json' } }) : statusResponse(errors.pathNotFound());
  });

  const handle = async (c: Context): Promise<Response> => {
    const target = parsePath(c.req.path);
    if (!target) return statusResponse(errors.pathNotFound());
    if (target.type === 'discovery') {
      if (c.req.method !== 'GET') return statusResponse(errors.pathNotFound());
      return discovery(c, target, opts.serverAddress);
    }
    return resourceRequest(c, target, { rest, store, now, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000, tunnels });
  };
  app.all('/api', handle);
  app.all('/api/*', handle);
  app.all('/apis', handle);
  app.all('/apis/*', handle);
  const handleUpgrade = createUpgradeHandler({
    rest,
    tunnels,
    authenticate: (h) => Boolean(opts.authenticate(h)),
    authorizeTunnel: opts.authorizeTunnel,
  });
  return { app, rest, store, services, tunnels, handleUpgrade };
}

function discovery(c: Context, t: Exclude<PathTarget, ResourceTarget>, serverAddress: string): Response {
  if (t.doc === 'api' || t.doc === 'apis') {
    const accept = c.req.header('accept') ?? '';
    if (accept.includes('g=apidiscovery.k8s.io')) {
      const v2 = /g=apidiscovery\.k8s\.io;\s*v=v2(;|,|\s|$)/.test(accept.replace(/\s/g, ''));
      const body = aggregatedDiscovery(t.doc, v2 ? 'apidiscovery.k8s.io/v2' : 'apidiscovery.k8s.io/v2beta1');
      return json(body, 200, v2 ? DISCOVERY_V2 : DISCOVERY_V2BETA1);
    }
    return json(t.doc === 'api' ? apiVersions(serverAddress) : apiGroupList());
  }
  if (t.doc === 'group') {
    const doc = apiGroupDocument(t.group);
    return doc ? json(doc) : statusResponse(errors.pathNotFound());
  }
  if (t.doc !== 'resources') return statusResponse(errors.pathNotFound());
  const doc = apiResourceList(t.group, t.version);
  return doc ? json(doc) : statusResponse(errors.pathNotFound());
}

interface Deps {
  rest: Rest;
  store: ObjectStore;
  now: () => Date;
  bookmarkIntervalMs: number;
  tunnels: TunnelServer;
}

function writeOptions(c: Context): WriteOptions {
  const dryRun = c.req.queries('dryRun') ?? [];
  for (const d of dryRun) if (d !== 'All') throw errors.badRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
  const force = c.req.query('force');
  return {
    dryRun: dryRun.length > 0,
    fieldValidation: parseFieldValidation(c.req.query('fieldValidation')),
    // Kubernetes names an unnamed writer after its user agent's product ("kubectl", "node-fetch").
    fieldManager: c.req.query('fieldManager') || (c.req.header('user-agent') ?? '').split('/')[0] || undefined,
    force: force === 'true' || force === '1',
  };
}

function intParam(c: Context, name: string): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  // Past 2^53 a number is not exact, and SQLite refuses it as a LIMIT (a 500 before this check).
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw errors.badRequest(`invalid ${name} parameter: ${JSON.stringify(v)}`);
  return Number(v);
}

function boolParam(c: Context, name: string): boolean {
  const v = c.req.query(name);
  return v === 'true' || v === '1';
}

/** The object filter for labelSelector/fieldSelector, undefined when none. */
function selectorFilter(c: Context, r: ResourceType): ((o: KubeObject) => boolean) | undefined {
  const ls = c.req.query('labelSelector');
  const fs = c.req.query('fieldSelector');
  const labels = ls ? parseLabelSelector(ls) : undefined;
  const gr = groupResourceOf(r);
  const fields = fs ? validateFieldSelector(gr, parseFieldSelector(fs)) : undefined;
  if (!labels && !fields) return undefined;
  return (o) => (!labels || matchesLabels(labels, o.metadata.labels)) && (!fields || matchesFields(fields, fieldsOf(gr, o)));
}

async function objectBody(c: Context): Promise<KubeObject> {
  const media = mediaType(c.req.header('content-type'));
  if (media !== '' && media !== 'application/json' && media !== 'application/yaml' && media !== '*/*' && media !== PROTOBUF_MEDIA_TYPE) {
    throw errors.unsupportedMediaType(media);
  }
  const parsed = await decodeObjectBody(await requestBodyBytes(c), media);
  const obj = asKubeObject(parsed);
  if (!obj) throw errors.badRequest('the body of the request must be a JSON object with an object "metadata"');
  return obj;
}

function withWarnings(res: Response, warnings: string[]): Response {
  for (const w of warnings) {
    // Header values must be Latin-1 and a warning can quote a client's non-ASCII field
    // name; escape as Go's strconv.QuoteToASCII does (kubectl unquotes it). Unescaped,
    // append() threw after the write had committed: a 500 for a stored object.
    const quoted = JSON.stringify(w).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    res.headers.append('warning', `299 - ${quoted}`);
  }
  return res;
}

function objectResponse(o: KubeObject, neg: Negotiated, r: ResourceType, now: Date, status = 200): Response {
  if (neg.as === 'Table') return json(asTable(r, [o], undefined, { metaVersion: neg.metaVersion, includeObject: 'Object', now }), status);
  if (neg.as === 'PartialObjectMetadata') return json(asPartial(o, neg.metaVersion), status);
  return json(o, status);
}

function writeResponse(res: WriteResult, neg: Negotiated, r: ResourceType, now: Date): Response {
  return withWarnings(objectResponse(res.object, neg, r, now, res.created ? 201 : 200), res.warnings);
}

async function resourceRequest(c: Context, t: ResourceTarget, d: Deps): Promise<Response> {
  const { rest, now } = d;
  const r = t.resource;
  const neg = negotiate(c.req.header('accept'));
  const method = c.req.method;
  const ns = r.namespaced ? t.namespace : undefined;
  if (r.namespaced && t.name !== undefined && ns === undefined) return statusResponse(errors.pathNotFound());

  if (t.name === undefined) {
    if (method === 'GET') {
      const keep = selectorFilter(c, r);
      if (boolParam(c, 'watch')) return watchResponse(c, r, ns, keep, neg, d);
      const q: ListQuery = {
        limit: intParam(c, 'limit'),
        continueToken: c.req.query('continue') || undefined,
        resourceVersion: c.req.query('resourceVersion'),
        resourceVersionMatch: c.req.query('resourceVersionMatch'),
        keep,
      };
      const out = await rest.list(r, ns, q);
      const meta = { resourceVersion: out.resourceVersion, continue: out.continueToken, remainingItemCount: out.remainingItemCount };
      if (neg.as === 'Table') {
        return json(asTable(r, out.items, meta, { metaVersion: neg.metaVersion, includeObject: parseIncludeObject(c.req.query('includeObject')), now: now() }));
      }
      if (neg.as === 'PartialObjectMetadata') return json(asPartialList(out.items, meta, neg.metaVersion));
      return json(asList(r, out.items, meta));
    }
    if (method === 'POST') {
      if (r.namespaced && ns === undefined) return statusResponse(errors.methodNotSupported(r, 'create'));
      const res = await rest.create(r, ns, await objectBody(c), writeOptions(c));
      return writeResponse(res, neg, r, now());
    }
    if (method === 'DELETE') {
      const body = await optionalBody(c);
      const options = parseDeleteOptions(body, (k) => c.req.query(k));
      const out = await rest.deleteCollection(r, ns, { keep: selectorFilter(c, r) }, options, writeOptions(c).dryRun);
      return json(asList(r, out.items, { resourceVersion: out.resourceVersion }));
    }
    return statusResponse(errors.methodNotSupported(r, method));
  }

  const name = t.name;
  const sub = t.subresource;
  if (sub === undefined || sub === 'status') {
    const subresource = sub === 'status' ? 'status' : undefined;
    if (method === 'GET') {
      if (boolParam(c, 'watch')) {
        const byName = (o: KubeObject) => o.metadata.name === name;
        const keep = selectorFilter(c, r);
        return watchResponse(c, r, ns, keep ? (o) => byName(o) && keep(o) : byName, neg, d);
      }
      return objectResponse(await rest.get(r, ns, name), neg, r, now());
    }
    if (method === 'PUT') {
      const res = await rest.update(r, ns, name, await objectBody(c), writeOptions(c), subresource);
      return writeResponse(res, neg, r, now());
    }
    if (method === 'PATCH') {
      const type = patchTypeOf(mediaType(c.req.header('content-type')));
      const body = await decodeBody(await requestBody(c), type === 'apply' ? 'application/apply-patch+yaml' : 'application/json');
      const res = await rest.patch(r, ns, name, type, body, writeOptions(c), subresource);
      return writeResponse(res, neg, r, now());
    }
    if (method === 'DELETE' && sub === undefined) {
      const body = await optionalBody(c);
      const options = parseDeleteOptions(body, (k) => c.req.query(k));
      const res = await rest.delete(r, ns, name, options, writeOptions(c).dryRun);
      if (!res.deleted || r.kind === 'Pod') return objectResponse(res.object, neg, r, now(), res.deleted ? 200 : 202);
      return json(successStatus({ name, kind: r.plural, uid: res.object.metadata.uid, ...(r.group ? { group: r.group } : {}) }));
    }
    return statusResponse(errors.methodNotSupported(r, method));
  }
  return subresourceRequest(c, r, ns, name, sub, d);
}

async function optionalBody(c: Context): Promise<unknown> {
  const bytes = await requestBodyBytes(c);
  if (isBlankBody(bytes)) return undefined;
  return decodeObjectBody(bytes, mediaType(c.req.header('content-type')) || 'application/json');
}

async function subresourceRequest(c: Context, r: ResourceType, ns: string | undefined, name: string, sub: string, d: Deps): Promise<Response> {
  const { rest } = d;
  const method = c.req.method;
  if (sub === 'scale') {
    if (method === 'GET') return json(toScale(await rest.get(r, ns, name)));
    if (method === 'PUT') return json(await updateScale(rest, r, ns, name, await objectBody(c), writeOptions(c)));
    if (method === 'PATCH') {
      const type = patchTypeOf(mediaType(c.req.header('content-type')));
      const body = await decodeBody(await requestBody(c), type === 'apply' ? 'application/apply-patch+yaml' : 'application/json');
      return json(await patchScale(rest, r, ns, name, type, body, writeOptions(c)));
    }
  }
  if (sub === 'binding' && method === 'POST') {
    await bindPod(rest, r, ns, name, await objectBody(c), writeOptions(c).dryRun);
    return json(successStatus(), 201);
  }
  if (sub === 'eviction' && method === 'POST') {
    await evictPod(rest, r, ns, name, await objectBody(c), writeOptions(c).dryRun);
    return json(successStatus(), 201);
  }
  if (sub === 'finalize' && method === 'PUT') {
    return json(await finalizeNamespace(rest, r, name, await objectBody(c), writeOptions(c).dryRun));
  }
  // Streaming: logs over plain HTTP; exec/attach/portforward only by upgrade (server.on('upgrade') → streaming.ts).
  if (r.kind === 'Pod' && ns !== undefined && sub === 'log' && method === 'GET') {
    return podLogResponse({ rest, tunnels: d.tunnels }, ns, name, new URL(c.req.url).searchParams, c.req.raw.signal);
  }
  if (r.kind === 'Pod' && (sub === 'exec' || sub === 'attach' || sub === 'portforward') && (method === 'GET' || method === 'POST')) {
    await rest.get(r, ns, name);
    return statusResponse(errors.badRequest('Upgrade request required'));
  }
  return statusResponse(errors.methodNotSupported({ group: r.group, plural: `${r.plural}/${sub}` }, method));
}

async function watchResponse(
  c: Context,
  r: ResourceType,
  ns: string | undefined,
  keep: ((o: KubeObject) => boolean) | undefined,
  neg: Negotiated,
  d: Deps,
): Promise<Response> {
  const timeoutSeconds = intParam(c, 'timeoutSeconds');
  const includeObject = parseIncludeObject(c.req.query('includeObject'));
  let first = true;
  const encode = (o: KubeObject): unknown => {
    if (neg.as === 'Table') {
      const table = asTable(r, [o], undefined, { metaVersion: neg.metaVersion, includeObject, now: d.now(), withColumns: first });
      first = false;
      return table;
    }
    if (neg.as === 'PartialObjectMetadata') return asPartial(o, neg.metaVersion);
    return o;
  };
  const sendInitial = c.req.query('sendInitialEvents');
  const stream = await openWatch({
    store: d.store,
    resource: r,
    namespace: ns,
    resourceVersion: c.req.query('resourceVersion'),
    sendInitialEvents: sendInitial === undefined ? undefined : sendInitial === 'true',
    keep: keep ?? (() => true),
    selective: keep !== undefined,
    encode,
    wireKey: neg.as === 'Table' ? undefined : neg.as === 'PartialObjectMetadata' ? `partial/${neg.metaVersion}` : 'object',
    bookmarks: boolParam(c, 'allowWatchBookmarks'),
    bookmarkIntervalMs: d.bookmarkIntervalMs,
    timeoutMs: (timeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_S) * 1000,
  });
  return new Response(stream, {
    status: 200,
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' },
  });
}

