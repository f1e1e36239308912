#!/usr/bin/env node
/**
 * Generates OpenAPI v3 component schemas for every Kubernetes type from the
 * .d.ts files of the `kubernetes-types` package, named as upstream names them
 * (io.k8s.api.core.v1.Pod, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, ...).
 *
 * Output: pkg/api/generated/schemas.json (gitignored; `--out <file>` to
 * write elsewhere), a flat object
 * `{ [schemaName]: schema }`. Runs before tsc in `npm run build`; the server
 * reads the file lazily on first use (pkg/api/schema.ts).
 *
 * Only the syntax tree of each file is read (no type checker): the
 * declarations are simple enough that imports plus local names resolve every
 * reference, and parsing alone keeps this well under a second.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const typesDir = path.dirname(require.resolve('kubernetes-types/package.json', { paths: [repo] }));
// `--out <file>` writes elsewhere (tests use it to leave the build output alone).
const outArg = process.argv.indexOf('--out');
const outFile = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(repo, 'pkg/api/generated/schemas.json');

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** Upstream Go package (as OpenAPI names it) of a kubernetes-types module path such as 'core/v1'. */
function packageOf(modulePath) {
  const special = {
    'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
    'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
    runtime: 'io.k8s.apimachinery.pkg.runtime',
    version: 'io.k8s.apimachinery.pkg.version',
    'util/intstr': 'io.k8s.apimachinery.pkg.util.intstr',
  };
  if (special[modulePath]) return special[modulePath];
  const [group, version] = modulePath.split('/');
  if (group === 'apiextensions') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}`;
  if (group === 'apiregistration') return `io.k8s.kube-aggregator.pkg.apis.apiregistration.${version}`;
  return `io.k8s.api.${group}.${version}`;
}

/** The JSDoc text attached to a node, trimmed, or undefined. */
function docOf(node) {
  const docs = node.jsDoc;
  if (!docs || docs.length === 0) return undefined;
  const c = docs[docs.length - 1].comment;
  const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => p.text ?? '').join('') : undefined;
  return text && text.trim() !== '' ? text.trim() : undefined;
}

/**
 * Every numeric field of the Kubernetes API is an integer except a few
 * floating-point ones (JSON schema bounds, "float"/"double" in the doc);
 * the .d.ts only says `number`, so that is how we tell them apart.
 */
function numberSchema(name, doc) {
  if (['maximum', 'minimum', 'multipleOf'].includes(name)) return { type: 'number', format: 'double' };
  if (doc && /\b(float|double|floating[- ]point)\b/i.test(doc)) return { type: 'number', format: 'double' };
  return { type: 'integer' };
}

function collectFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...collectFiles(p));
    else if (e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });

/** Converts one type node to a schema; `scope` maps local identifiers to schema names. */
function typeToSchema(node, scope, propName, doc, where) {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.NumberKeyword:
      return numberSchema(propName, doc);
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.LiteralType:
      if (ts.isStringLiteral(node.literal)) return { type: 'string' };
      break;
    case ts.SyntaxKind.ArrayType:
      return { type: 'array', items: typeToSchema(node.elementType, scope, propName, undefined, where) };
    case ts.SyntaxKind.TypeReference: {
      const name = node.typeName.getText();
      if (name === 'Array' && node.typeArguments?.length === 1) {
        return { type: 'array', items: typeToSchema(node.typeArguments[0], scope, propName, undefined, where) };
      }
      const target = scope.get(name);
      if (!target) throw new Error(`${where}: unresolved type ${name}`);
      return ref(target);
    }
    case ts.SyntaxKind.TypeLiteral: {
      const index = node.members.find((m) => ts.isIndexSignatureDeclaration(m));
      if (index && node.members.length === 1) {
        return { type: 'object', additionalProperties: typeToSchema(index.type, scope, propName, undefined, where) };
      }
      break;
    }
    case ts.SyntaxKind.UnionType: {
      const kinds = new Set(node.types.map((t) => t.kind));
      if (kinds.size === 2 && kinds.has(ts.SyntaxKind.NumberKeyword) && kinds.has(ts.SyntaxKind.StringKeyword)) {
        return ref(INT_OR_STRING);
      }
      // Other unions (apiextensions' JSONSchemaPropsOr*) carry any JSON.
      return { 'x-kubernetes-preserve-unknown-fields': true };
    }
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
      return { 'x-kubernetes-preserve-unknown-fields': true };
    default:
      break;
  }
  throw new Error(`${where}: unsupported type syntax ${ts.SyntaxKind[node.kind]}: ${node.getText()}`);
}

/** A property's schema with its description; refs go in allOf so siblings are honoured, as upstream does. */
function propertySchema(member, scope, where) {
  const name = member.name.getText().replace(/^"|"$/g, '');
  const doc = docOf(member);
  const s = typeToSchema(member.type, scope, name, doc, `${where}.${name}`);
  if (s.$ref) return { name, schema: doc ? { allOf: [s], description: doc } : s };
  return { name, schema: doc ? { ...s, description: doc } : s };
}

/** The literal of `apiVersion?: "apps/v1"` / `kind?: "Deployment"`, if the member is one. */
function literalOf(member) {
  const t = member.type;
  return t && ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : undefined;
}

function gvkOf(apiVersion, kind) {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', kind, version: apiVersion }
    : { group: apiVersion.slice(0, slash), kind, version: apiVersion.slice(slash + 1) };
}

function generate() {
  const files = collectFiles(typesDir);
  const parsed = files.map((file) => {
    const modulePath = path.relative(typesDir, file).replace(/\\/g, '/').replace(/\.d\.ts$/, '');
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    return { modulePath, pkg: packageOf(modulePath), sf };
  });
  const pkgByModule = new Map(parsed.map((p) => [p.modulePath, p.pkg]));

  const schemas = {
    [INT_OR_STRING]: {
      description:
        'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    },
  };

  for (const { modulePath, pkg, sf } of parsed) {
    const scope = new Map();
    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st)) {
        const from = path.posix.join(path.posix.dirname(modulePath), st.moduleSpecifier.text);
        const fromPkg = pkgByModule.get(from);
        if (!fromPkg) throw new Error(`${modulePath}: import of unknown module ${from}`);
        for (const el of st.importClause?.namedBindings?.elements ?? []) {
          scope.set(el.name.text, `${fromPkg}.${(el.propertyName ?? el.name).text}`);
        }
      } else if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) {
        scope.set(st.name.text, `${pkg}.${st.name.text}`);
      }
    }
    for (const st of sf.statements) {
      const where = `${modulePath}:${st.name?.text ?? '?'}`;
      if (ts.isInterfaceDeclaration(st)) {
        const properties = {};
        const required = [];
        let apiVersion;
        let kind;
        for (const m of st.members) {
          if (!ts.isPropertySignature(m) || !m.type) continue;
          const { name, schema } = propertySchema(m, scope, where);
          properties[name] = schema;
          if (!m.questionToken) required.push(name);
          if (name === 'apiVersion') apiVersion = literalOf(m);
          if (name === 'kind') kind = literalOf(m);
        }
        const s = {};
        const doc = docOf(st);
        if (doc) s.description = doc;
        s.type = 'object';
        if (Object.keys(properties).length > 0) s.properties = properties;
        if (required.length > 0) s.required = required;
        if (apiVersion && kind) s['x-kubernetes-group-version-kind'] = [gvkOf(apiVersion, kind)];
        schemas[`${pkg}.${st.name.text}`] = s;
      } else if (ts.isTypeAliasDeclaration(st)) {
        const doc = docOf(st);
        const name = `${pkg}.${st.name.text}`;
        let s;
        if (name.endsWith('meta.v1.Time')) s = { type: 'string', format: 'date-time' };
        else if (name.endsWith('meta.v1.MicroTime')) s = { type: 'string', format: 'date-time' };
        // Quantities are strings on output but numbers are accepted on input;
        // without a `type`, `kubectl explain` shows the name <Quantity> as upstream does.
        else if (name.endsWith('resource.Quantity')) s = { oneOf: [{ type: 'string' }, { type: 'number' }] };
        else s = typeToSchema(st.type, scope, st.name.text, doc, where);
        schemas[name] = doc ? { description: doc, ...s } : s;
      }
    }
  }
  addMetaKinds(schemas);
  return Object.fromEntries(Object.keys(schemas).sort().map((k) => [k, schemas[k]]));
}

/**
 * Meta types the API returns for every group (Status, WatchEvent,
 * DeleteOptions) have no literal apiVersion in the .d.ts; give them the
 * group-version-kinds upstream lists for them.
 */
function addMetaKinds(schemas) {
  const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
  schemas[`${meta}.Status`]['x-kubernetes-group-version-kind'] = [{ group: '', kind: 'Status', version: 'v1' }];
  for (const kind of ['WatchEvent', 'DeleteOptions']) {
    schemas[`${meta}.${kind}`]['x-kubernetes-group-version-kind'] = [
      { group: '', kind, version: 'v1' },
      { group: 'apps', kind, version: 'v1' },
      { group: 'coordination.k8s.io', kind, version: 'v1' },
      { group: 'meta.k8s.io', kind, version: 'v1' },
      { group: 'rbac.authorization.k8s.io', kind, version: 'v1' },
    ];
  }
  for (const kind of ['APIGroup', 'APIGroupList', 'APIResourceList', 'APIVersions']) {
    schemas[`${meta}.${kind}`]['x-kubernetes-group-version-kind'] = [{ group: '', kind, version: 'v1' }];
  }
  // Patch bodies are any JSON (merge, JSON or strategic patch).
  schemas[`${meta}.Patch`] = { ...schemas[`${meta}.Patch`], type: 'object' };
}

const started = process.hrtime.bigint();
const schemas = generate();
fs.mkdirSync(path.dirname(outFile), { recursive: true });
const json = JSON.stringify(schemas);
// Write then rename, so a concurrent reader never sees half a file.
const tmp = `${outFile}.${process.pid}.tmp`;
fs.writeFileSync(tmp, json);
fs.renameSync(tmp, outFile);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(
  `gen-schemas: ${Object.keys(schemas).length} schemas, ${(json.length / 1024).toFixed(0)} KiB -> ${path.relative(repo, outFile)} in ${ms.toFixed(0)} ms`,
);
