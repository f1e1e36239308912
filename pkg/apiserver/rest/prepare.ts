/**
 * What happens to an object between the request body and the store, for
 * every kind: identity checks, server-owned metadata, defaults, status
 * handling, generation, and validation. Pure functions over the objects.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { apiVersionOf, type ResourceType } from '../../api/registry.js';
import { applyDefaults } from '../../api/defaults.js';
import { asJsonObject, cloneJson, jsonEqual, type KubeObject } from '../../api/object.js';
import { unknownFields, validateObject } from '../../api/validation.js';
import { errors } from '../errors.js';

/** Kinds whose metadata.generation tracks spec changes. */
const GENERATION_KINDS = new Set(['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Service', 'Node', 'Namespace']);

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Parses the fieldValidation query parameter (default Warn, as Kubernetes). */
export function parseFieldValidation(v: string | undefined): FieldValidation {
  if (v === undefined || v === '' || v === 'Warn') return 'Warn';
  if (v === 'Strict' || v === 'Ignore') return v;
  throw errors.badRequest(`fieldValidation parameter unsupported: ${v}; must be one of Ignore, Warn, Strict`);
}

/**
 * Checks apiVersion/kind and unknown fields. Returns warnings (for Warn);
 * throws BadRequest under Strict.
 */
export function checkTypeAndFields(r: ResourceType, obj: KubeObject, validation: FieldValidation): string[] {
  const want = apiVersionOf(r);
  if (obj.apiVersion !== undefined && obj.apiVersion !== want) {
    throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${want})`);
  }
  if (obj.kind !== undefined && obj.kind !== r.kind) {
    throw errors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`);
  }
  obj.apiVersion = want;
  obj.kind = r.kind;
  if (validation === 'Ignore') return [];
  const unknown = unknownFields(r.schemaName, obj);
  if (unknown.length === 0) return [];
  const list = unknown.map((f) => `unknown field "${f}"`);
  if (validation === 'Strict') {
    throw errors.badRequest(
      `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${list.join(', ')}`,
    );
  }
  return list;
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Five random characters from Kubernetes' name-generation alphabet. */
export function randomSuffix(): string {
  const bytes = randomBytes(5);
  let s = '';
  for (const b of bytes) s += GENERATE_ALPHABET[b % GENERATE_ALPHABET.length];
  return s;
}

/**
 * Fills server-owned metadata and defaults on create. `namespace` is the
 * namespace from the path (namespaced kinds).
 */
export function prepareForCreate(r: ResourceType, obj: KubeObject, namespace: string | undefined, now: Date): void {
  const meta = obj.metadata;
  if (r.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = namespace;
  } else {
    delete meta.namespace;
  }
  if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
  meta.uid = randomUUID();
  meta.creationTimestamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if (GENERATION_KINDS.has(r.kind)) meta.generation = 1;
  else delete meta.generation;
  // A status subresource means clients cannot set status on create, except
  // the kinds whose create carries an initial status (nodes register with theirs).
  if (r.statusSubresource && r.kind !== 'Node') delete obj.status;
  applyDefaults(r.kind, obj);
}

/** Everything but metadata and status: what bumps generation when it changes. */
function specPart(o: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/**
 * Carries server-owned state from the stored object into an update of the
 * main resource (`subresource` undefined) or of `status`.
 */
export function prepareForUpdate(r: ResourceType, next: KubeObject, old: KubeObject, subresource: 'status' | undefined): void {
  const meta = next.metadata;
  const oldMeta = old.metadata;
  if (subresource === 'status') {
    // A status write changes status only (ResetObjectMetaForStatus).
    const status = next.status;
    for (const k of Object.keys(next)) delete next[k];
    // Everything but status comes from the old object. The spec is shared, not copied: `old` is this
    // request's own decoded copy and nothing mutates a status write's spec (the pod's is the bulk of it).
    for (const [k, v] of Object.entries(old)) if (k !== 'status') next[k] = k === 'spec' ? v : cloneJson(v);
    next.status = status;
    return;
  }
  meta.uid = oldMeta.uid;
  meta.creationTimestamp = oldMeta.creationTimestamp;
  meta.namespace = oldMeta.namespace;
  if (oldMeta.deletionTimestamp) {
    meta.deletionTimestamp = oldMeta.deletionTimestamp;
    meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  if (r.statusSubresource) {
    if (old.status === undefined) delete next.status;
    else next.status = cloneJson(old.status);
  }
  applyDefaults(r.kind, next);
  if (GENERATION_KINDS.has(r.kind)) {
    const oldGen = oldMeta.generation ?? 1;
    meta.generation = jsonEqual(specPart(next), specPart(old)) ? oldGen : oldGen + 1;
  } else {
    delete meta.generation;
  }
}

/** Throws Invalid when the object breaks the kind's rules. */
export function validateOrThrow(r: ResourceType, obj: KubeObject, operation: 'create' | 'update', old?: KubeObject): void {
  const causes = validateObject(r, asJsonObject(obj), { operation, old: old && asJsonObject(old) });
  if (causes.length > 0) throw errors.invalid(r, obj.metadata.name ?? '', causes);
}
