import t from 'tap';
import type { Node } from 'kubernetes-types/core/v1.js';
import {
  bridgeName,
  desiredRoutes,
  diffRoutes,
  ipInCidr,
  networkMismatch,
  networkSpec,
  parseCidr,
  rulesRestoreInput,
  type ObservedNetwork,
} from '../../pkg/network/plan.js';

function node(name: string, podCIDR?: string, ip?: string, extra: { podCIDRs?: string[]; addresses?: { type: string; address: string }[] } = {}): Node {
  return {
    metadata: { name },
    spec: { ...(podCIDR ? { podCIDR } : {}), ...(extra.podCIDRs ? { podCIDRs: extra.podCIDRs } : {}) },
    status: { addresses: extra.addresses ?? (ip ? [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }] : []) },
  };
}

t.test('parseCidr', async (t) => {
  for (const [s, want] of [
    ['10.42.0.0/16', { base: 0x0a2a0000, prefix: 16 }],
    ['10.42.3.0/24', { base: 0x0a2a0300, prefix: 24 }],
    ['0.0.0.0/0', { base: 0, prefix: 0 }],
    ['10.42.3.7/24', undefined], // not a network address
    ['10.42.3.0/33', undefined],
    ['10.42.3.0', undefined],
    ['fd00::/64', undefined],
    ['10.42.300.0/24', undefined],
  ] as const) {
    t.same(parseCidr(s), want, s);
  }
  t.ok(ipInCidr('10.42.3.9', '10.42.3.0/24'));
  t.notOk(ipInCidr('10.42.4.9', '10.42.3.0/24'));
});

t.test('the network spec: name, bridge, subnet, gateway, no Docker masquerade', async (t) => {
  const s = networkSpec('worker-1', '10.42.3.0/24');
  t.equal(s.name, 'orch-worker-1');
  t.equal(s.subnet, '10.42.3.0/24');
  t.equal(s.gateway, '10.42.3.1');
  t.same(s.options, { 'com.docker.network.bridge.name': bridgeName('worker-1'), 'com.docker.network.bridge.enable_ip_masquerade': 'false' });
  t.same(s.labels, { 'io.orch.pod-network': 'worker-1' });
  t.throws(() => networkSpec('w', '10.42.3.0/31'), /not an IPv4 network/);
  t.throws(() => networkSpec('w', 'fd00::/64'), /not an IPv4 network/);
});

t.test('bridge names fit IFNAMSIZ and differ per node', async (t) => {
  const long = 'a-very-long-node-name-that-goes-on.example.com';
  for (const n of ['a', 'worker-1', long]) {
    t.match(bridgeName(n), /^orch[0-9a-f]{8}$/);
    t.ok(bridgeName(n).length <= 15);
  }
  t.not(bridgeName('worker-1'), bridgeName('worker-2'));
  t.equal(bridgeName(long), bridgeName(long), 'stable');
});

t.test('networkMismatch names each difference', async (t) => {
  const want = networkSpec('w', '10.42.3.0/24');
  const ok: ObservedNetwork = { id: 'x', subnet: want.subnet, gateway: want.gateway, options: { ...want.options, other: 'kept' }, labels: { ...want.labels }, containers: [] };
  t.same(networkMismatch(ok, want), [], 'extra options do not matter');
  const cases: [Partial<ObservedNetwork>, RegExp][] = [
    [{ subnet: '10.42.4.0/24' }, /^subnet 10\.42\.4\.0\/24 \(want 10\.42\.3\.0\/24\)$/],
    [{ gateway: '10.42.3.254' }, /^gateway/],
    [{ options: { ...want.options, 'com.docker.network.bridge.enable_ip_masquerade': 'true' } }, /enable_ip_masquerade=true \(want false\)/],
    [{ options: {} }, /bridge\.name= \(want orch/],
    [{ labels: { 'io.orch.pod-network': 'other' } }, /label io\.orch\.pod-network=other/],
  ];
  for (const [patch, re] of cases) {
    const why = networkMismatch({ ...ok, ...patch }, want);
    t.ok(why.length >= 1, JSON.stringify(patch));
    t.match(why[0], re);
  }
});

t.test('desiredRoutes: one route per other node, via its InternalIP', async (t) => {
  const self = { nodeName: 'a', podCIDR: '10.42.0.0/24', nodeIP: '10.99.0.2' };
  const cases: { name: string; nodes: Node[]; want: { cidr: string; via: string }[] }[] = [
    { name: 'only us', nodes: [node('a', '10.42.0.0/24', '10.99.0.2')], want: [] },
    {
      name: 'two others, sorted by range',
      nodes: [node('a', '10.42.0.0/24', '10.99.0.2'), node('c', '10.42.2.0/24', '10.99.0.4'), node('b', '10.42.1.0/24', '10.99.0.3')],
      want: [
        { cidr: '10.42.1.0/24', via: '10.99.0.3' },
        { cidr: '10.42.2.0/24', via: '10.99.0.4' },
      ],
    },
    { name: 'no podCIDR yet', nodes: [node('b', undefined, '10.99.0.3')], want: [] },
    { name: 'no InternalIP', nodes: [node('b', '10.42.1.0/24')], want: [] },
    {
      name: 'podCIDRs only, and an IPv6 InternalIP first',
      nodes: [node('b', undefined, undefined, { podCIDRs: ['10.42.1.0/24'], addresses: [{ type: 'InternalIP', address: 'fd00::3' }, { type: 'InternalIP', address: '10.99.0.3' }] })],
      want: [{ cidr: '10.42.1.0/24', via: '10.99.0.3' }],
    },
    { name: 'outside the cluster CIDR', nodes: [node('b', '192.168.1.0/24', '10.99.0.3')], want: [] },
    { name: 'a node claiming our range', nodes: [node('b', '10.42.0.0/24', '10.99.0.3')], want: [] },
    { name: 'a node claiming our address', nodes: [node('b', '10.42.1.0/24', '10.99.0.2')], want: [] },
    {
      name: 'two claim one range: the first by name wins',
      nodes: [node('c', '10.42.1.0/24', '10.99.0.4'), node('b', '10.42.1.0/24', '10.99.0.3')],
      want: [{ cidr: '10.42.1.0/24', via: '10.99.0.3' }],
    },
    { name: 'a malformed range', nodes: [node('b', '10.42.1.5/24', '10.99.0.3')], want: [] },
  ];
  for (const c of cases) t.same(desiredRoutes(c.nodes, self, '10.42.0.0/16'), c.want, c.name);
  t.throws(() => desiredRoutes([], self, 'nonsense'), /cluster CIDR/);
});

t.test('diffRoutes', async (t) => {
  const r = (cidr: string, via: string) => ({ cidr, via });
  const cases = [
    { name: 'nothing to do', have: [r('10.42.1.0/24', '10.99.0.3')], want: [r('10.42.1.0/24', '10.99.0.3')], replace: [], remove: [] },
    { name: 'new node', have: [], want: [r('10.42.1.0/24', '10.99.0.3')], replace: [r('10.42.1.0/24', '10.99.0.3')], remove: [] },
    { name: 'node gone', have: [r('10.42.1.0/24', '10.99.0.3')], want: [], replace: [], remove: [r('10.42.1.0/24', '10.99.0.3')] },
    { name: 'node moved', have: [r('10.42.1.0/24', '10.99.0.3')], want: [r('10.42.1.0/24', '10.99.0.9')], replace: [r('10.42.1.0/24', '10.99.0.9')], remove: [] },
  ];
  for (const c of cases) t.same(diffRoutes(c.have, c.want), { replace: c.replace, remove: c.remove }, c.name);
});

t.test('the rules: our two chains only, masquerade leaving the cluster, forward within it', async (t) => {
  const text = rulesRestoreInput('10.42.3.0/24', '10.42.0.0/16');
  const lines = text.split('\n').filter((l) => l !== '');
  t.same(
    lines.filter((l) => l.startsWith('*') || l.startsWith(':') || l === 'COMMIT'),
    ['*nat', ':ORCH-POSTROUTING - [0:0]', 'COMMIT', '*filter', ':ORCH-FORWARD - [0:0]', 'COMMIT'],
    'declares only our chains (with --noflush nothing else is flushed)',
  );
  const rules = lines.filter((l) => l.startsWith('-A'));
  t.equal(rules.length, 3);
  t.match(rules[0], /^-A ORCH-POSTROUTING -s 10\.42\.3\.0\/24 ! -d 10\.42\.0\.0\/16 .*-j MASQUERADE$/);
  t.match(rules[1], /^-A ORCH-FORWARD -s 10\.42\.0\.0\/16 .*-j ACCEPT$/);
  t.match(rules[2], /^-A ORCH-FORWARD -d 10\.42\.0\.0\/16 .*-j ACCEPT$/);
});
