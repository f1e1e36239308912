/** Narrowing helpers for walking untyped JSON objects during validation. */
import { isPlainObject } from '../object.js';

export type Obj = Record<string, unknown>;

/** The value as an object, or undefined. */
export function asObj(v: unknown): Obj | undefined {
  return isPlainObject(v) ? v : undefined;
}

/** The value as an array, or an empty array. */
export function asArr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The value as a string, or undefined. */
export function asStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The value as a number, or undefined. */
export function asNum(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** The value as a string-valued map (other entries dropped), or undefined. */
export function asStringMap(v: unknown): Record<string, string> | undefined {
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Walks `o.a.b.c`, returning undefined when any step is missing. */
export function dig(o: unknown, ...keys: string[]): unknown {
  let cur: unknown = o;
  for (const k of keys) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}
