import t from 'tap';
import type { ConfigMap, Container, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { ContainerConfigError, expand, makeEnvironment, serviceEnv, type EnvContext } from '../../pkg/kubelet/env.js';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'prod', uid: 'u-1', labels: { app: 'web' }, annotations: { note: 'hi' } },
  spec: { nodeName: 'n1', serviceAccountName: 'sa', containers: [] },
};
const cms: Record<string, ConfigMap> = { cfg: { metadata: { name: 'cfg' }, data: { mode: 'fast', level: '3' } } };
const secrets: Record<string, Secret> = { sec: { metadata: { name: 'sec' }, data: { pw: Buffer.from('s3cret').toString('base64') } } };
const ctx: EnvContext = {
  nodeIP: '10.0.0.5',
  podIP: '10.88.0.9',
  getConfigMap: async (_ns, n) => cms[n],
  getSecret: async (_ns, n) => secrets[n],
  nodeCpuCores: 4,
  nodeMemoryBytes: 8 * 1024 ** 3,
};

t.test('expansion as Kubernetes does it', async (t) => {
  const vars: Record<string, string> = { A: 'x', B: 'y' };
  const cases: [string, string][] = [
    ['$(A)', 'x'],
    ['$(A)-$(B)', 'x-y'],
    ['$$(A)', '$(A)'],
    ['$(C)', '$(C)'],
    ['$A', '$A'],
    ['a$', 'a$'],
    ['$(A', '$(A'],
    ['$$$$', '$$'],
  ];
  for (const [input, want] of cases) t.equal(expand(input, (n) => vars[n]), want, input);
});

t.test('values', async (t) => {
  const c = (env: Container['env'], envFrom?: Container['envFrom'], resources?: Container['resources']): Container => ({ name: 'c', env, envFrom, resources });
  const cases: { name: string; c: Container; want: Record<string, string> }[] = [
    { name: 'literal and expansion', c: c([{ name: 'A', value: '1' }, { name: 'B', value: '$(A)-2' }]), want: { A: '1', B: '1-2' } },
    {
      name: 'fieldRef',
      c: c([
        { name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'U', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'AN', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'HIP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'PIP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'PIPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
      ]),
      want: { N: 'web', NS: 'prod', U: 'u-1', L: 'web', AN: 'hi', NODE: 'n1', SA: 'sa', HIP: '10.0.0.5', PIP: '10.88.0.9', PIPS: '10.88.0.9' },
    },
    {
      name: 'resourceFieldRef',
      c: c(
        [
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'CPUM', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        ],
        undefined,
        { limits: { cpu: '250m', memory: '128Mi' } },
      ),
      want: { CPU: '1', CPUM: '250', MEM: '128' },
    },
    { name: 'resourceFieldRef without limit: node allocatable', c: c([{ name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }]), want: { CPU: '4' } },
    {
      name: 'configMap and secret keys',
      c: c([
        { name: 'M', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
        { name: 'P', valueFrom: { secretKeyRef: { name: 'sec', key: 'pw' } } },
        { name: 'O', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
        { name: 'OK', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey', optional: true } } },
      ]),
      want: { M: 'fast', P: 's3cret' },
    },
    {
      name: 'envFrom with prefix; env wins',
      c: c([{ name: 'CFG_mode', value: 'slow' }], [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'sec' } }, { configMapRef: { name: 'gone', optional: true } }]),
      want: { CFG_mode: 'slow', CFG_level: '3', pw: 's3cret' },
    },
  ];
  for (const cs of cases) {
    const env = await makeEnvironment(pod, cs.c, ctx);
    t.same(Object.fromEntries(env.map((e) => [e.name, e.value])), cs.want, cs.name);
  }
});

t.test('missing required sources: CreateContainerConfigError with Kubernetes messages', async (t) => {
  const cases: [Container, string][] = [
    [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, 'configmap "nope" not found'],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, "couldn't find key k in ConfigMap prod/cfg"],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, 'secret "nope" not found'],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }] }, "couldn't find key k in Secret prod/sec"],
    [{ name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, 'secret "nope" not found'],
  ];
  for (const [c, message] of cases) await t.rejects(makeEnvironment(pod, c, ctx), new ContainerConfigError(message), message);
});

t.test('service links', async (t) => {
  const env = serviceEnv([{ metadata: { name: 'my-db' }, spec: { clusterIP: '10.43.0.20', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] } }, { metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 1 }] } }]);
  t.same(Object.fromEntries(env), {
    MY_DB_SERVICE_HOST: '10.43.0.20',
    MY_DB_SERVICE_PORT: '5432',
    MY_DB_SERVICE_PORT_PG: '5432',
    MY_DB_PORT: 'tcp://10.43.0.20:5432',
    MY_DB_PORT_5432_TCP: 'tcp://10.43.0.20:5432',
    MY_DB_PORT_5432_TCP_PROTO: 'tcp',
    MY_DB_PORT_5432_TCP_PORT: '5432',
    MY_DB_PORT_5432_TCP_ADDR: '10.43.0.20',
  });
});
