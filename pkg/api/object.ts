/**
 * The shape every stored object has, as the API server handles it: plain
 * JSON with a typed `metadata`. Kind-specific fields stay `unknown` until a
 * kind's code narrows them.
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** ObjectMeta as the server writes it (kubernetes-types marks server-set fields readonly). */
export type MutableObjectMeta = { -readonly [K in keyof ObjectMeta]: ObjectMeta[K] };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: MutableObjectMeta;
  [field: string]: unknown;
}

/** True for a non-null, non-array object. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Narrows a parsed body to a KubeObject, creating an empty metadata when absent. */
export function asKubeObject(v: unknown): KubeObject | undefined {
  if (!isPlainObject(v)) return undefined;
  const meta = v.metadata;
  if (meta === undefined || meta === null) return { ...v, metadata: {} };
  if (!isPlainObject(meta)) return undefined;
  return v as KubeObject; // metadata checked to be an object; its fields are validated later
}

/** A deep copy of JSON data. */
export function cloneJson<T>(v: T): T {
  return structuredClone(v);
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

/**
 * The JSON view of an object. Every KubeObject the server handles comes from
 * JSON.parse (a request body or a stored row) or from JSON-only code, so the
 * value is JSON by construction; this is the one place that says so.
 */
export function asJsonObject(o: KubeObject): JsonObject {
  return o as unknown as JsonObject;
}
