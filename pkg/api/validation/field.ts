/**
 * Field paths and causes in the shape of Kubernetes' field.Error / StatusCause:
 * `field` like `spec.template.spec.containers[0].image`, `message` the
 * error body (`Required value`, `Invalid value: "x": detail`, ...).
 */
import { isPlainObject } from '../object.js';

export type CauseReason =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong';

/** One validation failure, as a Kubernetes StatusCause. */
export interface FieldCause {
  reason: CauseReason;
  message: string;
  field: string;
}

/** An immutable field path, rendered as Kubernetes renders field.Path. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  /** A path starting at `name` ('' for the root). */
  static root(name = ''): FieldPath {
    return new FieldPath(name);
  }

  /** `a.b`. */
  child(...names: string[]): FieldPath {
    let t = this.text;
    for (const n of names) t = t === '' ? n : `${t}.${n}`;
    return new FieldPath(t);
  }

  /** `a[3]`. */
  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  /** `a[key]` for map entries. */
  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

/** Go's %#v of a map[string]string, which is how Kubernetes prints label maps. */
function goStringMap(v: Record<string, unknown>): string | undefined {
  const entries = Object.entries(v);
  if (entries.length === 0 || !entries.every(([, x]) => typeof x === 'string')) return undefined;
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `map[string]string{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ')}}`;
}

/** How field.Error prints a bad value: strings quoted, numbers and booleans bare. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (isPlainObject(v)) {
    const m = goStringMap(v);
    if (m !== undefined) return m;
  }
  return JSON.stringify(v);
}

function withDetail(body: string, detail: string): string {
  return detail === '' ? body : `${body}: ${detail}`;
}

/** field.Required. */
export function required(path: FieldPath, detail = ''): FieldCause {
  return { reason: 'FieldValueRequired', message: withDetail('Required value', detail), field: path.toString() };
}

/** field.Invalid. */
export function invalid(path: FieldPath, value: unknown, detail: string): FieldCause {
  return { reason: 'FieldValueInvalid', message: withDetail(`Invalid value: ${formatValue(value)}`, detail), field: path.toString() };
}

/** field.NotSupported. */
export function notSupported(path: FieldPath, value: unknown, supported: readonly string[]): FieldCause {
  const detail = supported.length > 0 ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}` : '';
  return { reason: 'FieldValueNotSupported', message: withDetail(`Unsupported value: ${formatValue(value)}`, detail), field: path.toString() };
}

/** field.Duplicate. */
export function duplicate(path: FieldPath, value: unknown): FieldCause {
  return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${formatValue(value)}`, field: path.toString() };
}

/** field.Forbidden. */
export function forbidden(path: FieldPath, detail: string): FieldCause {
  return { reason: 'FieldValueForbidden', message: withDetail('Forbidden', detail), field: path.toString() };
}

/** field.TooLong. */
export function tooLong(path: FieldPath, maxBytes: number): FieldCause {
  return { reason: 'FieldValueTooLong', message: `Too long: may not be more than ${maxBytes} bytes`, field: path.toString() };
}

/** One Invalid cause per message of a format check. */
export function invalidEach(path: FieldPath, value: unknown, messages: string[]): FieldCause[] {
  return messages.map((m) => invalid(path, value, m));
}
