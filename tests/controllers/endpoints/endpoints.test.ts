import t from 'tap';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import {
  HEADLESS_LABEL,
  TRIGGER_TIME_ANNOTATION,
  computeSubsets,
  findPort,
  managesEndpoints,
  planEndpoints,
  podChangeMatters,
  shouldPodBeInEndpoints,
} from '../../../pkg/controllers/endpoints/endpoints.js';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  labels?: Record<string, string>;
  deleting?: boolean;
  phase?: string;
  node?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  hostname?: string;
  subdomain?: string;
  ns?: string;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      resourceVersion: '1',
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      hostname: o.hostname,
      subdomain: o.subdomain,
      containers: [{ name: 'c', image: 'x', ports: o.ports }],
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: o.ip,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function svc(spec: Service['spec'] = {}, labels?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: { clusterIP: '10.43.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  };
}

const ref = (name: string) => ({ kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` });

t.test('managesEndpoints', async (t) => {
  const cases: [string, Service, boolean][] = [
    ['selector', svc(), true],
    ['no selector', svc({ selector: undefined }), false],
    ['empty selector', svc({ selector: {} }), false],
    ['ExternalName', svc({ type: 'ExternalName', externalName: 'example.com' }), false],
  ];
  for (const [name, s, want] of cases) t.equal(managesEndpoints(s), want, name);
});

t.test('shouldPodBeInEndpoints', async (t) => {
  const cases: [string, Pod, boolean, boolean][] = [
    ['running with IP', pod('a', { ip: '10.0.0.1' }), false, true],
    ['no IP', pod('a'), false, false],
    ['terminating', pod('a', { ip: '10.0.0.1', deleting: true }), false, false],
    ['terminating, published', pod('a', { ip: '10.0.0.1', deleting: true }), true, true],
    ['succeeded', pod('a', { ip: '10.0.0.1', phase: 'Succeeded' }), true, false],
    ['failed', pod('a', { ip: '10.0.0.1', phase: 'Failed' }), false, false],
    ['not ready still belongs (as not ready)', pod('a', { ip: '10.0.0.1', ready: false }), false, true],
  ];
  for (const [name, p, includeTerminating, want] of cases) t.equal(shouldPodBeInEndpoints(p, includeTerminating), want, name);
});

t.test('findPort', async (t) => {
  const named = pod('a', { ports: [{ name: 'web', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] });
  const cases: [string, Pod, Parameters<typeof findPort>[1], number | undefined][] = [
    ['number', named, { port: 80, targetPort: 9090 }, 9090],
    ['absent: the port itself', named, { port: 80 }, 80],
    ['by name', named, { port: 80, targetPort: 'web' }, 8080],
    ['by name, protocol must match', named, { port: 53, targetPort: 'dns' }, undefined],
    ['by name and UDP', named, { port: 53, targetPort: 'dns', protocol: 'UDP' }, 53],
    ['name missing on pod', named, { port: 80, targetPort: 'metrics' }, undefined],
  ];
  for (const [name, p, sp, want] of cases) t.equal(findPort(p, sp), want, name);
});

t.test('computeSubsets', async (t) => {
  const cases: { name: string; svc: Service; pods: Pod[]; want: unknown }[] = [
    { name: 'no pods', svc: svc(), pods: [], want: [] },
    {
      name: 'ready and not ready, sorted by IP',
      svc: svc(),
      pods: [pod('b', { ip: '10.0.0.2' }), pod('a', { ip: '10.0.0.1', node: 'n2' }), pod('c', { ip: '10.0.0.3', ready: false })],
      want: [
        {
          addresses: [
            { ip: '10.0.0.1', nodeName: 'n2', targetRef: ref('a') },
            { ip: '10.0.0.2', nodeName: 'n1', targetRef: ref('b') },
          ],
          notReadyAddresses: [{ ip: '10.0.0.3', nodeName: 'n1', targetRef: ref('c') }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    },
    {
      name: 'other labels, other namespace, no IP, terminating, finished: left out',
      svc: svc(),
      pods: [
        pod('x', { ip: '10.0.0.9', labels: { app: 'db' } }),
        pod('y', { ip: '10.0.0.8', ns: 'other' }),
        pod('z'),
        pod('t', { ip: '10.0.0.7', deleting: true }),
        pod('s', { ip: '10.0.0.6', phase: 'Succeeded' }),
      ],
      want: [],
    },
    {
      name: 'publishNotReadyAddresses: unready and terminating pods are addresses',
      svc: svc({ publishNotReadyAddresses: true }),
      pods: [pod('a', { ip: '10.0.0.1', ready: false }), pod('t', { ip: '10.0.0.7', deleting: true })],
      want: [
        {
          addresses: [
            { ip: '10.0.0.1', nodeName: 'n1', targetRef: ref('a') },
            { ip: '10.0.0.7', nodeName: 'n1', targetRef: ref('t') },
          ],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    },
    {
      name: 'named target port: subsets by port set, pods without the port left out',
      svc: svc({ ports: [{ name: 'http', port: 80, targetPort: 'web' }] }),
      pods: [
        pod('a', { ip: '10.0.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
        pod('b', { ip: '10.0.0.2', ports: [{ name: 'web', containerPort: 9090 }] }),
        pod('c', { ip: '10.0.0.3', ports: [{ name: 'web', containerPort: 8080 }] }),
        pod('d', { ip: '10.0.0.4', ports: [{ name: 'other', containerPort: 8080 }] }),
      ],
      want: [
        {
          addresses: [
            { ip: '10.0.0.1', nodeName: 'n1', targetRef: ref('a') },
            { ip: '10.0.0.3', nodeName: 'n1', targetRef: ref('c') },
          ],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
        { addresses: [{ ip: '10.0.0.2', nodeName: 'n1', targetRef: ref('b') }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
      ],
    },
    {
      name: 'several ports, sorted by name',
      svc: svc({
        ports: [
          { name: 'https', port: 443, targetPort: 8443 },
          { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP', appProtocol: 'dns' },
        ],
      }),
      pods: [pod('a', { ip: '10.0.0.1' })],
      want: [
        {
          addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: ref('a') }],
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', appProtocol: 'dns' },
            { name: 'https', port: 8443, protocol: 'TCP' },
          ],
        },
      ],
    },
    {
      name: 'headless without ports; hostname when the pod names this subdomain',
      svc: svc({ clusterIP: 'None', ports: [] }),
      pods: [pod('a', { ip: '10.0.0.1', hostname: 'a0', subdomain: 'web' }), pod('b', { ip: '10.0.0.2', hostname: 'b0', subdomain: 'other' })],
      want: [
        {
          addresses: [
            { ip: '10.0.0.1', hostname: 'a0', nodeName: 'n1', targetRef: ref('a') },
            { ip: '10.0.0.2', nodeName: 'n1', targetRef: ref('b') },
          ],
        },
      ],
    },
    { name: 'cluster IP without ports: nothing', svc: svc({ ports: [] }), pods: [pod('a', { ip: '10.0.0.1' })], want: [] },
  ];
  for (const c of cases) t.same(computeSubsets(c.svc, c.pods), c.want, c.name);
});

t.test('planEndpoints', async (t) => {
  const pods = [pod('a', { ip: '10.0.0.1' })];
  const at = new Date('2024-05-01T10:00:00.000Z');
  const created = planEndpoints(svc({}, { team: 'x' }), pods, undefined, at);
  t.equal(created.action, 'create');
  if (created.action === 'none') return;
  t.same(created.endpoints.metadata, { name: 'web', namespace: 'default', labels: { team: 'x' }, annotations: { [TRIGGER_TIME_ANNOTATION]: '2024-05-01T10:00:00.000Z' } });

  // As the server would return it: keys in another order, extra metadata.
  const stored: Endpoints = JSON.parse(JSON.stringify({ ...created.endpoints, metadata: { ...created.endpoints.metadata, resourceVersion: '7', uid: 'u' } }));
  const cases: { name: string; svc: Service; pods: Pod[]; action: string; check?: (e: Endpoints) => void }[] = [
    { name: 'unchanged: nothing to write', svc: svc({}, { team: 'x' }), pods, action: 'none' },
    { name: 'unchanged when pods come in another order', svc: svc({}, { team: 'x' }), pods: [...pods].reverse(), action: 'none' },
    {
      name: 'a new pod: update keeping resourceVersion',
      svc: svc({}, { team: 'x' }),
      pods: [...pods, pod('b', { ip: '10.0.0.2' })],
      action: 'update',
      check: (e) => {
        t.equal(e.metadata?.resourceVersion, '7');
        t.equal(e.subsets?.[0]?.addresses?.length, 2);
      },
    },
    {
      name: 'labels follow the Service',
      svc: svc({}, { team: 'y' }),
      pods,
      action: 'update',
      check: (e) => t.same(e.metadata?.labels, { team: 'y' }),
    },
    {
      name: 'headless gets the headless label',
      svc: svc({ clusterIP: 'None' }, { team: 'x' }),
      pods,
      action: 'update',
      check: (e) => t.same(e.metadata?.labels, { team: 'x', [HEADLESS_LABEL]: '' }),
    },
    {
      name: 'all pods gone: no subsets',
      svc: svc({}, { team: 'x' }),
      pods: [],
      action: 'update',
      check: (e) => t.equal(e.subsets, undefined),
    },
  ];
  for (const c of cases) {
    const plan = planEndpoints(c.svc, c.pods, stored, at);
    t.equal(plan.action, c.action, c.name);
    if (plan.action !== 'none') c.check?.(plan.endpoints);
  }
  const noTrigger = planEndpoints(svc(), [], stored);
  t.ok(noTrigger.action === 'update' && noTrigger.endpoints.metadata?.annotations === undefined, 'unknown trigger time drops the annotation');
});

t.test('podChangeMatters', async (t) => {
  const base = pod('a', { ip: '10.0.0.1' });
  const bump = (p: Pod, f: (p: Pod) => Pod): Pod => f({ ...structuredClone(p), metadata: { ...p.metadata, resourceVersion: '2' } });
  const cases: [string, Pod, boolean][] = [
    ['same resourceVersion', structuredClone(base), false],
    ['restart count only', bump(base, (p) => ({ ...p, status: { ...p.status, containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: true, restartCount: 3 }] } })), false],
    ['readiness', bump(base, (p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' }] } })), true],
    ['IP', bump(base, (p) => ({ ...p, status: { ...p.status, podIP: '10.0.0.5' } })), true],
    ['labels', bump(base, (p) => ({ ...p, metadata: { ...p.metadata, labels: { app: 'db' } } })), true],
    ['terminating', bump(base, (p) => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } })), true],
  ];
  for (const [name, next, want] of cases) t.equal(podChangeMatters(base, next), want, name);
});
