/**
 * The generic REST operations over every registered kind: get, list,
 * create, update, patch, delete, deletecollection. HTTP concerns (query
 * parsing, content negotiation) stay in app.ts; this is the semantics.
 */
import { apiVersionOf, findResource, type ResourceType } from '../../api/registry.js';
import { asJsonObject, asKubeObject, type KubeObject } from '../../api/object.js';
import { recordUpdate } from '../patch/apply.js';
import { ConflictError, KeyExistsError, KeyNotFoundError, CompactedError, FutureRevisionError } from '../../../embedded-store/errors.js';
import { ApiError, errors } from '../errors.js';
import { objectKey, type ObjectStore } from '../storage.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { checkTypeAndFields, prepareForCreate, prepareForUpdate, validateOrThrow, type FieldValidation } from './prepare.js';
import { NO_EFFECTS, type KindHooks, type WriteEffects } from './hooks.js';
import { applyPatch, type PatchType } from './patch.js';
import { deletionPlan, finalizersPending, type DeleteOptions } from './delete-plan.js';

export interface WriteOptions {
  dryRun: boolean;
  fieldValidation: FieldValidation;
  fieldManager?: string;
  force?: boolean;
}

export interface WriteResult {
  object: KubeObject;
  /** True when the write created the object (201). */
  created: boolean;
  warnings: string[];
}

export interface DeleteResult {
  object: KubeObject;
  /** False when deletion is pending (graceful or finalizers): 202. */
  deleted: boolean;
}

export interface ListQuery {
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  keep?: (o: KubeObject) => boolean;
}

export interface ListOutput {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

const NAMESPACES = findResource('', 'v1', 'namespaces')!;
/** Kinds whose PUT creates a missing object, as in Kubernetes. */
const CREATE_ON_UPDATE = new Set(['Endpoints', 'Lease', 'Event', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const MAX_PATCH_RETRIES = 5;

/** Maps store errors to API errors for one object. */
export function storeError(e: unknown, r: ResourceType, name: string): unknown {
  if (e instanceof KeyExistsError) return errors.alreadyExists(r, name);
  if (e instanceof KeyNotFoundError) return errors.notFound(r, name);
  if (e instanceof ConflictError) return errors.conflict(r, name);
  if (e instanceof CompactedError) return errors.expired(`too old resource version: ${e.requestedRevision} (${e.compactedRevision})`);
  if (e instanceof FutureRevisionError) {
    return new ApiError(504, 'Timeout', `Too large resource version: ${e.requestedRevision}, current: ${e.currentRevision}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
  return e;
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

function encodeContinue(rv: number, start: string): string {
  const t: ContinueToken = { v: 'meta.k8s.io/v1', rv, start };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (t.v === 'meta.k8s.io/v1' && typeof t.rv === 'number' && typeof t.start === 'string') return t as ContinueToken;
  } catch {
    // fall through to the error below
  }
  throw errors.badRequest('invalid continue token');
}

function parseRevision(rv: string): number {
  if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}

export class Rest {
  /** Read-modify-write operations on one object take turns (no CAS storms between our own handlers). */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly store: ObjectStore,
    private readonly hooks: Partial<Record<string, KindHooks>>,
    private readonly now: () => Date,
  ) {}

  async get(r: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    const obj = await this.store.get(r, namespace, name);
    if (!obj) throw errors.notFound(r, name);
    return obj;
  }

  async list(r: ResourceType, namespace: string | undefined, q: ListQuery): Promise<ListOutput> {
    let revision = 0;
    let startAfter: string | undefined;
    if (q.continueToken) {
      const t = decodeContinue(q.continueToken);
      revision = t.rv;
      startAfter = t.start;
    } else if (q.resourceVersion && q.resourceVersion !== '0' && q.resourceVersionMatch === 'Exact') {
      revision = parseRevision(q.resourceVersion);
    } else if (q.resourceVersion && q.resourceVersion !== '0') {
      // NotOlderThan: the latest state satisfies it unless the client is ahead of us.
      const want = parseRevision(q.resourceVersion);
      const current = this.store.backend.currentRevision();
      if (want > current) throw storeError(new FutureRevisionError(want, current), r, '');
    }
    let out;
    try {
      out = await this.store.list(r, namespace, { limit: q.limit, startAfter, revision, keep: q.keep });
    } catch (e) {
      if (e instanceof CompactedError && q.continueToken) {
        throw errors.expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      throw storeError(e, r, '');
    }
    const result: ListOutput = { items: out.items, resourceVersion: String(out.revision) };
    if (out.lastKey !== undefined) {
      result.continueToken = encodeContinue(out.revision, out.lastKey);
      if (!q.keep) result.remainingItemCount = out.remaining;
    }
    return result;
  }

  private async checkNamespace(r: ResourceType, namespace: string | undefined, name: string): Promise<void> {
    if (!r.namespaced) return;
    if (!namespace) throw errors.badRequest('the server could not find the requested resource: a namespace is required');
    const ns = await this.store.get(NAMESPACES, undefined, namespace);
    if (!ns) throw errors.notFound(NAMESPACES, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw errors.forbidden(
        `${r.group ? `${r.plural}.${r.group}` : r.plural} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  async create(r: ResourceType, namespace: string | undefined, body: KubeObject, opts: WriteOptions): Promise<WriteResult> {
    const warnings = checkTypeAndFields(r, body, opts.fieldValidation);
    // The body is ours (a request's, freshly decoded): it becomes the stored object, no copy.
    let obj = body;
    prepareForCreate(r, obj, namespace, this.now());
    obj = this.hooks[r.kind]?.admitCreate?.(obj) ?? obj;
    const name = obj.metadata.name;
    if (!name) {
      throw errors.invalid(r, '', [{ reason: 'FieldValueRequired', message: 'name or generateName is required', field: 'metadata.name' }]);
    }
    await this.checkNamespace(r, obj.metadata.namespace, name);
    validateOrThrow(r, obj, 'create');
    const tracked = this.trackManager(r, undefined, obj, opts.fieldManager);
    return { object: await this.storeNew(r, tracked, opts.dryRun), created: true, warnings };
  }

  private async storeNew(r: ResourceType, obj: KubeObject, dryRun: boolean): Promise<KubeObject> {
    const name = obj.metadata.name ?? '';
    const effects: WriteEffects = this.hooks[r.kind]?.beforeCreate?.(obj) ?? NO_EFFECTS;
    if (dryRun) {
      effects.rollback();
      if (await this.store.get(r, obj.metadata.namespace, name)) throw errors.alreadyExists(r, name);
      return obj;
    }
    try {
      const stored = await this.store.create(r, obj);
      effects.commit();
      return stored;
    } catch (e) {
      effects.rollback();
      throw storeError(e, r, name);
    }
  }

  /** PUT of the main resource or of its status. */
  async update(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    opts: WriteOptions,
    subresource?: 'status',
  ): Promise<WriteResult> {
    const warnings = checkTypeAndFields(r, body, opts.fieldValidation);
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (r.namespaced && body.metadata.namespace && body.metadata.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    body.metadata.name = name;
    return this.locks.run(objectKey(r, namespace, name), () => this.updateLocked(r, namespace, name, body, opts, warnings, subresource));
  }

  private async updateLocked(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    opts: WriteOptions,
    warnings: string[],
    subresource?: 'status',
  ): Promise<WriteResult> {
    const old = await this.store.get(r, namespace, name);
    if (!old) {
      if (CREATE_ON_UPDATE.has(r.kind) && subresource === undefined) {
        return this.create(r, namespace, body, opts).then((res) => ({ ...res, warnings: [...warnings, ...res.warnings] }));
      }
      throw errors.notFound(r, name);
    }
    const expected = body.metadata.resourceVersion ? parseRevision(body.metadata.resourceVersion) : Number(old.metadata.resourceVersion);
    if (expected !== Number(old.metadata.resourceVersion)) throw errors.conflict(r, name);
    const object = await this.replace(r, body, old, expected, opts, subresource);
    return { object, created: false, warnings };
  }

  /**
   * Records the write in metadata.managedFields as an 'Update' by `manager`
   * (an apply already carries its own entries, which this keeps).
   */
  private trackManager(r: ResourceType, old: KubeObject | undefined, next: KubeObject, manager: string | undefined, subresource?: 'status'): KubeObject {
    const recorded = recordUpdate(old && asJsonObject(old), asJsonObject(next), manager || 'unknown', this.now(), {
      apiVersion: apiVersionOf(r),
      subresource,
    });
    const obj = asKubeObject(recorded);
    if (!obj) throw errors.internal('managed fields lost the object');
    if (next.metadata.resourceVersion !== undefined) obj.metadata.resourceVersion = next.metadata.resourceVersion;
    return obj;
  }

  /**
   * Stores `next` over `old` (CAS on `expected`): the shared tail of update
   * and patch. An object whose deletion is pending and whose last finalizer
   * went away is deleted instead.
   */
  private async replace(
    r: ResourceType,
    next: KubeObject,
    old: KubeObject,
    expected: number,
    opts: WriteOptions,
    subresource?: 'status',
  ): Promise<KubeObject> {
    const name = old.metadata.name ?? '';
    const dryRun = opts.dryRun;
    prepareForUpdate(r, next, old, subresource);
    this.hooks[r.kind]?.prepareUpdate?.(next, old);
    validateOrThrow(r, next, 'update', old);
    next = this.trackManager(r, old, next, opts.fieldManager, subresource);
    if (next.metadata.deletionTimestamp && !finalizersPending(r, next) && !this.gracePending(r, next)) {
      if (dryRun) return next;
      try {
        const gone = await this.store.delete(r, old.metadata.namespace, name, expected);
        this.hooks[r.kind]?.afterDelete?.(gone);
        return gone;
      } catch (e) {
        throw storeError(e, r, name);
      }
    }
    const effects: WriteEffects = this.hooks[r.kind]?.beforeUpdate?.(next, old) ?? NO_EFFECTS;
    if (dryRun) {
      effects.rollback();
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      return next;
    }
    try {
      const stored = await this.store.update(r, next, expected);
      effects.commit();
      return stored;
    } catch (e) {
      effects.rollback();
      throw storeError(e, r, name);
    }
  }

  /** A pod still inside its termination grace period waits for its node. */
  private gracePending(r: ResourceType, o: KubeObject): boolean {
    return r.kind === 'Pod' && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  async patch(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts: WriteOptions,
    subresource?: 'status',
  ): Promise<WriteResult> {
    return this.locks.run(objectKey(r, namespace, name), () => this.patchLocked(r, namespace, name, type, patchBody, opts, subresource));
  }

  private async patchLocked(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patchBody: unknown,
    opts: WriteOptions,
    subresource?: 'status',
  ): Promise<WriteResult> {
    for (let attempt = 0; ; attempt++) {
      const old = await this.store.get(r, namespace, name);
      if (!old) {
        if (type !== 'apply') throw errors.notFound(r, name);
        const applied = applyPatch(r, type, undefined, patchBody, { manager: opts.fieldManager, force: opts.force, now: this.now(), subresource });
        if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
          throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
        }
        applied.metadata.name = name;
        return this.create(r, namespace, applied, opts);
      }
      // Patch a view without resourceVersion: one found in the result came from the patch (a precondition).
      // The patch functions never modify their input, so a shallow copy is enough.
      const { resourceVersion: _stored, ...baseMeta } = old.metadata;
      const base: KubeObject = { ...old, metadata: baseMeta };
      const patched = applyPatch(r, type, base, patchBody, { manager: opts.fieldManager, force: opts.force, now: this.now(), subresource });
      const warnings = checkTypeAndFields(r, patched, opts.fieldValidation);
      if (patched.metadata.name !== name) throw errors.badRequest(`the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${name})`);
      const current = Number(old.metadata.resourceVersion);
      // A resourceVersion inside the patch is a precondition, not a value.
      const precondition = patched.metadata.resourceVersion;
      if (precondition && precondition !== old.metadata.resourceVersion) throw errors.conflict(r, name);
      try {
        const object = await this.replace(r, patched, old, current, opts, subresource);
        return { object, created: false, warnings };
      } catch (e) {
        const retryable = e instanceof ApiError && e.reason === 'Conflict' && !precondition && attempt < MAX_PATCH_RETRIES;
        if (!retryable) throw e;
      }
    }
  }

  /**
   * Read-modify-write of a stored object by server-side code (binding,
   * finalize), retried on conflict; `change` throws to refuse. Skips the
   * update validation that guards user writes (e.g. spec.nodeName is
   * immutable for users but set by a binding). Deletes the object when the
   * change released the last finalizer of a deleting object.
   */
  async mutate(r: ResourceType, namespace: string | undefined, name: string, change: (o: KubeObject) => void, dryRun = false): Promise<KubeObject> {
    return this.locks.run(objectKey(r, namespace, name), () => this.mutateLocked(r, namespace, name, change, dryRun));
  }

  private async mutateLocked(r: ResourceType, namespace: string | undefined, name: string, change: (o: KubeObject) => void, dryRun: boolean): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      // A fresh read is ours to change in place.
      const next = await this.store.get(r, namespace, name);
      if (!next) throw errors.notFound(r, name);
      const revision = Number(next.metadata.resourceVersion);
      change(next);
      if (dryRun) return next;
      try {
        if (next.metadata.deletionTimestamp && !finalizersPending(r, next) && !this.gracePending(r, next)) {
          const gone = await this.store.delete(r, namespace, name, revision);
          this.hooks[r.kind]?.afterDelete?.(gone);
          return gone;
        }
        return await this.store.update(r, next, revision);
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_PATCH_RETRIES) continue;
        throw storeError(e, r, name);
      }
    }
  }

  async delete(r: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions, dryRun: boolean): Promise<DeleteResult> {
    return this.locks.run(objectKey(r, namespace, name), () => this.deleteLocked(r, namespace, name, options, dryRun));
  }

  private async deleteLocked(r: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions, dryRun: boolean): Promise<DeleteResult> {
    for (let attempt = 0; ; attempt++) {
      const old = await this.store.get(r, namespace, name);
      if (!old) throw errors.notFound(r, name);
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== old.metadata.uid) {
        throw errors.conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw errors.conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      const plan = deletionPlan(r, old, options, this.now());
      const expected = Number(old.metadata.resourceVersion);
      try {
        if (plan.type === 'now') {
          if (dryRun) return { object: old, deleted: true };
          const gone = await this.store.delete(r, namespace, name, expected);
          this.hooks[r.kind]?.afterDelete?.(gone);
          return { object: gone, deleted: true };
        }
        if (plan.type === 'unchanged') return { object: old, deleted: false };
        if (dryRun) return { object: plan.object, deleted: false };
        const stored = await this.store.update(r, plan.object, expected);
        return { object: stored, deleted: false };
      } catch (e) {
        if (e instanceof ConflictError && attempt < MAX_PATCH_RETRIES) continue;
        if (e instanceof KeyNotFoundError) throw errors.notFound(r, name);
        throw storeError(e, r, name);
      }
    }
  }

  /** Deletes every object of the collection `keep` accepts; returns what it deleted or marked. */
  async deleteCollection(r: ResourceType, namespace: string | undefined, q: ListQuery, options: DeleteOptions, dryRun: boolean): Promise<ListOutput> {
    const listed = await this.list(r, namespace, { ...q, limit: undefined, continueToken: undefined });
    const items: KubeObject[] = [];
    for (const o of listed.items) {
      try {
        const res = await this.delete(r, o.metadata.namespace, o.metadata.name ?? '', options, dryRun);
        items.push(res.object);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return { items, resourceVersion: String(this.store.backend.currentRevision()) };
  }
}
