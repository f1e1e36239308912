/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`),
 * the format kubectl's client-side apply and `kubectl patch` send. Follows
 * apimachinery's strategicpatch (mergeMap / mergeSlice / $setElementOrder
 * ordering) with the patch metadata of patch-meta.ts:
 *
 * - objects merge recursively, `null` deletes a field;
 * - lists whose field has `patchStrategy: merge` merge element-wise by
 *   `patchMergeKey` (or as a set for primitives); other lists are replaced;
 * - directives: `$patch: replace|delete|merge`, `$setElementOrder/<f>`,
 *   `$deleteFromPrimitiveList/<f>`, `$retainKeys`.
 */
import { PatchError } from './errors.js';
import { cloneJson, getMember, isJsonObject, jsonTypeOf, setMember, type JsonObject, type JsonValue } from './json.js';
import { mergesList, patchMetaFor, type FieldPatchInfo, type PatchMeta } from './patch-meta.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER_PREFIX = '$setElementOrder/';
const DELETE_PRIMITIVE_PREFIX = '$deleteFromPrimitiveList/';

/** What the server knows about the object being patched. */
export interface StrategicPatchContext {
  apiVersion: string;
  kind: string;
  /** Overrides the metadata looked up from apiVersion/kind (tests, other schemas). */
  meta?: PatchMeta;
}

/** Applies a strategic merge patch to a stored object of a served kind; inputs are not modified. */
export function applyStrategicMergePatch(current: JsonObject, patch: JsonValue, ctx: StrategicPatchContext): JsonObject {
  const meta = ctx.meta ?? patchMetaFor(ctx.apiVersion, ctx.kind);
  if (meta === undefined) {
    throw new PatchError(`strategic merge patch is not supported for ${ctx.kind} (${ctx.apiVersion}); use a merge or json patch`, 415);
  }
  if (!isJsonObject(patch)) throw new PatchError(`a strategic merge patch must be a JSON object, not ${jsonTypeOf(patch)}`, 400);
  return strategicMerge(current, patch, meta);
}

/** Strategic merge of `patch` into `original` at a given position of the type graph; inputs are not modified. */
export function strategicMerge(original: JsonObject, patch: JsonObject, meta: PatchMeta): JsonObject {
  return mergeMap(cloneJson(original), cloneJson(patch), meta);
}

type ElementKind = 'object' | 'scalar';

/** Merges `patch` into `original` (both owned by us and mutated). */
function mergeMap(original: JsonObject, patch: JsonObject, meta: PatchMeta): JsonObject {
  const directive = getMember(patch, DIRECTIVE);
  if (directive !== undefined) {
    delete patch[DIRECTIVE];
    if (directive === 'replace') return cleanObject(patch);
    if (directive === 'delete') return {};
    // `$patch: merge` asks for the default behaviour explicitly.
    if (directive !== 'merge') throw new PatchError(`unknown $patch directive ${JSON.stringify(directive)} in a map`, 400);
  }
  applyRetainKeys(original, patch);
  applySetElementOrder(original, patch, meta);

  const deleteLists: [string, JsonValue][] = [];
  for (const [key, patchV] of Object.entries(patch)) {
    if (key.startsWith(DELETE_PRIMITIVE_PREFIX)) {
      deleteLists.push([fieldOfDirective(key, DELETE_PRIMITIVE_PREFIX), patchV]);
      continue;
    }
    const info = meta.field(key);
    const child = meta.child(key);
    if (patchV === null) {
      delete original[key];
      continue;
    }
    const origV = getMember(original, key);
    let merged: JsonValue | undefined;
    if (origV === undefined) {
      merged = newValue(patchV, info, child, key);
    } else if (isJsonObject(origV) && isJsonObject(patchV)) {
      merged = info.strategy === 'replace' ? cleanObject(patchV) : mergeMap(origV, patchV, child);
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      merged = mergesList(info) ? mergeSlice(origV, patchV, child, info.mergeKey, key) : cleanValue(patchV);
    } else {
      // Different JSON types, or scalars: the patch value wins.
      merged = cleanValue(patchV);
    }
    if (merged === undefined) delete original[key];
    else setMember(original, key, merged);
  }
  // Deletions from primitive lists run after additions so a patch can move
  // an item between two lists without the order of keys mattering.
  for (const [key, toDelete] of deleteLists) {
    if (!Array.isArray(toDelete)) throw new PatchError(`${DELETE_PRIMITIVE_PREFIX}${key} must be a list of primitives`, 400);
    const origV = getMember(original, key);
    if (!Array.isArray(origV)) continue;
    setMember(original, key, origV.filter((v) => !toDelete.some((d) => scalarEq(d, v))));
  }
  return original;
}

/** Value for a field absent from the original: the patch with its directives resolved. */
function newValue(patchV: JsonValue, info: FieldPatchInfo, child: PatchMeta, field: string): JsonValue | undefined {
  if (isJsonObject(patchV)) {
    if (getMember(patchV, DIRECTIVE) === 'delete') return undefined;
    return mergeMap({}, patchV, child);
  }
  if (Array.isArray(patchV)) return mergesList(info) ? mergeSlice([], patchV, child, info.mergeKey, field) : cleanValue(patchV);
  return patchV;
}

/** `$retainKeys: [...]`: drops every original field not listed (apimachinery applyRetainKeysDirective). */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  const retain = getMember(patch, RETAIN_KEYS);
  if (retain === undefined) return;
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain) || !retain.every((k): k is string => typeof k === 'string')) {
    throw new PatchError('$retainKeys must be a list of field names', 400);
  }
  const keep = new Set(retain);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE_PREFIX) || k.startsWith(SET_ORDER_PREFIX)) continue;
    if (!keep.has(k)) throw new PatchError(`field ${JSON.stringify(k)} is in the patch but not in its $retainKeys list`, 400);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * `$setElementOrder/<field>`: merges the field's list (if patched) and orders
 * the result: listed items in the given order, items only on the server
 * interleaved where they were (apimachinery mergePatchIntoOriginal).
 */
function applySetElementOrder(original: JsonObject, patch: JsonObject, meta: PatchMeta): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER_PREFIX)) continue;
    const order = patch[key];
    delete patch[key];
    const field = fieldOfDirective(key, SET_ORDER_PREFIX);
    if (!Array.isArray(order)) throw new PatchError(`${key} must be a list`, 400);
    const info = meta.field(field);
    const mergeKey = info.mergeKey ?? '';
    const origV = getMember(original, field);
    const patchV = getMember(patch, field);
    if (origV !== undefined && origV !== null && !Array.isArray(origV)) throw new PatchError(`${field} is ${jsonTypeOf(origV)}, not a list, but the patch orders it`);
    if (patchV !== undefined && patchV !== null && !Array.isArray(patchV)) throw new PatchError(`${field} in the patch is ${jsonTypeOf(patchV)}, not a list`, 400);
    const origList = Array.isArray(origV) ? origV : undefined;
    const patchList = Array.isArray(patchV) ? patchV : undefined;
    validateOrderList(patchList ?? [], order, mergeKey, field);

    let merged: JsonValue[];
    if (origList && !patchList) merged = origList;
    else if (!origList && patchList) merged = newValueList(patchList, info, meta.child(field), field);
    else if (origList && patchList) {
      merged = mergesList(info) ? mergeSlice(origList, patchList, meta.child(field), info.mergeKey, field) : cleanList(patchList);
    } else continue;
    delete patch[field];

    const kind = elementKind([origList ?? [], patchList ?? []], field);
    if (merged.length === 0 || kind === undefined || (kind === 'object' && mergeKey === '')) {
      setMember(original, field, merged);
      continue;
    }
    const inOrder = (item: JsonValue): boolean => index(order, item, mergeKey, kind) >= 0;
    if (kind === 'object') merged.forEach((item) => requireMergeKey(item, mergeKey, field));
    const patchItems = merged.filter(inOrder);
    const serverOnly = merged.filter((x) => !inOrder(x));
    setMember(original, field, normalizeElementOrder(patchItems, serverOnly, order, origList ?? [], mergeKey, kind, field));
  }
}

function newValueList(patchList: JsonValue[], info: FieldPatchInfo, child: PatchMeta, field: string): JsonValue[] {
  return mergesList(info) ? mergeSlice([], patchList, child, info.mergeKey, field) : cleanList(patchList);
}

/** Every non-deleted patch item must appear in the order list, in the same relative order. */
function validateOrderList(patchList: JsonValue[], order: JsonValue[], mergeKey: string, field: string): void {
  if (patchList.length === 0 || order.length === 0) return;
  const items = mergeKey === '' ? patchList : patchList.filter((x) => !(isJsonObject(x) && getMember(x, DIRECTIVE) !== undefined));
  let o = 0;
  for (const item of items) {
    while (o < order.length && !sameKey(item, order[o], mergeKey, field)) o++;
    if (o >= order.length) {
      throw new PatchError(`the order of ${field} in the patch does not match its $setElementOrder list`, 400);
    }
    o++;
  }
}

function sameKey(a: JsonValue, b: JsonValue, mergeKey: string, field: string): boolean {
  if (mergeKey === '') return scalarEq(a, b);
  return scalarEq(requireMergeKey(a, mergeKey, field), requireMergeKey(b, mergeKey, field));
}

function requireMergeKey(item: JsonValue, mergeKey: string, field: string): JsonValue {
  const v = isJsonObject(item) ? getMember(item, mergeKey) : undefined;
  if (v === undefined) throw new PatchError(`an element of ${field} does not contain its merge key ${JSON.stringify(mergeKey)}: ${JSON.stringify(item)}`);
  return v;
}

/** Merges two lists of a `patchStrategy: merge` field (apimachinery mergeSlice). */
function mergeSlice(original: JsonValue[], patch: JsonValue[], meta: PatchMeta, mergeKeyTag: string | undefined, field: string): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind([original, patch], field);
  if (kind === undefined) return original;
  const mergeKey = mergeKeyTag ?? '';
  let merged: JsonValue[];
  if (kind === 'scalar') {
    merged = dedupe([...original, ...patch]);
  } else {
    if (mergeKey === '') throw new PatchError(`cannot merge lists of objects without a merge key (${field})`);
    const special = applySpecialElements(original, patch, mergeKey, field);
    if (special.replaced) return special.original.map((x) => newElement(x, meta));
    original = special.original;
    patch = special.patch;
    merged = [...original];
    for (const item of patch) {
      const key = requireMergeKey(item, mergeKey, field);
      const at = merged.findIndex((o) => isJsonObject(o) && scalarEq(getMember(o, mergeKey), key));
      const existing = at >= 0 ? merged[at] : undefined;
      if (isJsonObject(existing) && isJsonObject(item)) merged[at] = mergeMap(existing, item, meta);
      else merged.push(newElement(item, meta));
    }
  }
  const inPatch = (x: JsonValue): boolean => index(patch, x, mergeKey, kind) >= 0;
  return normalizeElementOrder(merged.filter(inPatch), merged.filter((x) => !inPatch(x)), patch, original, mergeKey, kind, field);
}

function newElement(item: JsonValue, meta: PatchMeta): JsonValue {
  return isJsonObject(item) ? mergeMap({}, item, meta) : item;
}

/** Handles `$patch` elements of a list: delete by key, replace the whole list. */
function applySpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
  field: string,
): { original: JsonValue[]; patch: JsonValue[]; replaced: boolean } {
  const rest: JsonValue[] = [];
  let replaced = false;
  for (const item of patch) {
    const directive = isJsonObject(item) ? getMember(item, DIRECTIVE) : undefined;
    if (directive === undefined) {
      rest.push(item);
    } else if (directive === 'delete') {
      const key = requireMergeKey(item, mergeKey, field);
      original = original.filter((o) => !(isJsonObject(o) && scalarEq(getMember(o, mergeKey), key)));
    } else if (directive === 'replace') {
      replaced = true;
    } else if (directive !== 'merge') {
      throw new PatchError(`unknown $patch directive ${JSON.stringify(directive)} in list ${field}`, 400);
    }
  }
  return replaced ? { original: rest, patch: [], replaced } : { original, patch: rest, replaced };
}

/**
 * Orders a merged list: patch items sorted by `patchOrder`, server-only
 * items by `serverOrder`, then interleaved keeping both relative orders
 * (apimachinery normalizeElementOrder + mergeSortedSlice).
 */
function normalizeElementOrder(
  patchItems: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ElementKind,
  field: string,
): JsonValue[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, kind, field);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind, field);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      // A server-only item goes first only when both are known to the live
      // list and it came first there; otherwise the patch item leads.
      const li = index(serverOrder, left[i], mergeKey, kind);
      const ri = index(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** Stable sort by position in `order`; `$patch: delete` items go last. */
function sortByOrder(items: JsonValue[], order: JsonValue[], mergeKey: string, kind: ElementKind, field: string): JsonValue[] {
  let toDelete: JsonValue[] = [];
  if (kind === 'object') {
    items.forEach((x) => requireMergeKey(x, mergeKey, field));
    toDelete = items.filter((x) => isJsonObject(x) && getMember(x, DIRECTIVE) === 'delete');
    items = items.filter((x) => !toDelete.includes(x));
  }
  const sorted = items
    .map((item, pos) => ({ item, pos, at: index(order, item, mergeKey, kind) }))
    .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : 0) || a.pos - b.pos)
    .map((x) => x.item);
  return [...sorted, ...toDelete];
}

/** Position of `item` in `list`, comparing merge-key values for objects and values for scalars. */
function index(list: JsonValue[], item: JsonValue, mergeKey: string, kind: ElementKind): number {
  const keyOf = (x: JsonValue): JsonValue | undefined => (kind === 'object' ? (isJsonObject(x) ? getMember(x, mergeKey) : undefined) : x);
  const want = keyOf(item);
  return list.findIndex((x) => scalarEq(keyOf(x), want));
}

/** Kind of the elements of some lists; they must agree and must not be lists. */
function elementKind(lists: JsonValue[][], field: string): ElementKind | undefined {
  let kind: ElementKind | undefined;
  let scalarType: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      if (Array.isArray(v)) throw new PatchError(`lists of lists are not supported (${field})`);
      const k: ElementKind = isJsonObject(v) ? 'object' : 'scalar';
      const t = jsonTypeOf(v);
      if (kind !== undefined && (kind !== k || (k === 'scalar' && scalarType !== t))) {
        throw new PatchError(`list element types are not identical in ${field}`);
      }
      kind = k;
      scalarType = t;
    }
  }
  return kind;
}

/** Equality of merge keys and primitive list items (Go interface ==). */
function scalarEq(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return a === b;
}

function dedupe(items: JsonValue[]): JsonValue[] {
  const out: JsonValue[] = [];
  for (const v of items) if (!out.some((o) => scalarEq(o, v))) out.push(v);
  return out;
}

function fieldOfDirective(key: string, prefix: string): string {
  const field = key.slice(prefix.length);
  if (field === '') throw new PatchError(`directive ${JSON.stringify(key)} does not name a field`, 400);
  return field;
}

/** A patch value taken as is: nulls dropped, directive keys and `$patch` elements removed. */
function cleanValue(v: JsonValue): JsonValue | undefined {
  if (Array.isArray(v)) return cleanList(v);
  if (isJsonObject(v)) return getMember(v, DIRECTIVE) !== undefined ? undefined : cleanObject(v);
  return v;
}

function cleanList(list: JsonValue[]): JsonValue[] {
  const out: JsonValue[] = [];
  for (const x of list) {
    const c = cleanValue(x);
    if (c !== undefined) out.push(c);
  }
  return out;
}

function cleanObject(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER_PREFIX) || k.startsWith(DELETE_PRIMITIVE_PREFIX)) continue;
    const c = cleanValue(v);
    if (c !== undefined) setMember(out, k, c);
  }
  return out;
}
