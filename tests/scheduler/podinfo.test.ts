import t from 'tap';
import { DEFAULT_MEMORY_REQUEST, nodeIsReady, podInfoOf, podRequests, resourcesOf } from '../../pkg/scheduler/podinfo.js';
import { container, makeNode, makePod } from './fixtures.js';

t.test('podRequests: max(sum(containers) + sidecars, largest init) + overhead', async (t) => {
  const cases: { name: string; pod: ReturnType<typeof makePod>; cpu: number; memory: number; gpu?: number }[] = [
    { name: 'one container', pod: makePod('a', { cpu: '250m', memory: '64Mi' }), cpu: 250, memory: 64 * 2 ** 20 },
    {
      name: 'containers sum',
      pod: makePod('b', { containers: [container('x', { cpu: '1' }), container('y', { cpu: '500m', memory: '1Gi' })] }),
      cpu: 1500,
      memory: 2 ** 30,
    },
    {
      name: 'init container larger than the sum wins',
      pod: makePod('c', { containers: [container('x', { cpu: '1' }), container('y', { cpu: '1' })], initContainers: [container('i', { cpu: '3', memory: '1Mi' })] }),
      cpu: 3000,
      memory: 2 ** 20,
    },
    {
      name: 'init containers take the max, not the sum',
      pod: makePod('d', { containers: [container('x', { cpu: '100m' })], initContainers: [container('i1', { cpu: '1' }), container('i2', { cpu: '2' })] }),
      cpu: 2000,
      memory: 0,
    },
    {
      name: 'a sidecar adds to the containers and to later init containers',
      pod: makePod('e', {
        containers: [container('x', { cpu: '1' })],
        initContainers: [container('side', { cpu: '500m' }, 'Always'), container('i', { cpu: '2' })],
      }),
      cpu: 2500,
      memory: 0,
    },
    {
      name: 'extended resources',
      pod: makePod('f', { requests: { 'nvidia.com/gpu': '2', cpu: '1' } }),
      cpu: 1000,
      memory: 0,
      gpu: 2,
    },
  ];
  for (const c of cases) {
    const r = podRequests(c.pod);
    t.equal(r.milliCPU, c.cpu, `${c.name}: cpu`);
    t.equal(r.memory, c.memory, `${c.name}: memory`);
    if (c.gpu !== undefined) t.equal(r.scalar.get('nvidia.com/gpu'), c.gpu, `${c.name}: gpu`);
  }
  const withOverhead = makePod('g', { cpu: '1' });
  withOverhead.spec!.overhead = { cpu: '250m' };
  t.equal(podRequests(withOverhead).milliCPU, 1250, 'overhead is added');
});

t.test('podInfoOf: defaults for scoring, ports, owner', async (t) => {
  const info = podInfoOf(makePod('p', { cpu: '200m', owner: 'web', hostPorts: [{ hostPort: 80 }, { hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }], priority: 7 }));
  t.equal(info.nonZeroMilliCPU, 200);
  t.equal(info.nonZeroMemory, DEFAULT_MEMORY_REQUEST, 'memory unset: 200Mi for scoring');
  t.equal(info.requests.memory, 0, 'but 0 for fitting');
  t.same(info.hostPorts, [
    { hostIP: '0.0.0.0', protocol: 'TCP', port: 80 },
    { hostIP: '10.0.0.1', protocol: 'UDP', port: 53 },
  ]);
  t.equal(info.ownerUid, 'rs-web');
  t.equal(info.priority, 7);
  const bare = podInfoOf(makePod('q'));
  t.equal(bare.nonZeroMilliCPU, 100);
  t.equal(bare.requests.milliCPU, 0);
});

t.test('resourcesOf and nodeIsReady', async (t) => {
  const r = resourcesOf({ cpu: '3800m', memory: '7Gi', pods: '110', 'ephemeral-storage': '10G', 'hugepages-2Mi': '0' });
  t.equal(r.milliCPU, 3800);
  t.equal(r.memory, 7 * 2 ** 30);
  t.equal(r.pods, 110);
  t.equal(r.ephemeralStorage, 1e10);
  t.ok(nodeIsReady(makeNode('n')));
  t.notOk(nodeIsReady(makeNode('n', { ready: false })));
  t.notOk(nodeIsReady({ metadata: { name: 'x' } }), 'no conditions: not ready');
});
