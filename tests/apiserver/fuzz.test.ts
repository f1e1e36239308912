/**
 * Robustness: a few thousand malformed requests from a seeded PRNG against
 * the in-process app on the SQLite store. Every answer must be a 2xx (the
 * request happened to be valid) or a well-formed 4xx Status; nothing may
 * throw or answer 5xx; a failed request must not move the store's revision;
 * and objects nobody was allowed to touch stay byte-identical.
 * FUZZ_SEED=<n> FUZZ_COUNT=<n> explore other sequences; the default is fixed.
 */
import t from 'tap';
import { startTestApi, type TestApi } from '../helpers/apiserver.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000);

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  what: string;
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  text(n: number, alphabet = 'abcXYZ019-._~:/?#[]@!$&\'()*+,;=% "\\{}<>\u00e9\u2603\ud83d\ude00\u0000\n\t'): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

const SENTINEL_NS = 'sentinel';
const FUZZ_NS = 'fuzz';
const NAMESPACES = [FUZZ_NS, 'default', 'nope', 'UPPER', 'a..b', '-x', 'x'.repeat(70), '%zz', '%2F', '', 'kube-system'];
const COLLECTIONS: readonly { prefix: string; plural: string; namespaced: boolean; kind: string; apiVersion: string }[] = [
  { prefix: '/api/v1', plural: 'configmaps', namespaced: true, kind: 'ConfigMap', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'secrets', namespaced: true, kind: 'Secret', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'services', namespaced: true, kind: 'Service', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'pods', namespaced: true, kind: 'Pod', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'endpoints', namespaced: true, kind: 'Endpoints', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'events', namespaced: true, kind: 'Event', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'namespaces', namespaced: false, kind: 'Namespace', apiVersion: 'v1' },
  { prefix: '/api/v1', plural: 'nodes', namespaced: false, kind: 'Node', apiVersion: 'v1' },
  { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true, kind: 'Deployment', apiVersion: 'apps/v1' },
  { prefix: '/apis/apps/v1', plural: 'replicasets', namespaced: true, kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  { prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true, kind: 'DaemonSet', apiVersion: 'apps/v1' },
  { prefix: '/apis/coordination.k8s.io/v1', plural: 'leases', namespaced: true, kind: 'Lease', apiVersion: 'coordination.k8s.io/v1' },
  { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true, kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1' },
  { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false, kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1' },
];
/** Objects the patch fuzzing aims at, created before the barrage in FUZZ_NS. */
const TARGETS = [
  { path: `/api/v1/namespaces/${FUZZ_NS}/configmaps/target`, subs: [] as string[] },
  { path: `/apis/apps/v1/namespaces/${FUZZ_NS}/deployments/web`, subs: ['status', 'scale'] },
  { path: `/api/v1/namespaces/${FUZZ_NS}/services/svc`, subs: ['status'] },
  { path: `/api/v1/namespaces/${FUZZ_NS}/pods/pod`, subs: ['status', 'binding', 'eviction', 'log', 'exec'] },
];
const NAMES = ['target', 'web', 'svc', 'pod', 'new-1', 'Bad_Name', 'a/b', '..', '.', '-lead', 'x'.repeat(300), '\u2603', ' ', 'a%00b'];
const CONTENT_TYPES = [
  'application/json',
  'application/yaml',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
  'application/vnd.kubernetes.protobuf',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '*/*',
  ';;;',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
  '',
];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function validObject(g: Gen, c: (typeof COLLECTIONS)[number], name: string): Record<string, unknown> {
  const o: Record<string, unknown> = { apiVersion: c.apiVersion, kind: c.kind, metadata: { name, labels: { fuzz: 'yes' } } };
  if (c.kind === 'ConfigMap') o.data = { k: g.text(8, 'abc') };
  if (c.kind === 'Pod') o.spec = { containers: [{ name: 'c', image: 'busybox' }] };
  if (c.kind === 'Service') o.spec = { ports: [{ port: 80 }] };
  if (c.kind === 'Deployment') {
    o.spec = { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } };
  }
  return o;
}

/** Deeply nested JSON text, arrays or objects. */
function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A broken variant of a valid object: wrong types, wrong kind, bad names, huge or deep values. */
function brokenObject(g: Gen, c: (typeof COLLECTIONS)[number]): unknown {
  const o = validObject(g, c, g.pick(NAMES));
  const meta = o.metadata as Record<string, unknown>;
  switch (g.int(16)) {
    case 0: o.kind = g.pick(['Pod', 'Nope', '', 42, null, ['ConfigMap'], 'configmap']); break;
    case 1: o.apiVersion = g.pick(['v2', 'apps/v1', '', 'v1/v1', 7, null, 'rbac.authorization.k8s.io/v1']); break;
    case 2: o.metadata = g.pick([[], 'meta', 5, null, true, [{ name: 'x' }]]); break;
    case 3: meta.name = g.pick([123, null, [], {}, '', 'UPPER', 'x'.repeat(1000), 'a b', '\u0000']); break;
    case 4: meta.labels = g.pick([[], 'a=b', { 'bad key!': 'v' }, { k: 5 }, { k: 'v'.repeat(100) }, { ['x'.repeat(300)]: 'v' }]); break;
    case 5: o.spec = g.pick([[], 'spec', 1, { containers: {} }, { containers: [1, 2] }, { replicas: '3' }, { replicas: -1 }, { selector: [] }]); break;
    case 6: o.data = g.pick([[], 'data', { k: 1 }, { k: null }, { k: { nested: true } }, { 'bad/key': 'v' }]); break;
    case 7: o.status = g.pick([[], 'x', { phase: 7 }]); break;
    case 8: meta.namespace = g.pick(['other', 5, '', SENTINEL_NS]); break;
    case 9: meta.resourceVersion = g.pick(['abc', '-1', '99999999999999999999', 5, '']); break;
    case 10: meta.uid = g.pick([5, [], 'not-a-uid']); meta.creationTimestamp = g.pick(['yesterday', 5, {}]); break;
    case 11: meta.ownerReferences = g.pick([{}, [1], [{ apiVersion: 'v1' }], 'x']); meta.finalizers = g.pick([5, [1], ['bad finalizer!']]); break;
    case 12: meta.annotations = { huge: 'v'.repeat(g.pick([300_000, 1_100_000])) }; break;
    case 13: meta.generateName = g.pick(['', 'UPPER-', 5, 'x'.repeat(300)]); delete meta.name; break;
    case 14: o.__proto__ = { polluted: true }; (o as Record<string, unknown>)['constructor'] = { prototype: { polluted: true } }; break;
    default: o.extra = JSON.parse(deep(g.pick([50, 500]), 'object')) as unknown; break;
  }
  return o;
}

function corrupt(g: Gen, text: string): string {
  const chars = [...text];
  const n = 1 + g.int(4);
  for (let i = 0; i < n && chars.length > 0; i++) {
    const at = g.int(chars.length);
    const op = g.int(3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1) chars.splice(at, 0, g.text(1));
    else chars[at] = g.text(1);
  }
  return chars.join('');
}

function toYaml(v: unknown, indent = ''): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  if (entries.length === 0) return Array.isArray(v) ? '[]' : '{}';
  return entries
    .map(([k, x]) => {
      const head = Array.isArray(v) ? `\n${indent}-` : `\n${indent}${JSON.stringify(k)}:`;
      return `${head} ${x !== null && typeof x === 'object' ? toYaml(x, indent + '  ') : toYaml(x)}`;
    })
    .join('');
}

/** A request body: random bytes, truncated/corrupted JSON or YAML, deep nesting, huge strings, YAML bombs. */
function fuzzBody(g: Gen, c: (typeof COLLECTIONS)[number]): { body: string | Uint8Array; type: string; what: string } {
  const obj = g.chance(0.3) ? validObject(g, c, `ok-${g.int(1e6)}`) : brokenObject(g, c);
  const json = JSON.stringify(obj) ?? 'null';
  switch (g.int(14)) {
    case 0: return { body: g.bytes(g.int(200)), type: g.pick(CONTENT_TYPES), what: 'random bytes' };
    case 1: return { body: json.slice(0, g.int(json.length)), type: 'application/json', what: 'truncated JSON' };
    case 2: return { body: corrupt(g, json), type: 'application/json', what: 'corrupted JSON' };
    case 3: { const y = toYaml(obj); return { body: y.slice(0, g.int(y.length)), type: 'application/yaml', what: 'truncated YAML' }; }
    case 4: return { body: corrupt(g, toYaml(obj)), type: 'application/yaml', what: 'corrupted YAML' };
    case 5: return { body: deep(g.pick([1000, 20_000, 200_000]), g.pick(['array', 'object'] as const)), type: g.pick(['application/json', 'application/yaml']), what: 'deep nesting' };
    case 6: return { body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"huge"},"data":{"k":"${'x'.repeat(g.pick([2_000_000, 3_500_000]))}"}}`, type: 'application/json', what: 'huge string' };
    case 7: return { body: g.pick(['[]', '[1,2]', '"str"', '42', 'null', 'true', '{}', ' ', '']), type: 'application/json', what: 'not an object' };
    case 8: return { body: 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n', type: 'application/yaml', what: 'YAML alias bomb' };
    case 9: return { body: g.pick(['--- !!js/function "x"', 'a: !!binary AAAA', '? [a]\n: b', 'a: 1\na: 2', '{a: 1', '- a\nb: c', '%YAML 9.9\n---\na: 1', `${'- '.repeat(5000)}x`]), type: 'application/yaml', what: 'odd YAML' };
    case 10: return { body: `{"metadata":{"name":"dup"},"metadata":5,"kind":"ConfigMap","apiVersion":"v1","__proto__":{"x":1}}`, type: 'application/json', what: 'duplicate keys, __proto__' };
    case 11: return { body: json, type: g.pick(CONTENT_TYPES), what: 'wrong content type' };
    case 12: return { body: '\ufeff' + json, type: 'application/json', what: 'BOM' };
    default: return { body: json, type: g.pick(['application/json', 'application/yaml']), what: 'broken object' };
  }
}

function query(g: Gen): string {
  const params: [string, string][] = [];
  const values: Record<string, readonly string[]> = {
    limit: ['-1', 'abc', '1e3', '0', '99999999999999999999999', '1.5', '', '5', ' 3'],
    continue: ['garbage', 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MX0', '%%%', 'e30', 'eyJydiI6LTF9', '\u2603'],
    resourceVersion: ['abc', '-1', '0', '1', '99999999999999999999', '1e5', '', ' 1'],
    resourceVersionMatch: ['Exact', 'NotOlderThan', 'garbage', ''],
    labelSelector: ['a=b', 'a in (', '!!', 'a==b,c!=d', 'x notin (a,b)', 'a=b=c', '=', ',', 'a in ()', 'UPPER/x=y', '(((', 'a>1', 'k=' + 'v'.repeat(100)],
    fieldSelector: ['metadata.name=x', 'spec.nodeName=n', 'bogus=1', '=', 'metadata.name', 'metadata.name!=a,metadata.namespace==b', 'status.phase=Running', 'a=b,', '(('],
    timeoutSeconds: ['-1', 'abc', '0', '99999999999999', '1.5', ''],
    watch: ['1', 'true', 'false', 'yes', '', 'TRUE'],
    dryRun: ['All', 'all', 'Nope', ''],
    fieldValidation: ['Strict', 'Warn', 'Ignore', 'strict', 'garbage'],
    fieldManager: ['', 'x'.repeat(200), 'ok', '\u0000'],
    force: ['true', 'x'],
    propagationPolicy: ['Foreground', 'Background', 'Orphan', 'Nope'],
    gracePeriodSeconds: ['-5', '0', 'x', '99999999999999999999'],
    sendInitialEvents: ['true', 'false', 'x'],
    allowWatchBookmarks: ['true', 'x'],
    includeObject: ['None', 'Object', 'Metadata', 'garbage'],
    pretty: ['true', 'x'],
  };
  const keys = Object.keys(values);
  const n = 1 + g.int(3);
  for (let i = 0; i < n; i++) {
    const k = g.pick(keys);
    params.push([k, g.pick(values[k])]);
  }
  // Watches that are valid would stream for a long time; keep them short.
  if (params.some(([k, v]) => k === 'watch' && (v === '1' || v === 'true')) && g.chance(0.8)) params.push(['timeoutSeconds', '0']);
  return params.map(([k, v]) => `${encodeURIComponent(k)}=${g.chance(0.9) ? encodeURIComponent(v) : v}`).join('&');
}

function collectionPath(g: Gen, c: (typeof COLLECTIONS)[number]): string {
  if (!c.namespaced || g.chance(0.1)) return `${c.prefix}/${c.plural}`;
  return `${c.prefix}/namespaces/${encodeURIComponent(g.pick(NAMESPACES))}/${c.plural}`;
}

const ACCEPTS = [
  'application/json',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io',
  'application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io',
  'application/json;as=Nope;v=v9;g=x',
  'application/vnd.kubernetes.protobuf',
  'text/html',
  '*/*',
  ';;',
];

function randomPath(g: Gen): string {
  const vocab = ['api', 'apis', 'v1', 'v2', 'apps', 'namespaces', FUZZ_NS, 'configmaps', 'pods', 'status', 'scale', 'log', 'finalize', 'binding', 'x', '..', '.', '%zz', '%', '%2F', '%00', '\u2603', 'deployments', 'openapi', 'v3', 'version', 'healthz'];
  const n = g.int(8);
  let p = '';
  for (let i = 0; i < n; i++) p += '/' + (g.chance(0.85) ? g.pick(vocab) : g.text(1 + g.int(12), 'abc%zZ09-_.~!$&()*+,;=:@'));
  return p === '' ? '/' : p;
}

/** The next request; DELETEs and finalizes only ever address FUZZ_NS, so the sentinels' survival is a real check. */
function nextRequest(g: Gen): FuzzRequest {
  const headers: Record<string, string> = {};
  if (g.chance(0.2)) headers.accept = g.pick(ACCEPTS);
  const c = g.pick(COLLECTIONS);
  const kind = g.int(10);
  if (kind <= 2) {
    const b = fuzzBody(g, c);
    if (b.type !== '') headers['content-type'] = b.type;
    const method = g.pick(['POST', 'POST', 'PUT']);
    const path = method === 'POST' ? collectionPath(g, c) : `${collectionPath(g, c)}/${encodeURIComponent(g.pick(NAMES))}`;
    return { method, path: g.chance(0.3) ? `${path}?${query(g)}` : path, headers, body: b.body, what: `${b.what} (${c.kind})` };
  }
  if (kind <= 4) {
    const path = g.chance(0.5) ? collectionPath(g, c) : `${collectionPath(g, c)}/${encodeURIComponent(g.pick(NAMES))}`;
    return { method: 'GET', path: `${path}?${query(g)}`, headers, what: 'query params' };
  }
  if (kind <= 7) {
    const target = g.pick(TARGETS);
    const sub = g.chance(0.3) && target.subs.length > 0 ? `/${g.pick(target.subs)}` : '';
    headers['content-type'] = g.chance(0.9) ? g.pick(PATCH_TYPES) : g.pick(CONTENT_TYPES);
    const { body, what } = patchBody(g, headers['content-type']);
    const method = sub === '/binding' || sub === '/eviction' ? g.pick(['POST', 'PATCH']) : 'PATCH';
    const q = g.chance(0.3) ? `?${query(g)}` : g.chance(0.3) ? '?fieldManager=fuzz' : '';
    return { method, path: `${target.path}${sub}${q}`, headers, body, what: `patch: ${what}` };
  }
  if (kind === 8) {
    // Deletes in FUZZ_NS only, with junk options.
    const ns = c.namespaced ? `/namespaces/${FUZZ_NS}` : '';
    if (!c.namespaced) return { method: 'GET', path: `${c.prefix}/${c.plural}?${query(g)}`, headers, what: 'cluster list' };
    const path = `${c.prefix}${ns}/${c.plural}${g.chance(0.5) ? `/${encodeURIComponent(g.pick(NAMES))}` : ''}?${query(g)}`;
    const body = g.chance(0.5) ? g.pick(['{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Nope"}', '{"gracePeriodSeconds":"x"}', '{"preconditions":{"uid":"nope"}}', '[]', '{', 'garbage', '{"dryRun":["All"]}']) : undefined;
    if (body !== undefined) headers['content-type'] = g.pick(['application/json', 'application/yaml', 'text/plain']);
    return { method: 'DELETE', path, headers, body, what: 'delete' };
  }
  const method = g.pick(['GET', 'POST', 'PUT', 'PATCH', 'HEAD', 'OPTIONS', 'FOO', 'PROPFIND']);
  const body = method === 'GET' || method === 'HEAD' || g.chance(0.5) ? undefined : g.bytes(g.int(64));
  return { method, path: randomPath(g), headers, body, what: 'random path and method' };
}

function patchBody(g: Gen, type: string): { body: string; what: string } {
  const paths = ['/metadata/name', '/metadata/labels/a', '/metadata/labels', '/spec/replicas', '/spec/ports/0', '/spec/ports/-', '/spec/ports/99', '/data/k', '/data', '/kind', '/apiVersion', '/metadata/resourceVersion', '/metadata/uid', '', '/', 'no-slash', '/a~2b', '/spec/containers/0/image', '/status/phase', '/metadata/namespace', '/spec/template/spec/containers/-'];
  const values: unknown[] = [1, 'x', null, [], {}, { a: 'b' }, -1, '3', true, 'v'.repeat(5000)];
  if (type === 'application/json-patch+json') {
    const ops = [];
    const n = g.int(4);
    for (let i = 0; i < n; i++) {
      const op: Record<string, unknown> = { op: g.pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'nope', '', 5]), path: g.pick(paths) };
      if (g.chance(0.7)) op.value = g.pick(values);
      if (g.chance(0.3)) op.from = g.pick(paths);
      if (g.chance(0.1)) delete op.path;
      ops.push(op);
    }
    const body = g.chance(0.85) ? JSON.stringify(ops) : g.pick(['{}', '"x"', '[1]', '[[]]', '[', 'null']);
    return { body: g.chance(0.1) ? corrupt(g, body) : body, what: 'json patch' };
  }
  if (type === 'application/apply-patch+yaml') {
    const o = { apiVersion: g.pick(['v1', 'apps/v1', 'v2', '']), kind: g.pick(['ConfigMap', 'Deployment', 'Service', 'Pod', 'Nope']), metadata: { name: g.pick(NAMES) }, data: g.pick(values) };
    const body = g.chance(0.5) ? JSON.stringify(o) : toYaml(o);
    return { body: g.chance(0.3) ? corrupt(g, body) : body, what: 'apply' };
  }
  const directives: unknown[] = [
    { metadata: { labels: { $patch: g.pick(['replace', 'delete', 'merge', 'nope', 5]) } } },
    { spec: { ports: [{ $patch: g.pick(['delete', 'replace', 'x']), port: 80 }] } },
    { spec: { $setElementOrder: g.pick([{ ports: [{ port: 1 }] }, { ports: 5 }, 'x']) } },
    { spec: { $retainKeys: g.pick([['replicas'], 5, [1]]) } },
    { metadata: { $deleteFromPrimitiveList: g.pick([{ finalizers: ['a'] }, 5]) } },
    { spec: { template: { spec: { containers: g.pick([{ name: 'c' }, [{ image: 'noname' }], [{ name: 'c', $patch: 'delete' }], 'x']) } } } },
    { metadata: { name: g.pick(NAMES) } },
    { metadata: { namespace: SENTINEL_NS } },
    { kind: 'Pod' },
    { apiVersion: 'v9' },
    { data: g.pick(values) },
    { spec: { replicas: g.pick(values) } },
    { status: { replicas: g.pick(values), phase: g.pick(values) } },
    { metadata: { resourceVersion: g.pick(['1', 'abc', '-1']) } },
    { spec: g.pick(values) },
    { metadata: g.pick(values) },
  ];
  if (g.chance(0.03)) return { body: `{"metadata":{"labels":${deep(g.pick([900, 5000]), 'object')}}}`, what: 'deeply nested merge' };
  const body = g.chance(0.85) ? JSON.stringify(g.pick(directives)) : g.pick(['[]', '"x"', '5', 'null', '{', '', '[{"op":"add"}]']);
  return { body: g.chance(0.1) ? corrupt(g, body) : body, what: type.includes('strategic') ? 'strategic merge' : 'merge' };
}

interface Failure {
  req: string;
  problem: string;
}

function describe(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : Buffer.from(r.body).toString('latin1');
  const shown = body.length > 200 ? `${body.slice(0, 200)}... (${body.length} chars)` : body;
  return `${r.what}: ${r.method} ${r.path.length > 200 ? r.path.slice(0, 200) + '...' : r.path} ${JSON.stringify(r.headers)} body=${JSON.stringify(shown)}`;
}

/**
 * 5xx answers Kubernetes gives by design: 503 from log/exec/attach/port-forward
 * when the pod's node has no kubelet connection, and 504 Timeout for a read at
 * a resourceVersion newer than the store's ("Too large resource version").
 */
function designed5xx(r: FuzzRequest, status: number, reason: unknown, message: unknown): boolean {
  if (status === 503 && reason === 'ServiceUnavailable') return /\/pods\/[^/]+\/(log|exec|attach|portforward)/.test(r.path);
  return status === 504 && reason === 'Timeout' && typeof message === 'string' && message.startsWith('Too large resource version');
}

async function send(s: TestApi, r: FuzzRequest): Promise<{ status: number; text: string; streamed: boolean }> {
  const headers = { authorization: 'Bearer test-admin-token', ...r.headers };
  const res = await s.api.app.request(r.path, { method: r.method, headers, body: r.body });
  if (res.status >= 200 && res.status < 300 && res.body && res.headers.get('transfer-encoding') === 'chunked') {
    // A valid watch: it streams; stop it, as a client that got what it wanted.
    await res.body.cancel();
    return { status: res.status, text: '', streamed: true };
  }
  return { status: res.status, text: await res.text(), streamed: false };
}

async function snapshot(s: TestApi, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const res = await s.call('GET', p);
    out.push(`${res.status} ${await res.text()}`);
  }
  return out;
}

t.test(`a barrage of malformed requests (seed ${SEED}, ${COUNT} requests) gets 4xx Status answers and changes nothing it should not`, async (t) => {
  const s = await startTestApi({ sqlite: true });
  t.teardown(() => s.close());
  const create = async (path: string, obj: unknown) => {
    const res = await s.call('POST', path, obj);
    t.equal(res.status, 201, `fixture ${path}`);
  };
  for (const ns of [SENTINEL_NS, FUZZ_NS]) await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const sentinels: string[] = [];
  for (const ns of [SENTINEL_NS]) {
    await create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep', labels: { a: 'b' } }, data: { k: 'v' } });
    await create(`/apis/apps/v1/namespaces/${ns}/deployments`, validObject(new Gen(prng(1)), COLLECTIONS[8], 'keep'));
    sentinels.push(`/api/v1/namespaces/${ns}/configmaps/keep`, `/apis/apps/v1/namespaces/${ns}/deployments/keep`, `/api/v1/namespaces/${ns}`);
  }
  await create(`/api/v1/namespaces/${FUZZ_NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, data: { k: 'v' } });
  await create(`/apis/apps/v1/namespaces/${FUZZ_NS}/deployments`, validObject(new Gen(prng(2)), COLLECTIONS[8], 'web'));
  await create(`/api/v1/namespaces/${FUZZ_NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } });
  await create(`/api/v1/namespaces/${FUZZ_NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  const before = await snapshot(s, sentinels);
  const rawBefore = await Promise.all(['/registry/configmaps/sentinel/keep', '/registry/deployments.apps/sentinel/keep'].map((k) => s.backend.get(k)));

  const g = new Gen(prng(SEED));
  const failures: Failure[] = [];
  const tally = new Map<number, number>();
  let wrote = 0;
  for (let i = 0; i < COUNT; i++) {
    const r = nextRequest(g);
    const revBefore = s.backend.currentRevision();
    let out: Awaited<ReturnType<typeof send>>;
    try {
      out = await send(s, r);
    } catch (e) {
      failures.push({ req: describe(r), problem: `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
      continue;
    }
    tally.set(out.status, (tally.get(out.status) ?? 0) + 1);
    const moved = s.backend.currentRevision() !== revBefore;
    if (out.status >= 200 && out.status < 300) {
      if (moved) wrote++;
      if (moved && (r.method === 'GET' || r.method === 'HEAD')) failures.push({ req: describe(r), problem: `a ${r.method} moved the revision` });
      continue;
    }
    if (moved) failures.push({ req: describe(r), problem: `HTTP ${out.status} but the revision moved from ${revBefore} to ${s.backend.currentRevision()}` });
    if (r.method === 'HEAD') {
      // A HEAD answer has no body by definition: only the code can be checked.
      if (out.status >= 500) failures.push({ req: describe(r), problem: `HTTP ${out.status}` });
      continue;
    }
    let status: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(out.text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) status = parsed as Record<string, unknown>;
    } catch {
      // not JSON: reported below
    }
    if (!status || status.kind !== 'Status' || status.code !== out.status || typeof status.reason !== 'string' || status.reason === '' || status.status !== 'Failure') {
      failures.push({ req: describe(r), problem: `HTTP ${out.status} without a well-formed Status: ${out.text.slice(0, 300)}` });
    } else if ((out.status < 400 || out.status >= 500) && !designed5xx(r, out.status, status.reason, status.message)) {
      failures.push({ req: describe(r), problem: `HTTP ${out.status} ${String(status.reason)}: ${String(status.message).slice(0, 300)}` });
    }
  }

  for (const f of failures.slice(0, 25)) t.fail(`${f.problem.replace(/\s+/g, ' ')} <- ${f.req.replace(/\s+/g, ' ')}`);
  t.equal(failures.length, 0, `requests answered wrongly (first 25 shown); status tally ${JSON.stringify(Object.fromEntries(tally))}, ${wrote} writes`);
  // The barrage must have exercised both sides: some valid writes and plenty of refusals.
  t.ok(wrote > 0, 'some requests were valid writes');
  t.ok([...tally].filter(([code]) => code >= 400 && code < 500).reduce((n, [, c]) => n + c, 0) > COUNT / 2, 'most requests were refused with 4xx');

  const ready = await s.api.app.request('/readyz');
  t.equal(ready.status, 200, '/readyz after the barrage');
  const list = await s.json('GET', `/api/v1/namespaces/${SENTINEL_NS}/configmaps`);
  t.equal(list.status, 200, 'a list after the barrage');
  t.same(await snapshot(s, sentinels), before, 'objects created before the barrage are byte-identical over the API');
  const rawAfter = await Promise.all(['/registry/configmaps/sentinel/keep', '/registry/deployments.apps/sentinel/keep'].map((k) => s.backend.get(k)));
  t.same(rawAfter, rawBefore, 'and in the store, revisions included');
});

t.test('requests the fuzzing once turned into 500s get 4xx Status answers', async (t) => {
  const s = await startTestApi({ sqlite: true });
  t.teardown(() => s.close());
  const bomb = 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  const cases: { what: string; method: string; path: string; body?: string; type?: string; code: number }[] = [
    { what: 'YAML alias bomb', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: bomb, type: 'application/yaml', code: 400 },
    { what: 'JSON 20 000 levels deep', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: deep(20_000, 'array'), type: 'application/json', code: 400 },
    { what: 'YAML 20 000 levels deep', method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: deep(20_000, 'object'), type: 'application/yaml', code: 400 },
    { what: 'merge patch 5 000 levels deep', method: 'PATCH', path: '/api/v1/namespaces/default/services/kubernetes', body: `{"metadata":{"labels":${deep(5000, 'object')}}}`, type: 'application/merge-patch+json', code: 400 },
    { what: 'limit past 2^53', method: 'GET', path: '/api/v1/namespaces?limit=99999999999999999999999', code: 400 },
    { what: 'malformed %-escape in the path', method: 'GET', path: '/api/v1/namespaces/%zz/configmaps', code: 404 },
  ];
  for (const c of cases) {
    const rev = s.backend.currentRevision();
    const res = await s.call(c.method, c.path, c.body, c.type ? { 'content-type': c.type } : {});
    const body: unknown = await res.json();
    t.equal(res.status, c.code, c.what);
    t.match(body, { kind: 'Status', status: 'Failure', code: c.code }, `${c.what}: a Status`);
    t.equal(s.backend.currentRevision(), rev, `${c.what}: nothing written`);
  }

  // A non-ASCII unknown field name lands in a Warning header: the create must answer 201, not throw after committing.
  const res = await s.call('POST', '/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"k\u00e9y\u2603":1}');
  t.equal(res.status, 201, 'create with a non-ASCII unknown field');
  t.match(res.headers.get('warning') ?? '', /^299 - "unknown field \\"k\\u00e9y\\u2603\\""$/, 'the warning is ASCII-escaped');
});
