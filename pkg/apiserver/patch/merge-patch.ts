/**
 * RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge
 * recursively, `null` deletes a member, anything else (arrays included)
 * replaces the target wholesale.
 */
import { PatchError } from './errors.js';
import { cloneJson, getMember, isJsonObject, setMember, type JsonObject, type JsonValue } from './json.js';

/** RFC 7386 MergePatch(target, patch); `target` undefined means "absent". Returns a fresh value; inputs are not modified. */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  return mergeInPlace(target === undefined ? undefined : cloneJson(target), patch);
}

/** The RFC algorithm on a target the caller owns (it is reused, not copied). */
function mergeInPlace(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? target : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete out[name];
    else setMember(out, name, mergeInPlace(getMember(out, name), value));
  }
  return out;
}

/** Applies a merge patch to a stored object; the patch must be a JSON object (400 otherwise). */
export function applyMergePatch(current: JsonObject, patch: JsonValue): JsonObject {
  if (!isJsonObject(patch)) {
    throw new PatchError('a merge patch must be a JSON object', 400);
  }
  const out = mergePatch(current, patch);
  // mergePatch of an object patch always yields an object; the check keeps the type honest.
  if (!isJsonObject(out)) throw new PatchError('merge patch did not produce an object');
  return out;
}
