/**
 * Field sets as server-side apply records them in `metadata.managedFields`
 * (fieldsType FieldsV1): a path is a list of elements written the way
 * structured-merge-diff writes them — `f:<field>`, `k:<json key object>` for
 * an element of a keyed list, `v:<json value>` for an element of a set —
 * and a set of paths serialises as nested objects where `.` marks a path
 * that is itself a member and also has members below it.
 */
import { PatchError } from './errors.js';
import { asJsonValue, getMember, isJsonObject, jsonEqual, setMember, type JsonObject, type JsonValue } from './json.js';
import { mergesList, type FieldPatchInfo, type PatchMeta } from './patch-meta.js';

export type FieldPath = readonly string[];

/** One entry of `metadata.managedFields`. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** Set key of a path: elements escaped and joined by newlines, so a prefix's key is a prefix of the string. */
function pathKey(path: FieldPath): string {
  let key = '';
  for (const el of path) key += escapeElement(el) + '\n';
  return key;
}

function escapeElement(el: string): string {
  return el.includes('\\') || el.includes('\n') ? el.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : el;
}

/** A set of field paths. */
export class FieldSet {
  private readonly paths = new Map<string, FieldPath>();
  private prefixCache: Set<string> | undefined;

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Parses a FieldsV1 object (PatchError 400 when it is not one). */
  static fromFieldsV1(fields: JsonValue): FieldSet {
    const s = new FieldSet();
    const walk = (node: JsonValue, prefix: string[]): void => {
      if (!isJsonObject(node)) throw new PatchError(`invalid fieldsV1 at ${prefix.join('')}: not an object`, 400);
      const keys = Object.keys(node);
      if (keys.length === 0 && prefix.length > 0) s.insert(prefix);
      for (const k of keys) {
        if (k === '.') {
          if (prefix.length > 0) s.insert(prefix);
          continue;
        }
        if (!/^[fkvi]:/.test(k)) throw new PatchError(`invalid fieldsV1 key ${JSON.stringify(k)}`, 400);
        walk(node[k], [...prefix, k]);
      }
    };
    walk(fields, []);
    return s;
  }

  get size(): number {
    return this.paths.size;
  }

  insert(path: FieldPath): void {
    this.prefixCache = undefined;
    this.paths.set(pathKey(path), [...path]);
  }

  has(path: FieldPath): boolean {
    return this.paths.has(pathKey(path));
  }

  delete(path: FieldPath): void {
    this.prefixCache = undefined;
    this.paths.delete(pathKey(path));
  }

  [Symbol.iterator](): IterableIterator<FieldPath> {
    return this.paths.values();
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.of([...this, ...other]);
  }

  difference(other: FieldSet): FieldSet {
    return FieldSet.of([...this].filter((p) => !other.has(p)));
  }

  intersection(other: FieldSet): FieldSet {
    return FieldSet.of([...this].filter((p) => other.has(p)));
  }

  equals(other: FieldSet): boolean {
    return this.size === other.size && [...this].every((p) => other.has(p));
  }

  /** True when some member lies strictly below `path`. */
  hasDescendant(path: FieldPath): boolean {
    if (this.prefixCache === undefined) {
      // Built once per set state: every strict prefix of every member.
      this.prefixCache = new Set();
      for (const key of this.paths.keys()) {
        for (let i = key.indexOf('\n'); i >= 0 && i < key.length - 1; i = key.indexOf('\n', i + 1)) this.prefixCache.add(key.slice(0, i + 1));
        this.prefixCache.add('');
      }
    }
    return this.prefixCache.has(pathKey(path));
  }

  /** Members with no member below them. */
  leaves(): FieldPath[] {
    return [...this].filter((p) => !this.hasDescendant(p));
  }

  /** The FieldsV1 object, keys sorted as Kubernetes writes them (`.` first). */
  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    for (const p of this) {
      let node = root;
      for (const el of p) {
        let next = getMember(node, el);
        if (!isJsonObject(next)) {
          next = {};
          setMember(node, el, next);
        }
        node = next;
      }
      node['.'] = {};
    }
    // A member without children is written as `{}`, not `{".": {}}`.
    const finish = (node: JsonObject): JsonObject => {
      const keys = Object.keys(node).filter((k) => k !== '.').sort();
      if (keys.length === 0) return {};
      const out: JsonObject = {};
      if (Object.hasOwn(node, '.')) out['.'] = {};
      for (const k of keys) {
        const child = node[k];
        setMember(out, k, isJsonObject(child) ? finish(child) : {});
      }
      return out;
    };
    return finish(root);
  }
}

/** Fields the server owns: never part of a manager's set. */
const IGNORED_TOP = new Set(['apiVersion', 'kind']);
const IGNORED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
]);

/** Maps with arbitrary keys: an Update that adds one also owns the map itself (`.`), as Kubernetes records it. */
const GRANULAR_MAPS = new Set(['labels', 'annotations', 'data', 'binaryData', 'stringData', 'limits', 'requests', 'capacity', 'allocatable']);

/** Key fields Kubernetes defaults, so that a key is the same before and after defaulting (ports' protocol). */
const KEY_DEFAULTS: Readonly<Record<string, JsonValue>> = { protocol: 'TCP' };

export type ListShape = { kind: 'keyed'; keys: readonly string[] } | { kind: 'set' } | { kind: 'atomic' };

/** How server-side apply treats a list field. */
export function listShape(info: FieldPatchInfo): ListShape {
  if (info.listType === 'map' || (mergesList(info) && info.mergeKey !== undefined)) {
    const keys = info.listMapKeys ?? (info.mergeKey === undefined ? [] : [info.mergeKey]);
    if (keys.length > 0) return { kind: 'keyed', keys };
  }
  if (info.listType === 'set' || (mergesList(info) && info.mergeKey === undefined)) return { kind: 'set' };
  return { kind: 'atomic' };
}

/** The `k:` element of a keyed-list item, or undefined when the item is not an object. */
export function keyElement(item: JsonValue, keys: readonly string[]): string | undefined {
  if (!isJsonObject(item)) return undefined;
  const key: JsonObject = {};
  for (const k of [...keys].sort()) {
    const v = getMember(item, k) ?? (Object.hasOwn(KEY_DEFAULTS, k) ? KEY_DEFAULTS[k] : undefined);
    if (v !== undefined) setMember(key, k, v);
  }
  return `k:${JSON.stringify(key)}`;
}

/** The `v:` element of a set item. */
export function valueElement(item: JsonValue): string {
  return `v:${JSON.stringify(item)}`;
}

/**
 * The set of fields an object sets (structured-merge-diff ToFieldSet):
 * scalars, nulls, empty objects, atomic lists and maps, and the items of
 * keyed lists and sets. With `markMaps`, non-empty granular maps are members
 * too (as an Update that creates them records).
 */
export function fieldSetOf(obj: JsonObject, meta: PatchMeta, markMaps = false): FieldSet {
  const set = new FieldSet();
  const walkObject = (o: JsonObject, m: PatchMeta, path: string[], top: 'root' | 'metadata' | undefined): void => {
    for (const [k, v] of Object.entries(o)) {
      if (top === 'root' && IGNORED_TOP.has(k)) continue;
      if (top === 'metadata' && IGNORED_METADATA.has(k)) continue;
      const p = [...path, `f:${k}`];
      walkValue(v, m.field(k), m.child(k), p, top === 'root' && k === 'metadata' ? 'metadata' : undefined, k);
    }
  };
  const walkValue = (v: JsonValue, info: FieldPatchInfo, m: PatchMeta, path: string[], top: 'metadata' | undefined, name: string): void => {
    if (isJsonObject(v)) {
      if (info.mapType === 'atomic' || Object.keys(v).length === 0) {
        set.insert(path);
        return;
      }
      if (markMaps && GRANULAR_MAPS.has(name)) set.insert(path);
      walkObject(v, m, path, top);
      return;
    }
    if (Array.isArray(v)) {
      const shape = listShape(info);
      if (shape.kind === 'set') {
        for (const item of v) set.insert([...path, valueElement(item)]);
      } else if (shape.kind === 'keyed' && v.every(isJsonObject)) {
        for (const item of v) {
          const el = keyElement(item, shape.keys);
          if (el === undefined || !isJsonObject(item)) continue;
          const p = [...path, el];
          set.insert(p);
          walkObject(item, m, p, undefined);
        }
      } else {
        set.insert(path);
      }
      return;
    }
    set.insert(path);
  };
  walkObject(obj, meta, [], 'root');
  return set;
}

/** The value at a field path, or undefined when absent. */
export function valueAt(obj: JsonValue, path: FieldPath): JsonValue | undefined {
  let node: JsonValue | undefined = obj;
  for (const el of path) {
    if (node === undefined) return undefined;
    node = step(node, el)?.value;
  }
  return node;
}

/** One step of a path: the child value and how to remove it from its parent. */
function step(node: JsonValue, el: string): { value: JsonValue; remove: () => void } | undefined {
  if (el.startsWith('f:')) {
    if (!isJsonObject(node)) return undefined;
    const name = el.slice(2);
    const value = getMember(node, name);
    return value === undefined ? undefined : { value, remove: () => delete node[name] };
  }
  if (!Array.isArray(node)) return undefined;
  let at = -1;
  if (el.startsWith('k:')) {
    const key = parseElementJson(el);
    if (!isJsonObject(key)) return undefined;
    const fields = Object.entries(key);
    at = node.findIndex(
      (item) =>
        isJsonObject(item) &&
        fields.every(([k, v]) => jsonEqual(getMember(item, k) ?? (Object.hasOwn(KEY_DEFAULTS, k) ? KEY_DEFAULTS[k] : undefined), v)),
    );
  } else if (el.startsWith('v:')) {
    const want = parseElementJson(el);
    at = node.findIndex((item) => jsonEqual(item, want));
  } else if (el.startsWith('i:')) {
    at = Number(el.slice(2));
  }
  if (at < 0 || at >= node.length) return undefined;
  return { value: node[at], remove: () => node.splice(at, 1) };
}

function parseElementJson(el: string): JsonValue | undefined {
  try {
    return asJsonValue(JSON.parse(el.slice(2)));
  } catch {
    return undefined;
  }
}

/** Removes the value at a path from `obj` (mutated); no-op when absent. */
export function removeAt(obj: JsonObject, path: FieldPath): void {
  let node: JsonValue = obj;
  for (let i = 0; i < path.length; i++) {
    const s = step(node, path[i]);
    if (s === undefined) return;
    if (i === path.length - 1) s.remove();
    else node = s.value;
  }
}

/** A path as Kubernetes prints it in conflicts: `.spec.containers[name="c"].image`, `.metadata.finalizers[="x"]`. */
export function formatPath(path: FieldPath): string {
  return path
    .map((el) => {
      const body = el.slice(2);
      if (el.startsWith('f:')) return `.${body}`;
      if (el.startsWith('v:')) return `[=${body}]`;
      if (el.startsWith('i:')) return `[${body}]`;
      const key = parseElementJson(el);
      if (!isJsonObject(key)) return `[${body}]`;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}
