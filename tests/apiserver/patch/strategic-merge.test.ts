import t from 'tap';
import { applyStrategicMergePatch, strategicMerge } from '../../../pkg/apiserver/patch/strategic-merge.js';
import { patchMetaForType } from '../../../pkg/apiserver/patch/patch-meta.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../pkg/apiserver/patch/json.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Deployment as the server stores it after `kubectl apply` of an nginx:1.25 manifest. */
function liveDeployment(): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'u-1',
      resourceVersion: '7',
      generation: 1,
      labels: { app: 'web' },
      annotations: { [LAST_APPLIED]: '{"old":true}', 'deployment.kubernetes.io/revision': '1' },
      finalizers: ['a.example.com/x', 'b.example.com/y'],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              resources: { limits: { cpu: '1' } },
              terminationMessagePath: '/dev/termination-log',
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
          tolerations: [{ key: 'k1', operator: 'Exists' }],
          restartPolicy: 'Always',
        },
      },
    },
  };
}

function deploymentPatch(patch: JsonValue): JsonObject {
  return applyStrategicMergePatch(liveDeployment(), patch, { apiVersion: 'apps/v1', kind: 'Deployment' });
}

/** Reads a nested value by plain keys and indexes, for assertions. */
function at(v: JsonValue | undefined, ...path: (string | number)[]): JsonValue | undefined {
  for (const p of path) {
    if (v === undefined || v === null || typeof v !== 'object') return undefined;
    v = Array.isArray(v) ? (typeof p === 'number' ? v[p] : undefined) : typeof p === 'string' ? v[p] : undefined;
  }
  return v;
}

const containerPath = ['spec', 'template', 'spec', 'containers'] as const;

t.test('kubectl client-side re-apply body (KUBE-API-NOTES "Apply and patch")', async (t) => {
  const live = liveDeployment();
  const patch: JsonObject = {
    metadata: { annotations: { [LAST_APPLIED]: '{"new":true}' } },
    spec: {
      replicas: 2,
      template: { spec: { '$setElementOrder/containers': [{ name: 'c' }], containers: [{ image: 'nginx:1.26', name: 'c' }] } },
    },
  };
  const out = applyStrategicMergePatch(live, patch, { apiVersion: 'apps/v1', kind: 'Deployment' });
  const want = liveDeployment();
  const spec = at(want, 'spec');
  const containers = at(want, ...containerPath);
  const annotations = at(want, 'metadata', 'annotations');
  if (!spec || typeof spec !== 'object' || Array.isArray(spec) || !Array.isArray(containers) || !annotations || typeof annotations !== 'object' || Array.isArray(annotations)) {
    throw new Error('fixture shape');
  }
  spec.replicas = 2;
  annotations[LAST_APPLIED] = '{"new":true}';
  const c0 = containers[0];
  if (c0 && typeof c0 === 'object' && !Array.isArray(c0)) c0.image = 'nginx:1.26';
  t.strictSame(out, want, 'image changed in place, every other container field kept');
  t.strictSame(live, liveDeployment(), 'live object untouched');
});

const containerCases: { name: string; patch: JsonValue; containers: JsonValue }[] = [
  {
    name: 'add a container with $setElementOrder puts it where the order says',
    patch: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'c' }], containers: [{ name: 'side', image: 'busybox' }] },
    containers: [{ name: 'side', image: 'busybox' }, 'c'],
  },
  {
    name: 'remove a container with $patch: delete',
    patch: { '$setElementOrder/containers': [], containers: [{ name: 'c', $patch: 'delete' }] },
    containers: [],
  },
  {
    name: '$patch: replace on a list replaces it',
    patch: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] },
    containers: [{ name: 'only', image: 'x' }],
  },
];

t.test('containers merge by name', async (t) => {
  for (const c of containerCases) {
    const out = deploymentPatch({ spec: { template: { spec: c.patch } } });
    const want = Array.isArray(c.containers) ? c.containers.map((x) => (x === 'c' ? at(liveDeployment(), ...containerPath, 0) ?? null : x)) : c.containers;
    t.strictSame(at(out, ...containerPath), want, c.name);
  }
});

t.test('env merges by name; null and $patch: delete remove', async (t) => {
  const out = deploymentPatch({
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'c',
              env: [
                { name: 'B', value: '20' },
                { name: 'C', value: '3' },
                { name: 'A', $patch: 'delete' },
              ],
              resources: null,
              ports: [{ containerPort: 80, name: 'http' }],
            },
          ],
        },
      },
    },
  });
  t.strictSame(at(out, ...containerPath, 0, 'env'), [
    { name: 'B', value: '20' },
    { name: 'C', value: '3' },
  ]);
  t.equal(at(out, ...containerPath, 0, 'resources'), undefined, 'resources: null deletes the field');
  t.strictSame(at(out, ...containerPath, 0, 'ports'), [{ containerPort: 80, protocol: 'TCP', name: 'http' }], 'ports merge on containerPort');
});

t.test('null removes fields at any depth', async (t) => {
  const out = deploymentPatch({ metadata: { labels: { app: null }, annotations: null }, spec: { strategy: { rollingUpdate: null }, nothere: null } });
  t.strictSame(at(out, 'metadata', 'labels'), {});
  t.equal(at(out, 'metadata', 'annotations'), undefined);
  t.strictSame(at(out, 'spec', 'strategy'), { type: 'RollingUpdate' });
  const spec = at(out, 'spec');
  t.ok(isJsonObject(spec) && !Object.hasOwn(spec, 'nothere'), 'a null for an absent field is dropped');
});

t.test('finalizers merge as a set', async (t) => {
  const cases: { name: string; patch: JsonObject; want: JsonValue }[] = [
    // Patch items keep the patch's order; b (server-only) stays after a, where it was.
    { name: 'add dedupes', patch: { finalizers: ['c.example.com/z', 'a.example.com/x'] }, want: ['c.example.com/z', 'a.example.com/x', 'b.example.com/y'] },
    { name: 'add a new one', patch: { finalizers: ['c.example.com/z'] }, want: ['c.example.com/z', 'a.example.com/x', 'b.example.com/y'] },
    { name: '$deleteFromPrimitiveList', patch: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/x'] }, want: ['b.example.com/y'] },
    {
      name: '$setElementOrder with an addition and a deletion (kubectl three-way patch)',
      patch: {
        '$setElementOrder/finalizers': ['c.example.com/z', 'b.example.com/y'],
        '$deleteFromPrimitiveList/finalizers': ['a.example.com/x'],
        finalizers: ['c.example.com/z'],
      },
      want: ['c.example.com/z', 'b.example.com/y'],
    },
  ];
  for (const c of cases) t.strictSame(at(deploymentPatch({ metadata: c.patch }), 'metadata', 'finalizers'), c.want, c.name);
});

t.test('lists without a merge key are replaced', async (t) => {
  const out = deploymentPatch({
    spec: { template: { spec: { tolerations: [{ key: 'k2', operator: 'Exists' }], containers: [{ name: 'c', args: ['--x'] }] } } },
  });
  t.strictSame(at(out, 'spec', 'template', 'spec', 'tolerations'), [{ key: 'k2', operator: 'Exists' }]);
  t.strictSame(at(out, ...containerPath, 0, 'args'), ['--x']);
});

t.test('$patch on maps, $retainKeys', async (t) => {
  const replaced = deploymentPatch({ spec: { template: { metadata: { labels: { $patch: 'replace', app: 'web', v: '2' } } } } });
  t.strictSame(at(replaced, 'spec', 'template', 'metadata', 'labels'), { app: 'web', v: '2' });
  const merged = deploymentPatch({ metadata: { labels: { $patch: 'merge', v: '2' } } });
  t.strictSame(at(merged, 'metadata', 'labels'), { app: 'web', v: '2' });
  const strategy = deploymentPatch({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
  t.strictSame(at(strategy, 'spec', 'strategy'), { type: 'Recreate' }, 'kubectl switching to Recreate drops rollingUpdate');
  const volumes = deploymentPatch({
    spec: { template: { spec: { volumes: [{ name: 'data', $retainKeys: ['hostPath', 'name'], hostPath: { path: '/srv' } }] } } },
  });
  t.strictSame(at(volumes, 'spec', 'template', 'spec', 'volumes'), [{ name: 'data', hostPath: { path: '/srv' } }], 'volume source switched');
});

t.test('service ports merge by port', async (t) => {
  const svc: JsonObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: {
      selector: { app: 'web', tier: 'fe' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9090, protocol: 'TCP' },
      ],
    },
  };
  const out = applyStrategicMergePatch(
    svc,
    {
      spec: {
        selector: { tier: null },
        '$setElementOrder/ports': [{ port: 80 }, { port: 443 }, { port: 9090 }],
        ports: [
          { port: 80, targetPort: 8081 },
          { name: 'https', port: 443, targetPort: 8443 },
        ],
      },
    },
    { apiVersion: 'v1', kind: 'Service' },
  );
  t.strictSame(at(out, 'spec', 'ports'), [
    { name: 'http', port: 80, targetPort: 8081, protocol: 'TCP' },
    { name: 'https', port: 443, targetPort: 8443 },
    { name: 'metrics', port: 9090, protocol: 'TCP' },
  ]);
  t.strictSame(at(out, 'spec', 'selector'), { app: 'web' });
});

t.test('status conditions merge by type', async (t) => {
  const pod: JsonObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  };
  const out = applyStrategicMergePatch(pod, { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, { apiVersion: 'v1', kind: 'Pod' });
  // Without $setElementOrder new items lead, as in apimachinery (mergeSortedSlice).
  t.strictSame(at(out, 'status', 'conditions'), [
    { type: 'Ready', status: 'True' },
    { type: 'PodScheduled', status: 'True' },
  ]);
});

// Ordering cases from apimachinery's strategicpatch tests, on a list merged by name.
const orderCases: { name: string; current: JsonValue[]; patch: JsonObject; want: JsonValue[] }[] = [
  {
    name: 'preserve the order from the patch in a merging list',
    current: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }],
    patch: { containers: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', other: 'x' }] },
    want: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }, { name: '2', value: 'b', other: 'x' }],
  },
  {
    name: 'preserve the order from the patch in a merging list 2',
    current: [{ name: '1' }, { name: '2', value: 'b' }, { name: '3' }],
    patch: { containers: [{ name: '3', value: 'c' }, { name: '1', value: 'a' }] },
    want: [{ name: '2', value: 'b' }, { name: '3', value: 'c' }, { name: '1', value: 'a' }],
  },
  {
    name: 'set elements order in a list with server-only items',
    current: [{ name: '1', other: 'a' }, { name: '3', value: '3' }, { name: '4', value: '4' }, { name: '2', value: '2' }, { name: '9' }],
    patch: { '$setElementOrder/containers': [{ name: '4' }, { name: '2' }, { name: '3' }, { name: '1' }] },
    want: [{ name: '4', value: '4' }, { name: '2', value: '2' }, { name: '3', value: '3' }, { name: '1', other: 'a' }, { name: '9' }],
  },
  {
    name: 'set elements order in a list with server-only items 2',
    current: [{ name: '1', other: 'a' }, { name: '2', value: '2' }, { name: '9' }, { name: '3', value: '3' }, { name: '4', value: '4' }],
    patch: { '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] },
    want: [{ name: '2', value: '2' }, { name: '1', other: 'a' }, { name: '9' }, { name: '4', value: '4' }, { name: '3', value: '3' }],
  },
  {
    name: 'set elements order in a list with server-only items 3',
    current: [
      { name: '1', other: 'a' },
      { name: '2', value: '2' },
      { name: '7' },
      { name: '9' },
      { name: '8' },
      { name: '3', value: '3' },
      { name: '4', value: '4' },
    ],
    patch: { '$setElementOrder/containers': [{ name: '2' }, { name: '1' }, { name: '4' }, { name: '3' }] },
    want: [
      { name: '2', value: '2' },
      { name: '1', other: 'a' },
      { name: '7' },
      { name: '9' },
      { name: '8' },
      { name: '4', value: '4' },
      { name: '3', value: '3' },
    ],
  },
  {
    name: 'merge lists of maps with $setElementOrder adding at both ends',
    current: [{ name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }],
    patch: {
      '$setElementOrder/containers': [{ name: '4' }, { name: '1' }, { name: '2' }, { name: '3' }],
      containers: [{ name: '4', value: '4' }, { name: '3', value: '3' }],
    },
    want: [{ name: '4', value: '4' }, { name: '1', other: 'a' }, { name: '2', value: '2', other: 'b' }, { name: '3', value: '3' }],
  },
];

t.test('list ordering (apimachinery cases)', async (t) => {
  const podSpec = patchMetaForType('PodSpec');
  for (const c of orderCases) {
    t.strictSame(strategicMerge({ containers: c.current }, c.patch, podSpec).containers, c.want, c.name);
  }
});

t.test('errors', async (t) => {
  const cases: { name: string; run: () => unknown; code: number; message: RegExp }[] = [
    {
      name: 'kinds without struct metadata',
      run: () => applyStrategicMergePatch({}, {}, { apiVersion: 'example.com/v1', kind: 'Widget' }),
      code: 415,
      message: /not supported for Widget/,
    },
    { name: 'patch not an object', run: () => deploymentPatch([1]), code: 400, message: /must be a JSON object/ },
    {
      name: 'element without its merge key',
      run: () => deploymentPatch({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }),
      code: 422,
      message: /does not contain its merge key "name"/,
    },
    {
      name: '$setElementOrder contradicting the patch order',
      run: () =>
        deploymentPatch({
          spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'b' }, { name: 'a' }] } } },
        }),
      code: 400,
      message: /does not match its \$setElementOrder/,
    },
    {
      name: 'field outside $retainKeys',
      run: () => deploymentPatch({ spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }),
      code: 400,
      message: /not in its \$retainKeys/,
    },
    { name: 'unknown $patch', run: () => deploymentPatch({ spec: { $patch: 'frobnicate' } }), code: 400, message: /unknown \$patch directive/ },
    {
      name: 'mixed element types',
      run: () => deploymentPatch({ metadata: { finalizers: [1] } }),
      code: 422,
      message: /list element types are not identical/,
    },
  ];
  for (const c of cases) t.throws(c.run, { name: 'PatchError', code: c.code, message: c.message }, c.name);
});
