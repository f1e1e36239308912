/**
 * The four patch types the API accepts, chosen by Content-Type, applied to
 * the stored object by the pure functions in ../patch/, with their errors
 * mapped to Status.
 */
import { asKubeObject, type KubeObject } from '../../api/object.js';
import { ApiError, errors } from '../errors.js';
import { asJsonValue, isJsonObject, type JsonObject } from '../patch/json.js';
import { applyMergePatch } from '../patch/merge-patch.js';
import { applyJsonPatch } from '../patch/json-patch.js';
import { applyStrategicMergePatch } from '../patch/strategic-merge.js';
import { serverSideApply } from '../patch/apply.js';
import { ApplyConflictError, PatchError } from '../patch/errors.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** The patch type of a PATCH request's media type; 415 for anything else. */
export function patchTypeOf(media: string): PatchType {
  const t = CONTENT_TYPES[media];
  if (!t) throw errors.unsupportedMediaType(media);
  return t;
}

export interface PatchContext {
  manager?: string;
  force?: boolean;
  now: Date;
  subresource?: 'status';
}

interface Kind {
  group: string;
  version: string;
  kind: string;
  statusSubresource?: boolean;
}

function apiVersion(k: Kind): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

function toJsonObject(o: KubeObject): JsonObject {
  const v = asJsonValue(o);
  if (!v || !isJsonObject(v)) throw errors.internal('stored object is not JSON');
  return v;
}

/**
 * Applies a patch to `current` (undefined only for apply, which then
 * creates). Returns a fresh object; `current` is left untouched.
 */
export function applyPatch(k: Kind, type: PatchType, current: KubeObject | undefined, body: unknown, ctx: PatchContext): KubeObject {
  const patch = asJsonValue(body);
  if (patch === undefined) throw errors.badRequest('the patch is not valid JSON');
  try {
    let result: JsonObject;
    if (type === 'apply') {
      if (!isJsonObject(patch)) throw errors.badRequest('an apply patch must be an object');
      if (!ctx.manager) throw errors.badRequest('PATCH requests with apply content type must have a fieldManager query parameter');
      result = serverSideApply(current ? toJsonObject(current) : undefined, patch, {
        manager: ctx.manager,
        force: ctx.force ?? false,
        apiVersion: apiVersion(k),
        now: ctx.now,
        // An apply to the main resource does not own status where status is a subresource.
        resetFields: k.statusSubresource && ctx.subresource !== 'status' ? ['status'] : undefined,
      });
    } else {
      if (!current) throw errors.internal('patch without a current object');
      const base = toJsonObject(current);
      if (type === 'json') result = applyJsonPatch(base, patch);
      else if (type === 'merge') result = applyMergePatch(base, patch);
      else result = applyStrategicMergePatch(base, patch, { apiVersion: apiVersion(k), kind: k.kind });
    }
    const obj = asKubeObject(result);
    if (!obj) throw errors.badRequest('the patch produced something that is not an object');
    return obj;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (e instanceof ApplyConflictError) {
      throw new ApiError(409, 'Conflict', e.message, { causes: e.causes().map((c) => ({ reason: c.type, message: c.message, field: c.field })) });
    }
    if (e instanceof PatchError) {
      if (e.code === 415) throw new ApiError(415, 'UnsupportedMediaType', e.message);
      if (e.code === 400) throw errors.badRequest(e.message);
      throw new ApiError(422, 'Invalid', e.message);
    }
    throw e;
  }
}
