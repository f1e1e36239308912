/**
 * Unknown-field detection for `fieldValidation=Strict` (what kubectl sends):
 * every field of the object that its schema does not declare, as the path
 * Kubernetes prints in `strict decoding error: unknown field "spec.replica"`.
 */
import { isPlainObject } from '../object.js';
import { resolveSchema, schemaFor, type Schema } from '../schema.js';

/** True for schemas whose values are not walked: scalars, int-or-string, quantities, free-form objects. */
function isOpaque(s: Schema): boolean {
  if (s['x-kubernetes-preserve-unknown-fields'] || s['x-kubernetes-int-or-string'] || s.oneOf) return true;
  if (s.type !== undefined && s.type !== 'object' && s.type !== 'array') return true;
  // An object declaring nothing (FieldsV1, RawExtension) holds any JSON.
  return !s.properties && !s.items && !s.additionalProperties;
}

function childPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function walk(schema: Schema | undefined, value: unknown, path: string, out: string[]): void {
  const s = schema && resolveSchema(schema);
  if (!s || isOpaque(s)) return;
  if (Array.isArray(value)) {
    // Mismatched types are the type checker's concern, not an unknown field.
    if (s.items) value.forEach((item, i) => walk(s.items, item, `${path}[${i}]`, out));
    return;
  }
  if (!isPlainObject(value)) return;
  if (s.properties) {
    for (const [k, v] of Object.entries(value)) {
      const p = childPath(path, k);
      if (Object.prototype.hasOwnProperty.call(s.properties, k)) walk(s.properties[k], v, p, out);
      else out.push(p);
    }
  } else if (s.additionalProperties) {
    // Map keys are free; their values follow the value schema.
    for (const [k, v] of Object.entries(value)) walk(s.additionalProperties, v, `${path}[${k}]`, out);
  }
}

/**
 * Paths of fields in `obj` not declared by the schema `schemaName`
 * (e.g. `spec.template.spec.containers[0].imagee`), in document order,
 * without duplicates. An unknown schema name yields no paths.
 */
export function unknownFields(schemaName: string, obj: unknown): string[] {
  const root = schemaFor(schemaName);
  if (!root) return [];
  const out: string[] = [];
  walk(root, obj, '', out);
  return [...new Set(out)];
}
