import t from 'tap';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import {
  buildServiceRules,
  portNames,
  readyEndpoints,
  renderDelete,
  renderFull,
  renderPartial,
  type ServiceRules,
} from '../../pkg/proxy/rules.js';
import { nftRunner } from '../../pkg/proxy/nft.js';
import { cmd, eps, scratchNetns, subset, svc } from './helpers.js';

const HTTP = { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 };
const web = portNames('default', 'web', HTTP);
const S = web.service;
const E5 = web.endpoint({ ip: '10.42.0.5', port: 8080 });
const E6 = web.endpoint({ ip: '10.42.0.6', port: 8080 });
const A5 = web.affinity({ ip: '10.42.0.5', port: 8080 });
const A6 = web.affinity({ ip: '10.42.0.6', port: 8080 });

function plain(r: ServiceRules): { chains: Record<string, string[]>; sets: Record<string, number>; elements: string[] } {
  return {
    chains: Object.fromEntries(r.chains),
    sets: Object.fromEntries(r.sets),
    elements: r.elements.map((e) => `${e.map}: ${e.key} : ${e.value}`),
  };
}

t.test('names are hashed, readable and stable', async (t) => {
  t.equal(S, 'service-95253a1d-default/web/tcp/http');
  t.equal(E5, 'endpoint-95253a1d-10.42.0.5/8080');
  t.equal(portNames('default', 'web', { port: 53, protocol: 'UDP' }).service.endsWith('-default/web/udp/53'), true, 'unnamed port goes by number');
});

t.test('readyEndpoints: ready only, matched by port name and protocol, deduplicated, sorted', async (t) => {
  const ep = eps('web', [
    subset(['10.42.0.6', '10.42.0.5'], [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }], ['10.42.0.9']),
    subset(['10.42.0.5', '10.42.0.10'], [{ name: 'http', port: 8080 }]),
    subset(['10.42.0.7'], [{ name: 'http', port: 8080, protocol: 'UDP' }]),
  ]);
  t.same(readyEndpoints(HTTP, ep), [
    { ip: '10.42.0.5', port: 8080 },
    { ip: '10.42.0.6', port: 8080 },
    { ip: '10.42.0.10', port: 8080 },
  ]);
  t.same(readyEndpoints({ name: 'metrics', port: 9090 }, ep), [
    { ip: '10.42.0.5', port: 9100 },
    { ip: '10.42.0.6', port: 9100 },
  ]);
  t.same(readyEndpoints({ name: 'other', port: 1 }, ep), []);
  t.same(readyEndpoints(HTTP, undefined), []);
});

interface Case {
  name: string;
  svc: Service;
  ep?: Endpoints;
  clusterCIDR?: string;
  want: ReturnType<typeof plain>;
}

const metrics = portNames('default', 'web', { name: 'metrics', port: 9090, protocol: 'TCP' });
const M5 = metrics.endpoint({ ip: '10.42.0.5', port: 9100 });
const two = eps('web', [subset(['10.42.0.5', '10.42.0.6'], [{ name: 'http', port: 8080 }])]);
const dnsPorts = [
  { name: 'dns', port: 53, protocol: 'UDP' },
  { name: 'dns-tcp', port: 53, protocol: 'TCP' },
];

const cases: Case[] = [
  {
    name: 'ClusterIP with 2 endpoints',
    svc: svc('web', '10.43.0.20', [HTTP]),
    ep: two,
    want: {
      chains: {
        [S]: [`numgen random mod 2 vmap { 0 : goto ${E5}, 1 : goto ${E6} }`],
        [E5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:8080'],
        [E6]: ['ip saddr 10.42.0.6 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.6:8080'],
      },
      sets: {},
      elements: [`service-ips: 10.43.0.20 . tcp . 80 : goto ${S}`],
    },
  },
  {
    name: 'clusterCIDR masquerades traffic from outside the pod network',
    svc: svc('web', '10.43.0.20', [HTTP]),
    ep: eps('web', [subset(['10.42.0.5'], [{ name: 'http', port: 8080 }])]),
    clusterCIDR: '10.42.0.0/16',
    want: {
      chains: {
        [S]: ['ip saddr != 10.42.0.0/16 jump mark-for-masquerade', `numgen random mod 1 vmap { 0 : goto ${E5} }`],
        [E5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:8080'],
      },
      sets: {},
      elements: [`service-ips: 10.43.0.20 . tcp . 80 : goto ${S}`],
    },
  },
  {
    name: 'named ports map to their endpoint ports; a port without endpoints rejects',
    svc: svc('web', '10.43.0.20', [HTTP, { name: 'metrics', port: 9090, protocol: 'TCP' }, { name: 'admin', port: 81, protocol: 'TCP' }]),
    ep: eps('web', [subset(['10.42.0.5'], [{ name: 'metrics', port: 9100 }, { name: 'http', port: 8080 }])]),
    want: {
      chains: {
        [S]: [`numgen random mod 1 vmap { 0 : goto ${E5} }`],
        [E5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:8080'],
        [metrics.service]: [`numgen random mod 1 vmap { 0 : goto ${M5} }`],
        [M5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:9100'],
      },
      sets: {},
      elements: [
        `service-ips: 10.43.0.20 . tcp . 80 : goto ${S}`,
        `service-ips: 10.43.0.20 . tcp . 9090 : goto ${metrics.service}`,
        'no-endpoint-services: 10.43.0.20 . tcp . 81 : goto reject-chain',
      ],
    },
  },
  {
    name: 'NodePort: external chain masquerades then joins the service chain',
    svc: svc('web', '10.43.0.20', [{ ...HTTP, nodePort: 30080 }], { type: 'NodePort' }),
    ep: eps('web', [subset(['10.42.0.5'], [{ name: 'http', port: 8080 }])]),
    want: {
      chains: {
        [web.external]: ['jump mark-for-masquerade', `goto ${S}`],
        [S]: [`numgen random mod 1 vmap { 0 : goto ${E5} }`],
        [E5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.42.0.5:8080'],
      },
      sets: {},
      elements: [`service-ips: 10.43.0.20 . tcp . 80 : goto ${S}`, `service-nodeports: tcp . 30080 : goto ${web.external}`],
    },
  },
  {
    name: 'no ready endpoint: reject elements only (ClusterIP and NodePort), no chain',
    svc: svc('web', '10.43.0.20', [{ ...HTTP, nodePort: 30080 }], { type: 'NodePort' }),
    ep: eps('web', [subset([], [{ name: 'http', port: 8080 }], ['10.42.0.5'])]),
    want: {
      chains: {},
      sets: {},
      elements: ['no-endpoint-services: 10.43.0.20 . tcp . 80 : goto reject-chain', 'no-endpoint-nodeports: tcp . 30080 : goto reject-chain'],
    },
  },
  {
    name: 'no Endpoints object at all rejects too',
    svc: svc('web', '10.43.0.20', [HTTP]),
    want: { chains: {}, sets: {}, elements: ['no-endpoint-services: 10.43.0.20 . tcp . 80 : goto reject-chain'] },
  },
  {
    name: 'sessionAffinity ClientIP: per-endpoint sets with the timeout, checked before the random choice',
    svc: svc('web', '10.43.0.20', [HTTP], { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
    ep: two,
    want: {
      chains: {
        [S]: [`ip saddr @${A5} goto ${E5}`, `ip saddr @${A6} goto ${E6}`, `numgen random mod 2 vmap { 0 : goto ${E5}, 1 : goto ${E6} }`],
        [E5]: ['ip saddr 10.42.0.5 jump mark-for-masquerade', `update @${A5} { ip saddr }`, 'meta l4proto tcp dnat to 10.42.0.5:8080'],
        [E6]: ['ip saddr 10.42.0.6 jump mark-for-masquerade', `update @${A6} { ip saddr }`, 'meta l4proto tcp dnat to 10.42.0.6:8080'],
      },
      sets: { [A5]: 600, [A6]: 600 },
      elements: [`service-ips: 10.43.0.20 . tcp . 80 : goto ${S}`],
    },
  },
  {
    name: 'node-local Service (kube-dns) is skipped',
    svc: svc('kube-dns', '10.43.0.10', dnsPorts, {}, { 'orch.dev/node-local': 'true' }),
    ep: eps('kube-dns', [subset(['10.42.0.5'], [{ name: 'dns', port: 53, protocol: 'UDP' }])]),
    want: { chains: {}, sets: {}, elements: [] },
  },
  { name: 'headless Service is skipped', svc: svc('web', 'None', [HTTP]), ep: two, want: { chains: {}, sets: {}, elements: [] } },
  {
    name: 'ExternalName Service is skipped',
    svc: { metadata: { namespace: 'default', name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } },
    want: { chains: {}, sets: {}, elements: [] },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(plain(buildServiceRules(c.svc, c.ep, { clusterCIDR: c.clusterCIDR })), c.want);
  });
}

t.test('UDP and TCP ports of one Service get separate chains and elements', async (t) => {
  const r = buildServiceRules(
    svc('dns', '10.43.0.53', dnsPorts),
    eps('dns', [subset(['10.42.0.5'], [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5353, protocol: 'TCP' }])]),
  );
  const udp = portNames('default', 'dns', dnsPorts[0] ?? { port: 0 });
  t.same(r.chains.get(udp.endpoint({ ip: '10.42.0.5', port: 5353 })), ['ip saddr 10.42.0.5 jump mark-for-masquerade', 'meta l4proto udp dnat to 10.42.0.5:5353']);
  t.same(
    r.elements.map((e) => e.key),
    ['10.43.0.53 . udp . 53', '10.43.0.53 . tcp . 53'],
  );
});

t.test('renderFull: drop and recreate our table in one script, base then services', async (t) => {
  const full = renderFull([buildServiceRules(svc('web', '10.43.0.20', [HTTP]), two)]);
  const lines = full.trimEnd().split('\n');
  t.same(lines.slice(0, 3), ['add table ip orch-proxy', 'delete table ip orch-proxy', 'add table ip orch-proxy { comment "orch service proxy"; }']);
  for (const l of [
    'add chain ip orch-proxy nat-prerouting { type nat hook prerouting priority -100; policy accept; }',
    'add chain ip orch-proxy nat-output { type nat hook output priority -100; policy accept; }',
    'add chain ip orch-proxy nat-postrouting { type nat hook postrouting priority 100; policy accept; }',
    'add chain ip orch-proxy filter-output { type filter hook output priority -110; policy accept; }',
    'add rule ip orch-proxy services ip daddr . meta l4proto . th dport vmap @service-ips',
    'add rule ip orch-proxy services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
    'add rule ip orch-proxy endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
    'add rule ip orch-proxy masquerading masquerade fully-random',
    'add rule ip orch-proxy reject-chain meta l4proto tcp reject with tcp reset',
  ]) {
    t.ok(lines.includes(l), l);
  }
  t.same(lines.slice(-9), [
    `add chain ip orch-proxy ${S}`,
    `add chain ip orch-proxy ${E5}`,
    `add chain ip orch-proxy ${E6}`,
    `add rule ip orch-proxy ${S} numgen random mod 2 vmap { 0 : goto ${E5}, 1 : goto ${E6} }`,
    `add rule ip orch-proxy ${E5} ip saddr 10.42.0.5 jump mark-for-masquerade`,
    `add rule ip orch-proxy ${E5} meta l4proto tcp dnat to 10.42.0.5:8080`,
    `add rule ip orch-proxy ${E6} ip saddr 10.42.0.6 jump mark-for-masquerade`,
    `add rule ip orch-proxy ${E6} meta l4proto tcp dnat to 10.42.0.6:8080`,
    `add element ip orch-proxy service-ips { 10.43.0.20 . tcp . 80 : goto ${S} }`,
  ]);
  const withIPs = renderFull([], { nodeIPs: ['192.168.1.5', '127.0.0.1'] });
  t.ok(withIPs.includes('add set ip orch-proxy nodeport-ips { type ipv4_addr; }\nadd element ip orch-proxy nodeport-ips { 192.168.1.5 }\n'), 'nodeport-ips set, loopback left out');
  t.ok(withIPs.includes('add rule ip orch-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports'));
  t.equal(renderDelete(), 'add table ip orch-proxy\ndelete table ip orch-proxy\n');
});

t.test('renderPartial: one endpoint gone touches only that Service', async (t) => {
  const before = buildServiceRules(svc('web', '10.43.0.20', [HTTP]), two);
  const after = buildServiceRules(svc('web', '10.43.0.20', [HTTP]), eps('web', [subset(['10.42.0.5'], [{ name: 'http', port: 8080 }])]));
  const p = renderPartial([{ old: before, new: after }]);
  t.equal(
    p.script,
    [
      `flush chain ip orch-proxy ${S}`,
      `flush chain ip orch-proxy ${E6}`,
      `add chain ip orch-proxy ${S}`,
      `add rule ip orch-proxy ${S} numgen random mod 1 vmap { 0 : goto ${E5} }`,
      '',
    ].join('\n'),
  );
  t.same(p.staleChains, [E6]);
  t.equal(renderPartial([{ old: after, new: after }]).script, '', 'no change, no transaction');
  t.equal(renderPartial([], [E6]).script, `delete chain ip orch-proxy ${E6}\n`, 'stale chains deleted later');
});

t.test('renderPartial: last endpoint gone → reject; Service deleted → all its elements go', async (t) => {
  const one = buildServiceRules(svc('web', '10.43.0.20', [HTTP]), eps('web', [subset(['10.42.0.5'], [{ name: 'http', port: 8080 }])]));
  const none = buildServiceRules(svc('web', '10.43.0.20', [HTTP]), undefined);
  t.equal(
    renderPartial([{ old: one, new: none }]).script,
    [
      'delete element ip orch-proxy service-ips { 10.43.0.20 . tcp . 80 }',
      `flush chain ip orch-proxy ${S}`,
      `flush chain ip orch-proxy ${E5}`,
      'add element ip orch-proxy no-endpoint-services { 10.43.0.20 . tcp . 80 : goto reject-chain }',
      '',
    ].join('\n'),
  );
  t.equal(renderPartial([{ old: none, new: undefined }]).script, 'delete element ip orch-proxy no-endpoint-services { 10.43.0.20 . tcp . 80 }\n');
});

t.test('renderPartial: affinity timeout change recreates the sets and rewrites the chains naming them', async (t) => {
  const a = buildServiceRules(svc('web', '10.43.0.20', [HTTP], { sessionAffinity: 'ClientIP' }), two);
  const b = buildServiceRules(svc('web', '10.43.0.20', [HTTP], { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }), two);
  const script = renderPartial([{ old: a, new: b }]).script;
  const lines = script.trimEnd().split('\n');
  t.same(lines.slice(0, 7), [
    `flush chain ip orch-proxy ${S}`,
    `flush chain ip orch-proxy ${E5}`,
    `flush chain ip orch-proxy ${E6}`,
    `delete set ip orch-proxy ${A5}`,
    `delete set ip orch-proxy ${A6}`,
    `add set ip orch-proxy ${A5} { type ipv4_addr; flags dynamic,timeout; timeout 60s; }`,
    `add set ip orch-proxy ${A6} { type ipv4_addr; flags dynamic,timeout; timeout 60s; }`,
  ]);
});

/** Every shape of rule the builder makes, for the kernel checks. */
function everything(): { services: Service[]; endpoints: (Endpoints | undefined)[] } {
  return {
    services: [
      svc('web', '10.43.0.20', [{ ...HTTP, nodePort: 30080 }, { name: 'metrics', port: 9090, protocol: 'TCP' }], {
        type: 'NodePort',
        sessionAffinity: 'ClientIP',
      }),
      svc('dns', '10.43.0.53', dnsPorts),
      svc('empty', '10.43.0.21', [{ port: 80, protocol: 'TCP', nodePort: 30081 }], { type: 'NodePort' }),
      svc('sctp', '10.43.0.22', [{ port: 9, protocol: 'SCTP' }]),
    ],
    endpoints: [
      eps('web', [subset(['10.42.0.5', '10.42.0.6'], [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }])]),
      eps('dns', [subset(['10.42.0.7'], [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }])]),
      undefined,
      eps('sctp', [subset(['10.42.0.8'], [{ port: 9, protocol: 'SCTP' }])]),
    ],
  };
}

t.test('the kernel accepts every generated script (nft -c), full and partial', async (t) => {
  const ns = await scratchNetns(t, 'check');
  const check = nftRunner({ netns: ns.path, check: true });
  const apply = nftRunner({ netns: ns.path });
  const { services, endpoints } = everything();
  const opts = { clusterCIDR: '10.42.0.0/16' };
  const rules = services.map((s, i) => buildServiceRules(s, endpoints[i], opts));
  const web = services[0] ?? svc('web', '10.43.0.20', [HTTP]);
  const webEps = (ips: string[]): Endpoints => eps('web', [subset(ips, [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }])]);
  for (const opts of [{}, { nodeIPs: ['10.99.0.2'] }, { clusterCIDR: '10.42.0.0/16', masqueradeMark: 0x8000 }]) {
    await t.resolves(check(renderFull(rules, opts)), `full ${JSON.stringify(opts)}`);
  }
  // Partial scripts need the table they change: apply the full one first (inside the namespace).
  await apply(renderFull(rules));
  const partials: [string, ServiceRules | undefined, ServiceRules | undefined][] = [
    ['endpoint removed', rules[0], buildServiceRules(web, webEps(['10.42.0.5']), opts)],
    ['endpoint added', rules[0], buildServiceRules(web, webEps(['10.42.0.5', '10.42.0.6', '10.42.0.9']), opts)],
    ['all endpoints gone', rules[0], buildServiceRules(web, undefined, opts)],
    ['first endpoint appears', rules[2], buildServiceRules(services[2] ?? web, eps('empty', [subset(['10.42.0.9'], [{ port: 8080 }])]), opts)],
    ['service deleted', rules[1], undefined],
    [
      'affinity timeout changed',
      rules[0],
      buildServiceRules({ ...web, spec: { ...web.spec, sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } } } }, endpoints[0], opts),
    ],
    ['new service', undefined, buildServiceRules(svc('new', '10.43.0.30', [HTTP]), eps('new', [subset(['10.42.0.9'], [{ name: 'http', port: 80 }])]), opts)],
  ];
  for (const [name, old, next] of partials) {
    const p = renderPartial([{ old, new: next }]);
    t.not(p.script, '', `${name}: not empty`);
    await t.resolves(check(p.script), name);
  }
  // A stale chain, once its references are gone, can be deleted.
  const removed = renderPartial([{ old: rules[0], new: buildServiceRules(web, undefined, opts) }]);
  await apply(removed.script);
  await t.resolves(check(renderPartial([], removed.staleChains).script), 'delete stale chains');
  await apply(renderDelete());
  const left = await ns.exec(['nft', 'list', 'ruleset']);
  t.equal(left.stdout.trim(), '', 'renderDelete leaves nothing');
  t.equal((await cmd('nsenter', [`--net=${ns.path}`, 'nft', '-c', '-f', '-'], 'add rule ip nope x drop\n')).code !== 0, true, 'check mode does reject a bad script');
});
