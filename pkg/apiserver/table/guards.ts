/**
 * Readers for stored objects whose shape is not guaranteed: every printer
 * goes through these so that a missing status or a wrongly typed field
 * prints as Kubernetes' zero value instead of throwing.
 */

/** True for a non-null, non-array object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object itself, or an empty one. */
export function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

/** A string, or '' (Go's zero value). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A string, or undefined when absent or not a string (Go's nil *string). */
export function optStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** An integer, or 0. */
export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** An integer, or undefined when absent (Go's nil *int32). */
export function optInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : undefined;
}

/** true only for the boolean true. */
export function bool(v: unknown): boolean {
  return v === true;
}

/** An array, or []. */
export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The string-valued entries of a map, or {}. */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(rec(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Number of keys of a map (Go's len(map)), 0 when not a map. */
export function mapLen(v: unknown): number {
  return Object.keys(rec(v)).length;
}
