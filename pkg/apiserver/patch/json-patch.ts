/**
 * RFC 6902 JSON patch (`application/json-patch+json`) with RFC 6901 JSON
 * pointers. The whole operation list is applied to a private copy, so a
 * failing operation leaves the caller's document untouched (atomicity).
 */
import { PatchError } from './errors.js';
import { cloneJson, getMember, isJsonObject, jsonEqual, jsonTypeOf, setMember, type JsonObject, type JsonValue } from './json.js';

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: JsonValue }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Validates a decoded patch body as an RFC 6902 operation list (PatchError 400 when malformed). */
export function parseJsonPatch(body: JsonValue): JsonPatchOperation[] {
  if (!Array.isArray(body)) throw new PatchError('a json patch must be a JSON array of operations', 400);
  return body.map((raw, i) => {
    if (!isJsonObject(raw)) throw new PatchError(`json patch operation ${i} is not an object`, 400);
    const op = getMember(raw, 'op');
    if (typeof op !== 'string' || !OPS.has(op)) {
      throw new PatchError(`json patch operation ${i} has unknown op ${JSON.stringify(op ?? null)}`, 400);
    }
    const path = getMember(raw, 'path');
    if (typeof path !== 'string') throw new PatchError(`json patch operation ${i} (${op}) is missing "path"`, 400);
    parsePointer(path);
    switch (op) {
      case 'add':
      case 'replace':
      case 'test': {
        const value = getMember(raw, 'value');
        if (value === undefined) throw new PatchError(`json patch operation ${i} (${op} ${path}) is missing "value"`, 400);
        return { op, path, value };
      }
      case 'remove':
        return { op, path };
      default: {
        const from = getMember(raw, 'from');
        if (typeof from !== 'string') throw new PatchError(`json patch operation ${i} (${op} ${path}) is missing "from"`, 400);
        parsePointer(from);
        return { op: op === 'move' ? 'move' : 'copy', from, path };
      }
    }
  });
}

/** Splits an RFC 6901 pointer into unescaped reference tokens ('' → []). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid json pointer ${JSON.stringify(pointer)}: must be empty or start with "/"`, 400);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      if (/~(?![01])/.test(t)) throw new PatchError(`invalid json pointer ${JSON.stringify(pointer)}: bad escape in ${JSON.stringify(t)}`, 400);
      // ~1 first, then ~0, so that "~01" becomes "~1" and not "/" (RFC 6901 §4).
      return t.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** Applies operations to any JSON document and returns the new document; the input is not modified. */
export function jsonPatch(doc: JsonValue, body: JsonValue): JsonValue {
  const ops = parseJsonPatch(body);
  let root = cloneJson(doc);
  for (const op of ops) root = applyOp(root, op);
  return root;
}

/** Applies a json patch to a stored object; the result must still be an object. */
export function applyJsonPatch(current: JsonObject, body: JsonValue): JsonObject {
  const out = jsonPatch(current, body);
  if (!isJsonObject(out)) throw new PatchError(`json patch replaced the object with ${jsonTypeOf(out)}`);
  return out;
}

function applyOp(root: JsonValue, op: JsonPatchOperation): JsonValue {
  switch (op.op) {
    case 'add':
      return add(root, op.path, cloneJson(op.value), 'add');
    case 'remove':
      return remove(root, op.path, 'remove').root;
    case 'replace':
      return replace(root, op.path, cloneJson(op.value));
    case 'move': {
      if (op.path !== op.from && op.path.startsWith(op.from + '/')) {
        throw new PatchError(`json patch move from ${op.from} to ${op.path}: cannot move a value into one of its children`);
      }
      const removed = remove(root, op.from, 'move');
      return add(removed.root, op.path, removed.value, 'move');
    }
    case 'copy':
      return add(root, op.path, cloneJson(get(root, op.from, 'copy')), 'copy');
    case 'test': {
      const actual = get(root, op.path, 'test');
      if (!jsonEqual(actual, op.value)) {
        throw new PatchError(`json patch test operation failed at ${op.path}: expected ${JSON.stringify(op.value)}, found ${JSON.stringify(actual)}`);
      }
      return root;
    }
  }
}

/** Parses an array index token; `-` (one past the end) only where `allowEnd`. */
function arrayIndex(arr: JsonValue[], token: string, pointer: string, opName: string, allowEnd: boolean): number {
  if (token === '-') {
    if (allowEnd) return arr.length;
    throw new PatchError(`json patch ${opName} at ${pointer}: "-" does not name an existing array element`);
  }
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new PatchError(`json patch ${opName} at ${pointer}: ${JSON.stringify(token)} is not an array index`);
  }
  const i = Number(token);
  const max = allowEnd ? arr.length : arr.length - 1;
  if (i > max) throw new PatchError(`json patch ${opName} at ${pointer}: index ${i} is out of bounds (array length ${arr.length})`);
  return i;
}

/** Resolves the container of the pointer's last token. */
function parentOf(root: JsonValue, pointer: string, opName: string): { parent: JsonValue; last: string } {
  const tokens = parsePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) throw new PatchError(`json patch ${opName}: the path must not be the whole document here`);
  let node: JsonValue = root;
  let at = '';
  for (const t of tokens) {
    at += '/' + t.replace(/~/g, '~0').replace(/\//g, '~1');
    const next = child(node, t, pointer, opName);
    if (next === undefined) throw new PatchError(`json patch ${opName} at ${pointer}: ${at} does not exist`);
    node = next;
  }
  return { parent: node, last };
}

function child(node: JsonValue, token: string, pointer: string, opName: string): JsonValue | undefined {
  if (Array.isArray(node)) return node[arrayIndex(node, token, pointer, opName, false)];
  if (isJsonObject(node)) return getMember(node, token);
  return undefined;
}

function get(root: JsonValue, pointer: string, opName: string): JsonValue {
  const tokens = parsePointer(pointer);
  let node: JsonValue = root;
  for (const t of tokens) {
    const next = child(node, t, pointer, opName);
    if (next === undefined) throw new PatchError(`json patch ${opName} at ${pointer}: no value at that path`);
    node = next;
  }
  return node;
}

function add(root: JsonValue, pointer: string, value: JsonValue, opName: string): JsonValue {
  if (pointer === '') return value;
  const { parent, last } = parentOf(root, pointer, opName);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, pointer, opName, true);
    parent.splice(i, 0, value);
  } else if (isJsonObject(parent)) {
    setMember(parent, last, value);
  } else {
    throw new PatchError(`json patch ${opName} at ${pointer}: parent is ${jsonTypeOf(parent)}, not an object or array`);
  }
  return root;
}

/** Replaces an existing value in place, keeping its position (object member order, array index). */
function replace(root: JsonValue, pointer: string, value: JsonValue): JsonValue {
  if (pointer === '') return value;
  const { parent, last } = parentOf(root, pointer, 'replace');
  if (Array.isArray(parent)) {
    parent[arrayIndex(parent, last, pointer, 'replace', false)] = value;
  } else if (isJsonObject(parent) && getMember(parent, last) !== undefined) {
    setMember(parent, last, value);
  } else {
    throw new PatchError(`json patch replace at ${pointer}: no value at that path`);
  }
  return root;
}

function remove(root: JsonValue, pointer: string, opName: string): { root: JsonValue; value: JsonValue } {
  if (pointer === '') {
    if (opName === 'remove') throw new PatchError('json patch remove: cannot remove the whole document');
    // move of the root: the "removed" value is the whole document.
    return { root: null, value: root };
  }
  const { parent, last } = parentOf(root, pointer, opName);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, pointer, opName, false);
    const [value] = parent.splice(i, 1);
    return { root, value };
  }
  if (isJsonObject(parent)) {
    const value = getMember(parent, last);
    if (value === undefined) throw new PatchError(`json patch ${opName} at ${pointer}: no value at that path`);
    delete parent[last];
    return { root, value };
  }
  throw new PatchError(`json patch ${opName} at ${pointer}: parent is ${jsonTypeOf(parent)}, not an object or array`);
}
