/**
 * Kubernetes protobuf request bodies: real kubectl 1.32 bodies, hand-encoded
 * messages for the wire corners (inlined fields, negative varints, packed
 * repeats, maps, well-known types), errors, and the API server route.
 */
import t from 'tap';
import { decodeKubeProtobuf, formatGoDuration, ProtobufError } from '../../pkg/apiserver/protobuf/decode.js';
import { KINDS, MESSAGES } from '../../pkg/apiserver/protobuf/tables.js';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';

// A tiny encoder, enough to build test messages.
type Part = Uint8Array;
function varint(v: number | bigint): Part {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return Uint8Array.from(out);
}
const cat = (...parts: Part[]): Part => Uint8Array.from(Buffer.concat(parts));
const key = (field: number, wt: number) => varint((field << 3) | wt);
const int = (field: number, v: number | bigint) => cat(key(field, 0), varint(v));
const bytes = (field: number, b: Part) => cat(key(field, 2), varint(b.length), b);
const str = (field: number, s: string) => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field: number, ...parts: Part[]) => bytes(field, cat(...parts));
const entry = (field: number, k: string, value: Part) => msg(field, str(1, k), value);
const envelope = (apiVersion: string, kind: string, raw: Part, ...extra: Part[]) =>
  cat(Buffer.from('k8s\0', 'latin1'), msg(1, str(1, apiVersion), str(2, kind)), bytes(2, raw), ...extra);

// Bodies captured from kubectl 1.32.4 (`kubectl create ...` against a recording proxy).
const captured: Array<[string, string, unknown]> = [
  [
    'create secret generic s1 --from-literal=a=b --from-literal=pw=hunter2',
    'azhzAAoMCgJ2MRIGU2VjcmV0Ei0KEgoCczESABoAIgAqADIAOABCABIGCgFhEgFiEg0KAnB3EgdodW50ZXIyGgAaACIA',
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', creationTimestamp: null }, data: { a: 'Yg==', pw: 'aHVudGVyMg==' } },
  ],
  [
    'create configmap c1 --from-literal=k=v',
    'azhzAAoPCgJ2MRIJQ29uZmlnTWFwEhwKEgoCYzESABoAIgAqADIAOABCABIGCgFrEgF2GgAiAA==',
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1', creationTimestamp: null }, data: { k: 'v' } },
  ],
  [
    'create namespace n1',
    'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhoKEgoCbjESABoAIgAqADIAOABCABIAGgIKABoAIgA=',
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n1', creationTimestamp: null }, spec: {}, status: {} },
  ],
  [
    'create deployment web --image=nginx:1.25 --replicas=2',
    'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErABCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEn8IAhIMCgoKA2FwcBIDd2ViGmUKHAoAEgAaACIAKgAyADgAQgBaCgoDYXBwEgN3ZWISRRInCgVuZ2lueBIKbmdpbng6MS4yNSoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', creationTimestamp: null, labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { creationTimestamp: null, labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', resources: {} }] } },
        strategy: {},
      },
      status: {},
    },
  ],
  [
    'create service clusterip web --tcp=80:8080',
    'azhzAAoNCgJ2MRIHU2VydmljZRJpCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEkIKGwoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAoABIKCgNhcHASA3dlYhoAIglDbHVzdGVySVA6AEIAUgBaAGAAaAAaAgoAGgAiAA==',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', creationTimestamp: null, labels: { app: 'web' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 'web' }, type: 'ClusterIP' },
      status: { loadBalancer: {} },
    },
  ],
  [
    'create role r --verb=get --resource=pods',
    'azhzAAokChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgRSb2xlEiIKEQoBchIAGgAiACoAMgA4AEIAEg0KA2dldBIAGgRwb2RzGgAiAA==',
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', creationTimestamp: null }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] },
  ],
  [
    'create clusterrolebinding crb --clusterrole=cr --user=bob',
    'azhzAAoyChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEhJDbHVzdGVyUm9sZUJpbmRpbmcSbQoTCgNjcmISABoAIgAqADIAOABCABIoCgRVc2VyEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgNib2IiABosChlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvEgtDbHVzdGVyUm9sZRoCY3IaACIA',
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'crb', creationTimestamp: null },
      subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' },
    },
  ],
];

t.test('real kubectl bodies decode to what kubectl would send as JSON', async (t) => {
  for (const [cmd, b64, want] of captured) t.strictSame(decodeKubeProtobuf(Buffer.from(b64, 'base64')), want, cmd);
});

t.test('a Pod exercising inlined fields, negative and packed varints, maps and well-known types', async (t) => {
  const raw = cat(
    msg(
      1,
      str(1, 'p'),
      str(3, ''), // empty namespace: omitempty, dropped
      int(7, 0), // zero generation: dropped
      msg(8), // zero creationTimestamp: null
      entry(11, 'app', str(2, 'web')),
      entry(12, 'note', str(2, '')), // empty map values stay
      str(999, 'an unknown field is skipped'),
      int(998, 5),
      cat(key(997, 1), new Uint8Array(8)),
      cat(key(996, 5), new Uint8Array(4)),
      msg(17, str(1, 'kubectl'), str(2, 'Update'), msg(4, int(1, 1700000000)), str(6, 'FieldsV1'), msg(7, str(1, '{"f:metadata":{}}'))),
    ),
    msg(
      2,
      msg(1, str(1, 'scratch'), msg(2, msg(2, str(1, 'Memory'), msg(2, str(1, '64Mi'))))), // Volume with inlined VolumeSource
      msg(
        2,
        str(1, 'c'),
        str(2, 'busybox'),
        str(3, 'sleep'),
        str(3, '3600'),
        msg(6, str(1, 'http'), int(2, 0), int(3, 8080), str(4, 'TCP')),
        msg(8, entry(1, 'cpu', msg(2, str(1, '500m'))), entry(2, 'memory', msg(2, str(1, '1Gi')))),
        msg(10, msg(1, msg(2, str(1, '/healthz'), msg(2, int(1, 1), str(3, 'http')))), int(2, 5), int(6, 0)), // Probe with inlined ProbeHandler
        int(16, 0), // stdin false: dropped
      ),
      int(4, 0), // terminationGracePeriodSeconds is a pointer: 0 stays
      int(11, 0), // hostNetwork false: dropped
      int(21, 0), // automountServiceAccountToken is a pointer: false stays
      int(25, -5), // negative int32: 10-byte varint
      msg(14, int(2, -1), bytes(4, cat(varint(1), varint(2))), int(4, 3), int(5, 2n ** 40n)), // packed + unpacked repeated int64
      entry(7, 'disk', str(2, 'ssd')),
    ),
  );
  t.strictSame(decodeKubeProtobuf(envelope('v1', 'Pod', raw)), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      creationTimestamp: null,
      labels: { app: 'web' },
      annotations: { note: '' },
      managedFields: [{ manager: 'kubectl', operation: 'Update', time: '2023-11-14T22:13:20Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
    },
    spec: {
      volumes: [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }],
      containers: [
        {
          name: 'c',
          image: 'busybox',
          command: ['sleep', '3600'],
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m' }, requests: { memory: '1Gi' } },
          livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 5 },
        },
      ],
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      priority: -5,
      securityContext: { runAsUser: -1, supplementalGroups: [1, 2, 3], fsGroup: 2 ** 40 },
      nodeSelector: { disk: 'ssd' },
    },
  });
});

t.test('bytes, times and the other kinds', async (t) => {
  const cases: Array<[string, Uint8Array, unknown]> = [
    [
      'ConfigMap binaryData is base64, immutable a bool',
      envelope('v1', 'ConfigMap', cat(msg(1, str(1, 'c')), entry(3, 'bin', bytes(2, Uint8Array.from([0, 255, 1]))), int(4, 1))),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, binaryData: { bin: 'AP8B' }, immutable: true },
    ],
    [
      'Lease MicroTime has six fractional digits',
      envelope('coordination.k8s.io/v1', 'Lease', cat(msg(1, str(1, 'l')), msg(2, str(1, 'me'), int(2, 15), msg(3, int(1, 1700000000), int(2, 123456789)), msg(4, int(1, 1700000001))))),
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l' },
        spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2023-11-14T22:13:20.123456Z', renewTime: '2023-11-14T22:13:21.000000Z' },
      },
    ],
    [
      'Eviction carries DeleteOptions',
      envelope('policy/v1', 'Eviction', cat(msg(1, str(1, 'p'), str(3, 'default')), msg(2, int(1, 30), msg(2, str(1, 'uid-1')), str(5, 'All')))),
      { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'default' }, deleteOptions: { gracePeriodSeconds: 30, preconditions: { uid: 'uid-1' }, dryRun: ['All'] } },
    ],
    [
      'DeleteOptions under any group version',
      envelope('apps/v1', 'DeleteOptions', cat(str(4, 'Foreground'), int(3, 0))),
      { apiVersion: 'apps/v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground', orphanDependents: false },
    ],
    [
      'Binding target',
      envelope('v1', 'Binding', cat(msg(1, str(1, 'p')), msg(2, str(1, 'Node'), str(3, 'n1')))),
      { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } },
    ],
    [
      'Scale with zero replicas omits them, as JSON does',
      envelope('autoscaling/v1', 'Scale', cat(msg(1, str(1, 'web')), msg(2, int(1, 0)))),
      { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: {} },
    ],
    [
      'a JSON raw inside the envelope',
      envelope('v1', 'ConfigMap', Buffer.from('{"metadata":{"name":"j"}}'), str(4, 'application/json')),
      { metadata: { name: 'j' } },
    ],
  ];
  for (const [name, body, want] of cases) t.strictSame(decodeKubeProtobuf(body), want, name);
});

t.test('malformed bodies are ProtobufErrors that say what is wrong', async (t) => {
  const good = envelope('v1', 'ConfigMap', msg(1, str(1, 'c')));
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['JSON instead of protobuf', Buffer.from('{"kind":"Pod"}'), /does not start with "k8s\\x00"/],
    ['empty', new Uint8Array(0), /does not start with/],
    ['truncated', good.subarray(0, good.length - 2), /truncated/],
    ['unknown kind', envelope('batch/v1', 'Job', new Uint8Array(0)), /no protobuf decoding for apiVersion "batch\/v1", kind "Job"/],
    ['no kind', cat(Buffer.from('k8s\0', 'latin1'), bytes(2, new Uint8Array(0))), /no kind/],
    ['wrong wire type', envelope('v1', 'ConfigMap', msg(1, int(1, 7))), /ObjectMeta\.name has wire type 0/],
    ['overlong varint', envelope('v1', 'ConfigMap', cat(key(4, 0), new Uint8Array(11).fill(0xff))), /varint/],
    ['compressed', envelope('v1', 'ConfigMap', new Uint8Array(0), str(3, 'gzip')), /contentEncoding "gzip"/],
    ['bad FieldsV1 JSON', envelope('v1', 'ConfigMap', msg(1, msg(17, msg(7, str(1, '{nope'))))), /FieldsV1 does not hold valid JSON/],
  ];
  for (const [name, body, re] of cases) t.throws(() => decodeKubeProtobuf(body), { name: 'ProtobufError', message: re }, name);
  t.ok(new ProtobufError('x') instanceof Error);
});

t.test('every type a table names exists', async (t) => {
  const wellKnown = new Set(['s', 'b', 'i32', 'i64', 'y', 'f64', 'f32', 'Time', 'MicroTime', 'Duration', 'Quantity', 'IntOrString', 'RawExtension', 'FieldsV1']);
  const missing: string[] = [];
  for (const [name, table] of Object.entries(MESSAGES)) {
    for (const [num, [, type, flags = '']] of Object.entries(table)) {
      const base = type.startsWith('map:') ? type.slice(4) : type;
      if (!wellKnown.has(base) && !MESSAGES[base]) missing.push(`${name}.${num}: ${type}`);
      if (!/^[rz]*$/.test(flags)) missing.push(`${name}.${num}: flags ${flags}`);
    }
  }
  for (const m of Object.values(KINDS)) if (!MESSAGES[m]) missing.push(`kind ${m}`);
  t.strictSame(missing, []);
  t.ok(Object.keys(MESSAGES).length > 200, 'all messages reachable from the accepted kinds');
});

t.test('Go duration strings', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1ns'],
    [1500, '1.5µs'],
    [2_000_000, '2ms'],
    [1_500_000_000, '1.5s'],
    [60e9, '1m0s'],
    [3600e9, '1h0m0s'],
    [3723e9, '1h2m3s'],
    [-90e9, '-1m30s'],
  ];
  for (const [ns, want] of cases) t.equal(formatGoDuration(ns), want, String(ns));
});

t.test('the API server accepts protobuf bodies and answers JSON', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const post = (path: string, body: Uint8Array, method = 'POST') =>
    s.api.app.request(path, { method, body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf,application/json' } });

  const created = await post('/api/v1/namespaces/default/secrets?fieldManager=kubectl-create', Buffer.from(captured[0][1], 'base64'));
  t.equal(created.status, 201);
  t.match(created.headers.get('content-type') ?? '', /application\/json/);
  const secret = (await created.json()) as { metadata: { name: string; uid?: string }; data: Record<string, string> };
  t.equal(secret.metadata.name, 's1');
  t.ok(secret.metadata.uid);
  t.same(secret.data, { a: 'Yg==', pw: 'aHVudGVyMg==' });

  const dep = await post('/apis/apps/v1/namespaces/default/deployments', Buffer.from(captured[3][1], 'base64'));
  t.equal(dep.status, 201);
  const got = await s.json('GET', '/apis/apps/v1/namespaces/default/deployments/web');
  t.equal(got.body.spec.replicas, 2);
  t.equal(got.body.spec.template.spec.containers[0].image, 'nginx:1.25');

  // DELETE with a protobuf DeleteOptions body.
  const del = await post('/api/v1/namespaces/default/secrets/s1', envelope('v1', 'DeleteOptions', str(4, 'Background')), 'DELETE');
  t.equal(del.status, 200);
  t.equal((await s.call('GET', '/api/v1/namespaces/default/secrets/s1')).status, 404);

  const bad = await post('/api/v1/namespaces/default/configmaps', Buffer.from('{"metadata":{"name":"x"}}'));
  t.equal(bad.status, 400);
  const status = (await bad.json()) as { reason: string; message: string };
  t.equal(status.reason, 'BadRequest');
  t.match(status.message, /k8s\\x00/);

  const unknownKind = await post('/api/v1/namespaces/default/configmaps', envelope('batch/v1', 'Job', new Uint8Array(0)));
  t.equal(unknownKind.status, 400);
});
