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

interface Node {
  member: boolean;
  children: Map<string, Node>;
}

const newNode = (): Node => ({ member: false, children: new Map() });

/**
 * A set of field paths, kept as a tree (like FieldsV1 itself). Invariant:
 * a node that is not a member has children, so "has members below" is
 * "has children".
 */
export class FieldSet {
  private readonly root: Node = newNode();
  private count = 0;

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Parses a FieldsV1 object (PatchError 400 when it is not one). */
  static fromFieldsV1(fields: JsonValue): FieldSet {
    const s = new FieldSet();
    const walk = (json: JsonValue, node: Node, at: string): void => {
      if (!isJsonObject(json)) throw new PatchError(`invalid fieldsV1 at ${at}: not an object`, 400);
      const keys = Object.keys(json);
      if (node !== s.root && (keys.length === 0 || Object.hasOwn(json, '.'))) {
        node.member = true;
        s.count++;
      }
      for (const k of keys) {
        if (k === '.') continue;
        if (!/^[fkvi]:/.test(k)) throw new PatchError(`invalid fieldsV1 key ${JSON.stringify(k)} at ${at}`, 400);
        const child = newNode();
        node.children.set(k, child);
        walk(json[k], child, `${at}/${k}`);
      }
      // `{"f:x": {"f:y": {}}}` style entries without any member leaves would break the invariant.
      for (const [k, child] of node.children) if (!child.member && child.children.size === 0) node.children.delete(k);
    };
    walk(fields, s.root, '');
    return s;
  }

  get size(): number {
    return this.count;
  }

  insert(path: FieldPath): void {
    let node = this.root;
    for (const el of path) {
      let next = node.children.get(el);
      if (next === undefined) {
        next = newNode();
        node.children.set(el, next);
      }
      node = next;
    }
    if (!node.member && node !== this.root) {
      node.member = true;
      this.count++;
    }
  }

  private find(path: FieldPath): Node | undefined {
    let node: Node | undefined = this.root;
    for (const el of path) {
      node = node.children.get(el);
      if (node === undefined) return undefined;
    }
    return node;
  }

  has(path: FieldPath): boolean {
    return path.length > 0 && this.find(path)?.member === true;
  }

  delete(path: FieldPath): void {
    const trail: Node[] = [this.root];
    for (const el of path) {
      const next = trail[trail.length - 1].children.get(el);
      if (next === undefined) return;
      trail.push(next);
    }
    const node = trail[trail.length - 1];
    if (!node.member || node === this.root) return;
    node.member = false;
    this.count--;
    // Restore the invariant: drop ancestors left with neither membership nor children.
    for (let i = path.length; i > 0; i--) {
      const n = trail[i];
      if (n.member || n.children.size > 0) break;
      trail[i - 1].children.delete(path[i - 1]);
    }
  }

  *[Symbol.iterator](): IterableIterator<FieldPath> {
    const stack: { node: Node; path: string[] }[] = [{ node: this.root, path: [] }];
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
      if (item.node.member) yield item.path;
      for (const [el, child] of item.node.children) stack.push({ node: child, path: [...item.path, el] });
    }
  }

  /** Adds every member of `other` (in place). */
  addAll(other: FieldSet): void {
    for (const p of other) this.insert(p);
  }

  /** Removes every member of `other` (in place; their descendants stay); returns how many were members here. */
  removeAll(other: FieldSet): number {
    let removed = 0;
    for (const p of other) {
      if (!this.has(p)) continue;
      this.delete(p);
      removed++;
    }
    return removed;
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
    const node = this.find(path);
    return node !== undefined && node.children.size > 0;
  }

  /** Members with no member below them. */
  leaves(): FieldPath[] {
    return [...this].filter((p) => !this.hasDescendant(p));
  }

  /** The FieldsV1 object, keys sorted as Kubernetes writes them (`.` first). */
  toFieldsV1(): JsonObject {
    const write = (node: Node): JsonObject => {
      const out: JsonObject = {};
      if (node.children.size === 0) return out;
      if (node.member) out['.'] = {};
      for (const k of [...node.children.keys()].sort()) {
        const child = node.children.get(k);
        if (child) setMember(out, k, write(child));
      }
      return out;
    };
    return write(this.root);
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

type Top = 'root' | 'metadata' | undefined;

/** Fields never tracked: apiVersion/kind at the top, server-owned metadata. */
function ignoredField(top: Top, k: string): boolean {
  return (top === 'root' && IGNORED_TOP.has(k)) || (top === 'metadata' && IGNORED_METADATA.has(k));
}

function childTop(top: Top, k: string): Top {
  return top === 'root' && k === 'metadata' ? 'metadata' : undefined;
}

/** How a value contributes to a field set: a member leaf, a map of fields, a set or a keyed list. */
type ValueKind = 'leaf' | 'map' | 'set' | 'keyed';

function valueKind(v: JsonValue, info: FieldPatchInfo): { kind: ValueKind; keys?: readonly string[] } {
  if (isJsonObject(v)) return info.mapType === 'atomic' || Object.keys(v).length === 0 ? { kind: 'leaf' } : { kind: 'map' };
  if (Array.isArray(v)) {
    const shape = listShape(info);
    if (shape.kind === 'set') return { kind: 'set' };
    if (shape.kind === 'keyed' && v.every(isJsonObject)) return { kind: 'keyed', keys: shape.keys };
  }
  return { kind: 'leaf' };
}

/** Adds the paths a value sets, below `path`, to a set (the walk behind fieldSetOf). */
class FieldWalker {
  constructor(private readonly markMaps: boolean) {}

  object(o: JsonObject, m: PatchMeta, path: string[], top: Top, into: FieldSet): void {
    for (const k of Object.keys(o)) {
      if (ignoredField(top, k)) continue;
      this.value(o[k], m.field(k), m.child(k), [...path, `f:${k}`], childTop(top, k), k, into);
    }
  }

  value(v: JsonValue, info: FieldPatchInfo, m: PatchMeta, path: string[], top: Top, name: string, into: FieldSet): void {
    const { kind, keys } = valueKind(v, info);
    if (kind === 'map' && isJsonObject(v)) {
      if (this.markMaps && GRANULAR_MAPS.has(name)) into.insert(path);
      this.object(v, m, path, top, into);
    } else if (kind === 'set' && Array.isArray(v)) {
      for (const item of v) into.insert([...path, valueElement(item)]);
    } else if (kind === 'keyed' && Array.isArray(v) && keys) {
      for (const item of v) {
        const el = keyElement(item, keys);
        if (el === undefined || !isJsonObject(item)) continue;
        const p = [...path, el];
        into.insert(p);
        this.object(item, m, p, undefined, into);
      }
    } else {
      into.insert(path);
    }
  }
}

/**
 * The set of fields an object sets (structured-merge-diff ToFieldSet):
 * scalars, nulls, empty objects, atomic lists and maps, and the items of
 * keyed lists and sets. With `markMaps`, non-empty granular maps are members
 * too (as an Update that creates them records).
 */
export function fieldSetOf(obj: JsonObject, meta: PatchMeta, markMaps = false): FieldSet {
  const set = new FieldSet();
  new FieldWalker(markMaps).object(obj, meta, [], 'root', set);
  return set;
}

/**
 * What an update changed, as recordUpdate needs it, without building both
 * objects' whole field sets (the cost of every write): `removed` is
 * fieldSetOf(old) − fieldSetOf(new), and `changed` the new set's paths that
 * the old set lacks plus leaves (in both) whose value differs — both with
 * granular maps marked. Walks old and new side by side and skips subtrees
 * that are the same object.
 */
export function diffFieldSets(oldObj: JsonObject, newObj: JsonObject, meta: PatchMeta): { changed: FieldSet; removed: FieldSet } {
  const walker = new FieldWalker(true);
  const changed = new FieldSet();
  const removed = new FieldSet();

  // Shapes differ (e.g. an empty map became a full one): compare the two subtrees' sets.
  const diffSubtree = (ov: JsonValue, nv: JsonValue, info: FieldPatchInfo, m: PatchMeta, path: string[], top: Top, name: string): void => {
    const before = new FieldSet();
    const after = new FieldSet();
    walker.value(ov, info, m, path, top, name, before);
    walker.value(nv, info, m, path, top, name, after);
    for (const p of before) if (!after.has(p)) removed.insert(p);
    for (const p of after) {
      const leafInBoth = before.has(p) && !after.hasDescendant(p) && !before.hasDescendant(p);
      if (!before.has(p) || (leafInBoth && !jsonEqual(valueAt(oldObj, p), valueAt(newObj, p)))) changed.insert(p);
    }
  };

  const diffObject = (o: JsonObject, n: JsonObject, m: PatchMeta, path: string[], top: Top): void => {
    for (const k of Object.keys(n)) {
      if (ignoredField(top, k)) continue;
      const nv = n[k];
      const ov = getMember(o, k);
      if (ov === nv) continue;
      const p = [...path, `f:${k}`];
      if (ov === undefined) walker.value(nv, m.field(k), m.child(k), p, childTop(top, k), k, changed);
      else diffValue(ov, nv, m.field(k), m.child(k), p, childTop(top, k), k);
    }
    for (const k of Object.keys(o)) {
      if (ignoredField(top, k) || getMember(n, k) !== undefined) continue;
      walker.value(o[k], m.field(k), m.child(k), [...path, `f:${k}`], childTop(top, k), k, removed);
    }
  };

  const keyedItems = (list: JsonValue[], keys: readonly string[]): Map<string, JsonObject> | undefined => {
    const items = new Map<string, JsonObject>();
    for (const item of list) {
      const el = keyElement(item, keys);
      if (el === undefined || !isJsonObject(item)) continue;
      if (items.has(el)) return undefined; // duplicate keys: the generic comparison handles them
      items.set(el, item);
    }
    return items;
  };

  const diffValue = (ov: JsonValue, nv: JsonValue, info: FieldPatchInfo, m: PatchMeta, path: string[], top: Top, name: string): void => {
    const a = valueKind(ov, info);
    const b = valueKind(nv, info);
    if (a.kind !== b.kind) return diffSubtree(ov, nv, info, m, path, top, name);
    if (b.kind === 'leaf') {
      if (!jsonEqual(ov, nv)) changed.insert(path);
    } else if (b.kind === 'map' && isJsonObject(ov) && isJsonObject(nv)) {
      diffObject(ov, nv, m, path, top);
    } else if (b.kind === 'set' && Array.isArray(ov) && Array.isArray(nv)) {
      const before = new Set(ov.map(valueElement));
      const after = new Set(nv.map(valueElement));
      for (const el of after) if (!before.has(el)) changed.insert([...path, el]);
      for (const el of before) if (!after.has(el)) removed.insert([...path, el]);
    } else if (b.kind === 'keyed' && b.keys && Array.isArray(ov) && Array.isArray(nv)) {
      const before = keyedItems(ov, b.keys);
      const after = keyedItems(nv, b.keys);
      if (!before || !after) return diffSubtree(ov, nv, info, m, path, top, name);
      for (const [el, item] of after) {
        const old = before.get(el);
        const p = [...path, el];
        if (old === undefined) {
          changed.insert(p);
          walker.object(item, m, p, undefined, changed);
        } else if (old !== item) {
          diffObject(old, item, m, p, undefined);
        }
      }
      for (const [el, item] of before) {
        if (after.has(el)) continue;
        const p = [...path, el];
        removed.insert(p);
        walker.object(item, m, p, undefined, removed);
      }
    }
  };

  diffObject(oldObj, newObj, meta, [], 'root');
  return { changed, removed };
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

const parsedElements = new Map<string, JsonValue | undefined>();

/** The JSON of a `k:`/`v:` element; memoised, since the same keys are looked up on every write. */
function parseElementJson(el: string): JsonValue | undefined {
  if (parsedElements.has(el)) return parsedElements.get(el);
  let v: JsonValue | undefined;
  try {
    v = asJsonValue(JSON.parse(el.slice(2)));
  } catch {
    v = undefined;
  }
  if (parsedElements.size >= 10_000) parsedElements.clear();
  parsedElements.set(el, v);
  return v;
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
