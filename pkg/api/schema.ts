/**
 * OpenAPI v3 component schemas of the Kubernetes types, generated at build
 * time by scripts/gen-schemas.mjs from the `kubernetes-types` declarations.
 * Read lazily on first use, never at server start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPlainObject } from './object.js';

/** The subset of an OpenAPI v3 schema object that the generator emits. */
export interface Schema {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
}

export type SchemaMap = Readonly<Record<string, Schema>>;

const REF_PREFIX = '#/components/schemas/';

/**
 * The source runs from <repo>/pkg/api (tsx) and the build from
 * <repo>/dist/pkg/api; the JSON is generated into the source tree for both.
 */
function schemasPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'generated/schemas.json'), path.resolve(here, '../../../pkg/api/generated/schemas.json')];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`schemas.json not found (looked in ${candidates.join(', ')}); run \`node scripts/gen-schemas.mjs\``);
  return found;
}

let cache: SchemaMap | undefined;

/** All generated schemas by upstream name, loaded once on first call. */
export function getSchemas(): SchemaMap {
  if (cache) return cache;
  const parsed: unknown = JSON.parse(fs.readFileSync(schemasPath(), 'utf8'));
  if (!isPlainObject(parsed)) throw new Error('schemas.json: expected an object');
  // The file is our own build output, shaped by the generator; trusted as Schema.
  cache = parsed as SchemaMap;
  return cache;
}

/** The schema named e.g. 'io.k8s.api.core.v1.Pod', if any. */
export function schemaFor(name: string): Schema | undefined {
  const all = getSchemas();
  return Object.prototype.hasOwnProperty.call(all, name) ? all[name] : undefined;
}

/** The schema name a `$ref` points to ('#/components/schemas/X' → 'X'). */
export function refName(ref: string): string {
  return ref.startsWith(REF_PREFIX) ? ref.slice(REF_PREFIX.length) : ref;
}

/**
 * Follows `$ref` and single-element `allOf` wrappers to the schema that
 * describes the value, or undefined for a dangling reference.
 */
export function resolveSchema(s: Schema): Schema | undefined {
  let cur: Schema | undefined = s;
  for (let depth = 0; cur && depth < 8; depth++) {
    if (cur.$ref) cur = schemaFor(refName(cur.$ref));
    else if (cur.allOf && cur.allOf.length === 1 && !cur.type && !cur.properties) cur = cur.allOf[0];
    else return cur;
  }
  return cur;
}

/** Names of every schema reachable from `roots` through `$ref`, roots included. */
export function reachableSchemas(roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  const visit = (s: Schema | undefined): void => {
    if (!s) return;
    if (s.$ref) stack.push(refName(s.$ref));
    for (const p of Object.values(s.properties ?? {})) visit(p);
    visit(s.items);
    visit(s.additionalProperties);
    for (const x of s.allOf ?? []) visit(x);
    for (const x of s.oneOf ?? []) visit(x);
  };
  while (stack.length > 0) {
    const name = stack.pop();
    if (name === undefined || seen.has(name)) continue;
    const s = schemaFor(name);
    if (!s) continue;
    seen.add(name);
    visit(s);
  }
  return seen;
}
