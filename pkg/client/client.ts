/**
 * The typed client: one generic ResourceClient per kind of the registry,
 * paths laid out as the API serves them, objects typed with
 * kubernetes-types. Every call goes through a Transport.
 */
import type { ListMeta, ObjectMeta, Status } from 'kubernetes-types/meta/v1.js';
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { DaemonSet, Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import { RESOURCES, apiVersionOf, groupResourceOf, type ResourceType } from '../api/registry.js';
import type { Transport, TransportResponse } from './transport.js';
import { apiErrorFrom, asStatus, isExpired } from './errors.js';

/** What every API object has: the constraint on the client's type parameter. */
export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Served plural → kubernetes-types type, so `client.resource('pods')` is typed. */
export interface KindMap {
  namespaces: Namespace;
  nodes: Node;
  pods: Pod;
  services: Service;
  endpoints: Endpoints;
  configmaps: ConfigMap;
  secrets: Secret;
  serviceaccounts: ServiceAccount;
  events: Event;
  deployments: Deployment;
  replicasets: ReplicaSet;
  daemonsets: DaemonSet;
  leases: Lease;
  roles: Role;
  clusterroles: ClusterRole;
  rolebindings: RoleBinding;
  clusterrolebindings: ClusterRoleBinding;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  signal?: AbortSignal;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta & { resourceVersion: string };
  items: T[];
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version; absent or '0': synthetic ADDED events for the current state first. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this long. */
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  /** Aborting ends the iteration cleanly (no error). */
  signal?: AbortSignal;
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T } | { type: 'ERROR'; object: Status };

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take over fields owned by other managers. */
  force?: boolean;
  /** e.g. 'status' or 'scale'. */
  subresource?: string;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const WATCH_EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);
/** Past the server's own timeout, a watch that sent nothing more is presumed dead. */
const WATCH_DEADLINE_GRACE_MS = 30_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The one place that trusts the server: a JSON object with an object (or
 * absent) `metadata` is taken to be of the kind requested.
 */
function asObject<T>(v: unknown, what: string): T {
  if (!isRecord(v) || (v.metadata !== undefined && !isRecord(v.metadata))) {
    throw new Error(`orch client: expected ${what} object in the response, got ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  return v as T;
}

function asList<T>(v: unknown): ObjectList<T> {
  if (!isRecord(v) || !Array.isArray(v.items) || !isRecord(v.metadata)) {
    throw new Error(`orch client: expected a list in the response, got ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  const items = v.items.map((i) => asObject<T>(i, 'list item'));
  const m = v.metadata;
  const metadata: ObjectList<T>['metadata'] = { resourceVersion: typeof m.resourceVersion === 'string' ? m.resourceVersion : '' };
  if (typeof m.continue === 'string' && m.continue !== '') metadata.continue = m.continue;
  if (typeof m.remainingItemCount === 'number') metadata.remainingItemCount = m.remainingItemCount;
  const out: ObjectList<T> = { metadata, items };
  if (typeof v.apiVersion === 'string') out.apiVersion = v.apiVersion;
  if (typeof v.kind === 'string') out.kind = v.kind;
  return out;
}

/** Builds `?a=b&…` from defined values. */
function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function writeQuery(o: WriteOptions & { force?: boolean }): Record<string, string | boolean | undefined> {
  return { dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager, fieldValidation: o.fieldValidation, force: o.force };
}

/** A running watch: iterate it once; `close()` (or the caller's signal) ends it. */
export class Watch<T> implements AsyncIterable<WatchEvent<T>> {
  private iterated = false;

  constructor(
    private readonly res: TransportResponse,
    private readonly controller: AbortController,
    private readonly cleanup: () => void,
  ) {}

  /** Ends the watch; a pending iteration finishes without error. */
  close(): void {
    this.controller.abort();
    this.cleanup();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.iterated) throw new Error('orch client: a watch can be iterated only once');
    this.iterated = true;
    try {
      for await (const line of this.res.lines()) {
        const ev: unknown = JSON.parse(line);
        if (!isRecord(ev) || typeof ev.type !== 'string' || !WATCH_EVENT_TYPES.has(ev.type)) {
          throw new Error(`orch client: malformed watch event: ${line.slice(0, 200)}`);
        }
        if (ev.type === 'ERROR') {
          const status = asStatus(ev.object) ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: line.slice(0, 200) };
          yield { type: 'ERROR', object: status };
          continue;
        }
        const type = ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED' ? ev.type : 'BOOKMARK';
        yield { type, object: asObject<T>(ev.object, 'watch event') };
      }
    } finally {
      this.close();
    }
  }
}

/** Operations on one kind, optionally bound to a namespace. */
export class ResourceClient<T extends ObjectLike> {
  constructor(
    private readonly client: Client,
    readonly resource: ResourceType,
    /** Namespace name-based calls use; undefined lists/watches across all namespaces. */
    readonly boundNamespace?: string,
  ) {}

  /** The same kind bound to `ns` (ignored for cluster-scoped kinds). */
  namespace(ns: string | undefined): ResourceClient<T> {
    return new ResourceClient<T>(this.client, this.resource, ns);
  }

  /** Collection path: /api/v1[/namespaces/NS]/PLURAL. */
  collectionPath(ns = this.boundNamespace): string {
    const r = this.resource;
    const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
    const nsPart = r.namespaced && ns ? `/namespaces/${encodeURIComponent(ns)}` : '';
    return `${root}${nsPart}/${r.plural}`;
  }

  /** Object path, with an optional subresource; namespaced kinds need a namespace. */
  objectPath(name: string, subresource?: string, ns = this.boundNamespace): string {
    if (this.resource.namespaced && !ns) throw new Error(`orch client: ${this.resource.plural} "${name}": a namespace is required`);
    if (!name) throw new Error(`orch client: ${this.resource.plural}: a name is required`);
    return `${this.collectionPath(ns)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
  }

  private namespaceOf(obj: ObjectLike): string | undefined {
    return this.boundNamespace ?? obj.metadata?.namespace;
  }

  private nameOf(obj: ObjectLike): string {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`orch client: ${this.resource.plural}: metadata.name is required`);
    return name;
  }

  /** The body with apiVersion and kind filled in when missing. */
  private withTypeMeta(obj: T): T {
    const r = this.resource;
    return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(r), kind: obj.kind ?? r.kind };
  }

  async get(name: string, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return asObject<T>(await this.client.requestJson('GET', this.objectPath(name), undefined, opts), this.resource.kind);
  }

  /** One page (or all, without `limit`) of the collection. */
  async list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const q = query({
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
      resourceVersionMatch: opts.resourceVersionMatch,
    });
    const out = asList<T>(await this.client.requestJson('GET', this.collectionPath() + q, undefined, opts));
    // Items of a list need not carry their type; callers (informers, event references) rely on it.
    if (out.items.some((i) => !i.kind || !i.apiVersion)) out.items = out.items.map((i) => this.withTypeMeta(i));
    return out;
  }

  /**
   * Every item, fetched in pages of `pageSize` at one consistent version. A
   * continue token that expires mid-way restarts the list once from the top.
   */
  async listAll(opts: Omit<ListOptions, 'limit' | 'continue'> & { pageSize?: number } = {}): Promise<ObjectList<T>> {
    const pageSize = opts.pageSize ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await this.list({ ...opts, limit: pageSize });
        const items = [...first.items];
        let cont = first.metadata.continue;
        while (cont) {
          const page = await this.list({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: pageSize, continue: cont, signal: opts.signal });
          items.push(...page.items);
          cont = page.metadata.continue;
        }
        return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
      } catch (e) {
        if (!isExpired(e) || attempt > 0) throw e;
      }
    }
  }

  async create(obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = this.collectionPath(this.namespaceOf(obj)) + query(writeQuery(opts));
    if (this.resource.namespaced && !this.namespaceOf(obj)) throw new Error(`orch client: create ${this.resource.plural}: a namespace is required`);
    return asObject<T>(await this.client.requestJson('POST', path, this.withTypeMeta(obj), opts), this.resource.kind);
  }

  /** PUT of the whole object; metadata.resourceVersion, when set, must match (else 409). */
  async update(obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = this.objectPath(this.nameOf(obj), undefined, this.namespaceOf(obj)) + query(writeQuery(opts));
    return asObject<T>(await this.client.requestJson('PUT', path, this.withTypeMeta(obj), opts), this.resource.kind);
  }

  /** PUT to /status: only status changes. */
  async updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = this.objectPath(this.nameOf(obj), 'status', this.namespaceOf(obj)) + query(writeQuery(opts));
    return asObject<T>(await this.client.requestJson('PUT', path, this.withTypeMeta(obj), opts), this.resource.kind);
  }

  /** PATCH with the given patch type; 'apply' (server-side apply) needs a fieldManager. */
  async patch(name: string, type: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && !opts.fieldManager) throw new Error('orch client: server-side apply needs a fieldManager');
    const path = this.objectPath(name, opts.subresource) + query(writeQuery(opts));
    const text = await this.client.requestText('PATCH', path, JSON.stringify(body), { ...opts, contentType: PATCH_CONTENT_TYPES[type] });
    return asObject<T>(JSON.parse(text), this.resource.kind);
  }

  /**
   * Deletes the object. Resolves to the object when the server still holds
   * it (finalizers, graceful pod deletion) or returns it, else undefined.
   */
  async delete(name: string, opts: DeleteOptions = {}): Promise<T | undefined> {
    const path = this.objectPath(name) + query({ dryRun: opts.dryRun ? 'All' : undefined });
    const out = await this.client.requestJson('DELETE', path, deleteBody(opts), opts);
    if (isRecord(out) && out.kind === 'Status') return undefined;
    return asObject<T>(out, this.resource.kind);
  }

  /** Deletes every object matching the selectors in the bound namespace (or everywhere). */
  async deleteCollection(opts: Omit<ListOptions, 'limit' | 'continue'> & DeleteOptions = {}): Promise<void> {
    const q = query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, dryRun: opts.dryRun ? 'All' : undefined });
    await this.client.requestJson('DELETE', this.collectionPath() + q, deleteBody(opts), opts);
  }

  /** Opens a watch; a non-200 answer (e.g. 410) throws ApiStatusError before any event. */
  async watch(opts: WatchOptions = {}): Promise<Watch<T>> {
    const q = query({
      watch: true,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks,
      timeoutSeconds: opts.timeoutSeconds,
      sendInitialEvents: opts.sendInitialEvents,
    });
    const controller = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
    // The server ends the watch at timeoutSeconds; if the connection died silently we end it ourselves.
    const deadline =
      opts.timeoutSeconds !== undefined ? setTimeout(() => controller.abort(), opts.timeoutSeconds * 1000 + WATCH_DEADLINE_GRACE_MS) : undefined;
    deadline?.unref();
    const cleanup = (): void => clearTimeout(deadline);
    let res: TransportResponse;
    try {
      res = await this.client.transport.request('GET', this.collectionPath() + q, { signal, stream: true });
    } catch (e) {
      cleanup();
      throw e;
    }
    if (res.status !== 200) {
      cleanup();
      throw apiErrorFrom(res.status, await res.text());
    }
    return new Watch<T>(res, controller, cleanup);
  }

  async getSubresource<R>(name: string, subresource: string, opts: { signal?: AbortSignal } = {}): Promise<R> {
    return asObject<R>(await this.client.requestJson('GET', this.objectPath(name, subresource), undefined, opts), subresource);
  }

  /** PUT to a subresource (scale, finalize, status). */
  async updateSubresource<R>(name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<R> {
    const path = this.objectPath(name, subresource) + query(writeQuery(opts));
    return asObject<R>(await this.client.requestJson('PUT', path, body, opts), subresource);
  }

  /** POST to a subresource (binding, eviction); resolves to the answer (usually a Status). */
  async createSubresource(name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<unknown> {
    const path = this.objectPath(name, subresource) + query(writeQuery(opts));
    return this.client.requestJson('POST', path, body, opts);
  }

  getScale(name: string): Promise<Scale> {
    return this.getSubresource<Scale>(name, 'scale');
  }

  /** Sets spec.replicas through the scale subresource. */
  updateScale(name: string, replicas: number, opts: WriteOptions = {}): Promise<Scale> {
    const ns = this.resource.namespaced ? this.boundNamespace : undefined;
    const scale: Scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: ns }, spec: { replicas } };
    return this.updateSubresource<Scale>(name, 'scale', scale, opts);
  }
}

function deleteBody(o: DeleteOptions): Record<string, unknown> | undefined {
  if (o.propagationPolicy === undefined && o.gracePeriodSeconds === undefined && o.preconditions === undefined) return undefined;
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (o.propagationPolicy !== undefined) body.propagationPolicy = o.propagationPolicy;
  if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.preconditions !== undefined) body.preconditions = o.preconditions;
  return body;
}

const byKey = new Map<string, ResourceType>();
for (const r of RESOURCES) {
  byKey.set(groupResourceOf(r), r);
  if (!byKey.has(r.plural)) byKey.set(r.plural, r);
}

/** The registry entry for 'pods' or 'deployments.apps' (a plain plural resolves when unambiguous). */
export function resourceFor(key: string): ResourceType {
  const r = byKey.get(key);
  if (!r) throw new Error(`orch client: unknown resource ${JSON.stringify(key)}`);
  return r;
}

/** The API client over one transport. */
export class Client {
  constructor(readonly transport: Transport) {}

  /** A client for one kind: 'pods', 'deployments' or 'deployments.apps', or a registry entry. */
  resource<K extends keyof KindMap>(key: K): ResourceClient<KindMap[K]>;
  resource<T extends ObjectLike>(key: string | ResourceType): ResourceClient<T>;
  resource<T extends ObjectLike>(key: string | ResourceType): ResourceClient<T> {
    return new ResourceClient<T>(this, typeof key === 'string' ? resourceFor(key) : key);
  }

  /** Binds a pod to a node through pods/binding (the scheduler's write). */
  async bind(pod: { namespace: string; name: string; uid?: string }, nodeName: string, opts: WriteOptions = {}): Promise<void> {
    const metadata: ObjectMeta = { name: pod.name, namespace: pod.namespace, ...(pod.uid ? { uid: pod.uid } : {}) };
    const body = { apiVersion: 'v1', kind: 'Binding', metadata, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } };
    await this.resource('pods').namespace(pod.namespace).createSubresource(pod.name, 'binding', body, opts);
  }

  /** Evicts a pod through pods/eviction. */
  async evict(pod: { namespace: string; name: string }, deleteOptions: Omit<DeleteOptions, 'signal' | 'dryRun'> = {}, opts: WriteOptions = {}): Promise<void> {
    const body = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: pod.name, namespace: pod.namespace },
      deleteOptions: deleteBody(deleteOptions) ?? {},
    };
    await this.resource('pods').namespace(pod.namespace).createSubresource(pod.name, 'eviction', body, opts);
  }

  /** Sends a request and returns the body text; a non-2xx answer throws ApiStatusError. */
  async requestText(method: string, path: string, body: string | undefined, opts: { signal?: AbortSignal; contentType?: string } = {}): Promise<string> {
    const res = await this.transport.request(method, path, { body, contentType: opts.contentType, signal: opts.signal });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw apiErrorFrom(res.status, text);
    return text;
  }

  /** Sends a JSON request and parses the JSON answer (undefined for an empty body). */
  async requestJson(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<unknown> {
    const text = await this.requestText(method, path, body === undefined ? undefined : JSON.stringify(body), opts);
    return text.trim() === '' ? undefined : JSON.parse(text);
  }
}
