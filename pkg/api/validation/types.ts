/**
 * Type checks with the precompiled ajv validators that ship in
 * kubernetes-models (`_schemas/IoK8sApiCoreV1Pod.js` ...), loaded lazily per
 * kind, their errors mapped to Kubernetes-style causes.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { isPlainObject } from '../object.js';
import { resolveSchema, schemaFor, type Schema } from '../schema.js';
import { FieldPath, invalid, notSupported, required, type FieldCause } from './field.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
}

type Validator = (data: unknown) => AjvError[];

const require = createRequire(import.meta.url);
const validators = new Map<string, Validator | undefined>();
let modelsDir: string | undefined;

function isAjvError(e: unknown): e is AjvError {
  return isPlainObject(e) && typeof e.instancePath === 'string' && typeof e.keyword === 'string' && isPlainObject(e.params);
}

/** 'io.k8s.api.apps.v1.Deployment' → 'IoK8sApiAppsV1Deployment', the module name kubernetes-models uses. */
export function modelsModuleName(schemaName: string): string {
  return schemaName
    .split(/[.-]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

/**
 * The validator for a schema, or undefined when kubernetes-models has none.
 * `_schemas/` is not in the package's exports map, so it is required by path.
 */
function validatorFor(schemaName: string): Validator | undefined {
  if (validators.has(schemaName)) return validators.get(schemaName);
  modelsDir ??= path.dirname(require.resolve('kubernetes-models/package.json'));
  let v: Validator | undefined;
  try {
    const mod: unknown = require(path.join(modelsDir, '_schemas', `${modelsModuleName(schemaName)}.js`));
    const fn: unknown = isPlainObject(mod) ? mod.validate : undefined;
    if (typeof fn === 'function') {
      v = (data) => {
        const ok: unknown = fn(data);
        if (ok === true) return [];
        const errors: unknown = Reflect.get(fn, 'errors');
        return Array.isArray(errors) ? errors.filter(isAjvError) : [];
      };
    }
  } catch {
    v = undefined; // no validator for this schema: type checks are skipped
  }
  validators.set(schemaName, v);
  return v;
}

function decodePointer(p: string): string[] {
  return p === '' ? [] : p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Follows a JSON pointer through value and schema together, to render the Kubernetes field path. */
function locate(rootSchema: string, obj: unknown, pointer: string): { path: FieldPath; value: unknown } {
  let path = FieldPath.root();
  let value: unknown = obj;
  let schema: Schema | undefined = schemaFor(rootSchema);
  for (const seg of decodePointer(pointer)) {
    const s: Schema | undefined = schema && resolveSchema(schema);
    if (Array.isArray(value)) {
      const i = Number(seg);
      path = path.index(i);
      value = value[i];
      schema = s?.items;
    } else if (s?.additionalProperties && !s.properties) {
      path = path.key(seg);
      value = isPlainObject(value) ? value[seg] : undefined;
      schema = s.additionalProperties;
    } else {
      path = path.child(seg);
      value = isPlainObject(value) ? value[seg] : undefined;
      schema = s?.properties?.[seg];
    }
  }
  return { path, value };
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const QUANTITY_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

function formatDetail(format: string): string {
  switch (format) {
    case 'quantity':
      return `quantities must match the regular expression '${QUANTITY_RE}'`;
    case 'byte':
      return 'illegal base64 data';
    case 'date-time':
      return 'must be an RFC 3339 date-time';
    case 'int32':
      return 'must be a 32-bit integer';
    case 'int64':
      return 'must be a 64-bit integer';
    default:
      return `must be of format ${format}`;
  }
}

/** Maps the ajv errors of one location to at most one cause (plus one per missing property). */
function causesAt(rootSchema: string, obj: unknown, pointer: string, errs: AjvError[]): FieldCause[] {
  const { path, value } = locate(rootSchema, obj, pointer);
  const out: FieldCause[] = [];
  for (const e of errs) {
    if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') out.push(required(path.child(e.params.missingProperty)));
  }
  const enumErr = errs.find((e) => e.keyword === 'enum');
  const formats = errs.filter((e) => e.keyword === 'format').map((e) => String(e.params.format));
  const types = [...new Set(errs.filter((e) => e.keyword === 'type').map((e) => String(e.params.type)))];
  if (formats.includes('quantity')) {
    out.push(invalid(path, value, formatDetail('quantity')));
  } else if (types.length > 0) {
    const actual = jsonType(value);
    const expected = types.includes('integer') && types.includes('string') ? 'integer or string' : types.join(' or ');
    out.push(invalid(path, actual, `${path.toString()} in body must be of type ${expected}: ${JSON.stringify(actual)}`));
  } else if (formats.length > 0) {
    out.push(invalid(path, formats[0] === 'byte' ? '<value omitted>' : value, formatDetail(formats[0])));
  } else if (enumErr && Array.isArray(enumErr.params.allowedValues)) {
    out.push(notSupported(path, value, enumErr.params.allowedValues.map(String)));
  }
  return out;
}

/** Type, format and enum errors of `obj` against the kubernetes-models schema `schemaName`. */
export function typeErrors(schemaName: string, obj: unknown): FieldCause[] {
  const validate = validatorFor(schemaName);
  if (!validate) return [];
  const byPointer = new Map<string, AjvError[]>();
  for (const e of validate(obj)) {
    const list = byPointer.get(e.instancePath) ?? [];
    list.push(e);
    byPointer.set(e.instancePath, list);
  }
  return [...byPointer].flatMap(([pointer, errs]) => causesAt(schemaName, obj, pointer, errs));
}
