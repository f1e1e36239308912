/**
 * Plain JSON values as the patch functions see them: what `JSON.parse`
 * returns, nothing else (no undefined, no Dates, no class instances).
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep copy of a JSON value; patches work on copies so inputs never change. */
export function cloneJson<T extends JsonValue>(v: T): T;
export function cloneJson(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => cloneJson(x));
  const out: JsonObject = {};
  for (const k of Object.keys(v)) setMember(out, k, cloneJson(v[k]));
  return out;
}

/** Structural equality of two JSON values (object key order ignored). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  if (typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Checks that an unknown value (e.g. from a YAML parser) is plain JSON and
 * returns it typed; returns undefined when it holds anything else.
 */
export function asJsonValue(u: unknown): JsonValue | undefined {
  if (u === null || typeof u === 'string' || typeof u === 'boolean') return u;
  if (typeof u === 'number') return Number.isFinite(u) ? u : undefined;
  if (Array.isArray(u)) {
    const out: JsonValue[] = [];
    for (const x of u) {
      const v = asJsonValue(x);
      if (v === undefined) return undefined;
      out.push(v);
    }
    return out;
  }
  if (typeof u === 'object') {
    const proto: unknown = Object.getPrototypeOf(u);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(u)) {
      const v = asJsonValue(x);
      if (v === undefined) return undefined;
      setMember(out, k, v);
    }
    return out;
  }
  return undefined;
}

/** A short human description of a value's JSON type, for error messages. */
export function jsonTypeOf(v: JsonValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Own member of an object, or undefined. Plain `obj[k]` would return
 * inherited values for keys such as `__proto__` or `constructor`, which a
 * patch body may name on purpose.
 */
export function getMember(obj: JsonObject, key: string): JsonValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets an own member; `__proto__` becomes a plain property instead of changing the prototype. */
export function setMember(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
