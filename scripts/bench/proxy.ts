/**
 * Service proxy programming cost, in a scratch network namespace (nothing in
 * the root namespace is touched):
 *   (a) full sync of N Services × M ready endpoints (default 1,000 × 10):
 *       rule build+render time, then `nft -f` apply time, both through
 *       startProxy (targets: whole full sync < 1 s);
 *   (b) one endpoint change: from the (simulated) informer event to `nft`
 *       returning, repeated --changes times (target < 100 ms);
 *   (c) for comparison, kube-proxy iptables-mode rules for the same cluster
 *       (KUBE-SERVICES / KUBE-SVC-* with statistic / KUBE-SEP-* hairpin+DNAT)
 *       loaded with iptables-restore (nf_tables backend, and legacy when
 *       installed), then a one-chain --noflush update.
 * Objects are generated, no API server needed. Run as root.
 * Usage: node --import=tsx scripts/bench/proxy.ts [--services 1000] [--endpoints 10] [--changes 50] [--no-iptables]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { MemorySource } from '../../pkg/proxy/memory-source.js';
import { nftRunner } from '../../pkg/proxy/nft.js';
import { startProxy } from '../../pkg/proxy/proxy.js';
import { buildServiceRules, renderFull } from '../../pkg/proxy/rules.js';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    changes: { type: 'string', default: '50' },
    'no-iptables': { type: 'boolean', default: false },
  },
});
const N = Number(values.services);
const M = Number(values.endpoints);
const CHANGES = Number(values.changes);

const NETNS = `orchbench-proxy-${process.pid}`;
const NETNS_PATH = `/var/run/netns/${NETNS}`;

function ip(base: number, i: number): string {
  return `10.${base}.${(i >> 8) & 255}.${i & 255}`;
}

function service(i: number): Service {
  return {
    metadata: { namespace: `ns${i % 20}`, name: `svc-${i}` },
    spec: {
      type: i % 10 === 0 ? 'NodePort' : 'ClusterIP',
      clusterIP: ip(43, i + 2),
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, ...(i % 10 === 0 ? { nodePort: 30000 + i } : {}) }],
    },
  };
}

function endpoints(i: number, count: number, salt = 0): Endpoints {
  const addresses = Array.from({ length: count }, (_, j) => ({ ip: ip(42, ((i * M + j + salt) % 60000) + 2) }));
  return { metadata: { namespace: `ns${i % 20}`, name: `svc-${i}` }, subsets: [{ addresses, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }] };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function ms(x: number): string {
  return `${x.toFixed(1)} ms`;
}

/** kube-proxy iptables mode's nat table for the same cluster, in iptables-restore format. */
function iptablesRules(svcs: Service[], eps: Endpoints[]): { script: string; rules: number } {
  const lines = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]'];
  const rules: string[] = [
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -j MASQUERADE --random-fully',
  ];
  svcs.forEach((s, i) => {
    const svcChain = `KUBE-SVC-${i.toString(36).toUpperCase().padStart(12, '0')}`;
    lines.push(`:${svcChain} - [0:0]`);
    const vip = s.spec?.clusterIP ?? '';
    const comment = `-m comment --comment "${s.metadata?.namespace}/${s.metadata?.name}:http cluster IP"`;
    rules.push(`-A KUBE-SERVICES -d ${vip}/32 -p tcp ${comment} -m tcp --dport 80 -j ${svcChain}`);
    rules.push(`-A ${svcChain} ! -s 10.42.0.0/16 -d ${vip}/32 -p tcp ${comment} -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    const addrs = eps[i]?.subsets?.[0]?.addresses ?? [];
    addrs.forEach((a, j) => {
      const sep = `KUBE-SEP-${(i * 100 + j).toString(36).toUpperCase().padStart(12, '0')}`;
      lines.push(`:${sep} - [0:0]`);
      const left = addrs.length - j;
      const stat = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(11)} ` : '';
      rules.push(`-A ${svcChain} ${comment} ${stat}-j ${sep}`);
      rules.push(`-A ${sep} -s ${a.ip}/32 ${comment} -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p tcp ${comment} -m tcp -j DNAT --to-destination ${a.ip}:8080`);
    });
  });
  rules.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  lines.splice(1, 0, ':KUBE-NODEPORTS - [0:0]');
  return { script: [...lines, ...rules, 'COMMIT', ''].join('\n'), rules: rules.length };
}

function timeRestore(bin: string, script: string, extra: string[] = []): number | undefined {
  const t0 = performance.now();
  const r = spawnSync('nsenter', [`--net=${NETNS_PATH}`, bin, ...extra], { input: script, maxBuffer: 64 << 20 });
  const t = performance.now() - t0;
  if (r.status !== 0) {
    console.log(`  ${bin} failed: ${r.stderr.toString().slice(0, 300)}`);
    return undefined;
  }
  return t;
}

async function main(): Promise<void> {
  execFileSync('ip', ['netns', 'add', NETNS]);
  const runNft = nftRunner({ netns: NETNS_PATH });
  try {
    console.log(`proxy bench: ${N} Services × ${M} endpoints (1 TCP port each, every 10th a NodePort), netns ${NETNS}`);
    console.log(`nft: ${execFileSync('nft', ['--version']).toString().trim()}; kernel ${execFileSync('uname', ['-r']).toString().trim()}`);
    const svcs = Array.from({ length: N }, (_, i) => service(i));
    const eps = Array.from({ length: N }, (_, i) => endpoints(i, M));

    // Build+render alone (what the proxy does before calling nft).
    const b0 = performance.now();
    const script = renderFull(svcs.map((s, i) => buildServiceRules(s, eps[i])));
    const buildMs = performance.now() - b0;
    const ruleCount = script.split('\n').filter((l) => l.startsWith('add rule')).length;
    console.log(`(a) full sync: script ${(script.length / 1024).toFixed(0)} KiB, ${ruleCount} rules; build+render ${ms(buildMs)}`);

    // Through startProxy: build + apply, timed around the runner too.
    const services = new MemorySource<Service>(svcs);
    const endpointSrc = new MemorySource<Endpoints>(eps);
    let lastApply = 0;
    const timedRun = async (s: string): Promise<void> => {
      const t = performance.now();
      await runNft(s);
      lastApply = performance.now() - t;
    };
    const s0 = performance.now();
    const proxy = await startProxy({ services, endpoints: endpointSrc, runNft: timedRun, log: (m) => console.log(`  proxy: ${m}`) });
    const fullMs = performance.now() - s0;
    console.log(`    startProxy full sync ${ms(fullMs)} (of which nft -f ${ms(lastApply)}) — target < 1000 ms`);

    // (b) one endpoint change at a time: event → nft returned.
    const lat: number[] = [];
    const applies: number[] = [];
    const current = new Map<number, number>();
    for (let c = 0; c < CHANGES; c++) {
      const i = (c * 37) % N;
      // One endpoint goes (a pod unready) or comes back, so every change is a real one.
      const count = (current.get(i) ?? M) === M ? M - 1 : M;
      current.set(i, count);
      const t0 = performance.now();
      endpointSrc.set(endpoints(i, count));
      await proxy.flush();
      lat.push(performance.now() - t0);
      applies.push(lastApply);
    }
    lat.sort((a, b) => a - b);
    applies.sort((a, b) => a - b);
    console.log(
      `(b) one endpoint change, event → nft returned, ${CHANGES} changes: p50 ${ms(quantile(lat, 0.5))}, p95 ${ms(quantile(lat, 0.95))}, max ${ms(lat[lat.length - 1] ?? NaN)}` +
        ` (nft -f alone p50 ${ms(quantile(applies, 0.5))}) — target < 100 ms`,
    );
    console.log(`    syncs: ${proxy.stats.fullSyncs} full, ${proxy.stats.partialSyncs} partial, ${proxy.stats.failedSyncs} failed`);

    // A burst: every Service's endpoints change at once → coalesced.
    const before = proxy.stats.partialSyncs;
    const burst0 = performance.now();
    for (let i = 0; i < N; i++) endpointSrc.set(endpoints(i, M, 1));
    await proxy.flush();
    console.log(`    burst of ${N} Endpoints updates: ${ms(performance.now() - burst0)} in ${proxy.stats.partialSyncs - before} transaction(s)`);
    await proxy.stop();

    if (!values['no-iptables']) {
      const ipt = iptablesRules(svcs, eps);
      console.log(`(c) iptables-restore of kube-proxy-style nat rules for the same cluster: ${ipt.rules} rules`);
      for (const bin of ['iptables-nft-restore', 'iptables-legacy-restore']) {
        const full = timeRestore(bin, ipt.script);
        // One Service's chain rewritten in place (--noflush), as kube-proxy's partial sync does.
        const one = [
          '*nat',
          ':KUBE-SVC-000000000000 - [0:0]',
          '-A KUBE-SVC-000000000000 -m statistic --mode random --probability 0.5 -j KUBE-SEP-000000000000',
          '-A KUBE-SVC-000000000000 -j KUBE-SEP-000000000001',
          'COMMIT',
          '',
        ].join('\n');
        const partial = full === undefined ? undefined : timeRestore(bin, one, ['--noflush']);
        console.log(`    ${bin}: full ${full === undefined ? 'n/a' : ms(full)}, one-chain --noflush ${partial === undefined ? 'n/a' : ms(partial)}`);
        spawnSync('nsenter', [`--net=${NETNS_PATH}`, bin.replace('-restore', ''), '-t', 'nat', '-F']);
        spawnSync('nsenter', [`--net=${NETNS_PATH}`, bin.replace('-restore', ''), '-t', 'nat', '-X']);
      }
    }
  } finally {
    execFileSync('ip', ['netns', 'del', NETNS]);
  }
}

await main();
