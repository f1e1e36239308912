import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { MemorySource } from '../../pkg/proxy/memory-source.js';
import { nftRunner } from '../../pkg/proxy/nft.js';
import { cleanupProxyRules, startProxy, type ProxyOptions } from '../../pkg/proxy/proxy.js';
import { buildServiceRules, portNames, renderDelete, renderFull } from '../../pkg/proxy/rules.js';
import { eps, scratchNetns, subset, svc, type Netns } from './helpers.js';

const HTTP = { name: 'http', port: 80, protocol: 'TCP' };
const P = [{ name: 'http', port: 8080 }];

/** A runner that records scripts instead of calling nft; `failNext` makes the next call fail. */
function recorder(): { scripts: string[]; failNext: number; run: (s: string) => Promise<void> } {
  const r = {
    scripts: [] as string[],
    failNext: 0,
    run: async (s: string): Promise<void> => {
      if (r.failNext > 0) {
        r.failNext--;
        throw new Error('injected nft failure');
      }
      r.scripts.push(s);
    },
  };
  return r;
}

function sources(): { services: MemorySource<Service>; endpoints: MemorySource<Endpoints> } {
  return {
    services: new MemorySource<Service>([svc('a', '10.43.0.20', [HTTP]), svc('b', '10.43.0.21', [HTTP])]),
    endpoints: new MemorySource<Endpoints>([eps('a', [subset(['10.42.0.5', '10.42.0.6'], P)]), eps('b', [subset(['10.42.0.7'], P)])]),
  };
}

function quiet(extra: Partial<ProxyOptions> = {}): Pick<ProxyOptions, 'log' | 'staleChainDelayMs' | 'retryInitialMs'> {
  return { log: () => undefined, staleChainDelayMs: 60_000, retryInitialMs: 5, ...extra };
}

t.test('full sync at start, then partial transactions touching only the changed Service', async (t) => {
  const rec = recorder();
  const src = sources();
  const proxy = await startProxy({ ...src, runNft: rec.run, ...quiet() });
  t.equal(rec.scripts.length, 1);
  t.equal(
    rec.scripts[0],
    renderFull([buildServiceRules(src.services.list()[0] ?? svc('x', 'None', []), src.endpoints.list()[0]), buildServiceRules(src.services.list()[1] ?? svc('x', 'None', []), src.endpoints.list()[1])]),
  );
  t.equal(proxy.stats.services, 2);

  src.endpoints.set(eps('a', [subset(['10.42.0.5'], P)]));
  await proxy.flush();
  t.equal(rec.scripts.length, 2);
  const partial = rec.scripts[1] ?? '';
  t.notMatch(partial, /delete table|add table/, 'not a rewrite');
  t.match(partial, portNames('default', 'a', HTTP).service);
  t.notMatch(partial, /default\/b\//, 'Service b untouched');
  t.same(proxy.stats, { ...proxy.stats, fullSyncs: 1, partialSyncs: 1, failedSyncs: 0 });

  // An update that changes nothing the proxy programs: no transaction.
  src.services.set({ ...svc('a', '10.43.0.20', [HTTP]), metadata: { namespace: 'default', name: 'a', annotations: { x: 'y' } } });
  await proxy.flush();
  t.equal(rec.scripts.length, 2);

  // Service deleted: its elements and chains go.
  src.services.delete('default/b');
  await proxy.flush();
  t.match(rec.scripts[2] ?? '', 'delete element ip orch-proxy service-ips { 10.43.0.21 . tcp . 80 }');
  t.equal(proxy.stats.services, 1);
  await proxy.stop();
  t.equal(rec.scripts.at(-1), renderDelete(), 'stop removes the table');
});

t.test('a burst of changes is one transaction', async (t) => {
  const rec = recorder();
  const src = sources();
  const proxy = await startProxy({ ...src, runNft: rec.run, ...quiet() });
  for (let i = 0; i < 20; i++) src.services.set(svc(`s${i}`, `10.43.1.${i}`, [HTTP]));
  src.endpoints.set(eps('a', [subset(['10.42.0.9'], P)]));
  await proxy.flush();
  t.equal(rec.scripts.length, 2);
  const s = rec.scripts[1] ?? '';
  t.match(s, '10.43.1.19 . tcp . 80 : goto reject-chain');
  t.match(s, 'dnat to 10.42.0.9:8080');
  await proxy.stop({ keepRules: true });
  t.equal(rec.scripts.length, 2, 'keepRules: no delete');
});

t.test('a failed transaction is followed by a full resync that includes the change', async (t) => {
  const rec = recorder();
  const src = sources();
  const proxy = await startProxy({ ...src, runNft: rec.run, ...quiet() });
  rec.failNext = 1;
  src.endpoints.set(eps('a', [subset(['10.42.0.8'], P)]));
  await proxy.flush();
  t.equal(proxy.stats.failedSyncs, 1);
  t.equal(proxy.stats.fullSyncs, 2);
  const last = rec.scripts.at(-1) ?? '';
  t.match(last, /^add table ip orch-proxy\ndelete table ip orch-proxy\n/);
  t.match(last, 'dnat to 10.42.0.8:8080');
  await proxy.cleanup();
  t.equal(rec.scripts.at(-1), renderDelete());
  await t.rejects(proxy.flush(), /stopped/);
});

t.test('chains no longer used are flushed at once and deleted later', async (t) => {
  const rec = recorder();
  const src = sources();
  const proxy = await startProxy({ ...src, runNft: rec.run, ...quiet({ staleChainDelayMs: 20 }) });
  const gone = portNames('default', 'a', HTTP).endpoint({ ip: '10.42.0.6', port: 8080 });
  src.endpoints.set(eps('a', [subset(['10.42.0.5'], P)]));
  await proxy.flush();
  t.match(rec.scripts[1] ?? '', `flush chain ip orch-proxy ${gone}`);
  t.notMatch(rec.scripts[1] ?? '', `delete chain`);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(rec.scripts[2], `delete chain ip orch-proxy ${gone}\n`);
  await proxy.stop();
});

/** Spawns a TCP server inside the namespace answering every connection with `reply`. */
function server(ns: Netns, ip: string, port: number, reply: string): Promise<ChildProcess> {
  const code = `require('net').createServer((s)=>{s.end(${JSON.stringify(reply)})}).listen(${port},${JSON.stringify(ip)},()=>console.log('listening'))`;
  const child = spawn('nsenter', [`--net=${ns.path}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => reject(new Error(`server ${ip} exited ${c}`)));
    child.stdout?.once('data', () => resolve(child));
  });
}

/** Makes `n` connections from inside the namespace; returns what each got: the reply, or the error code. */
async function connectMany(ns: Netns, host: string, port: number, n: number): Promise<string[]> {
  const code = `
    const net = require('net');
    const one = () => new Promise((res) => {
      const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} });
      let data = '';
      const timer = setTimeout(() => { s.destroy(); res('TIMEOUT'); }, 5000);
      s.on('data', (d) => (data += d));
      s.on('end', () => { clearTimeout(timer); res(data); });
      s.on('error', (e) => { clearTimeout(timer); res(e.code); });
    });
    (async () => { const out = []; for (let i = 0; i < ${n}; i++) out.push(await one()); console.log(JSON.stringify(out)); })();`;
  const r = await ns.exec([process.execPath, '-e', code]);
  if (r.code !== 0) throw new Error(`client failed: ${r.stderr}`);
  const parsed: unknown = JSON.parse(r.stdout);
  if (!Array.isArray(parsed)) throw new Error(`client said ${r.stdout}`);
  return parsed.map(String);
}

function counts(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

t.test('real traffic in a network namespace: spread, removal, reject, NodePort, affinity, cleanup', async (t) => {
  const ns = await scratchNetns(t, 'traffic');
  for (const args of [
    // No dummy driver on every kernel: a veth pair inside the namespace stands in.
    ['ip', 'link', 'add', 'pods0', 'type', 'veth', 'peer', 'name', 'svc0'],
    ['ip', 'link', 'set', 'pods0', 'up'],
    ['ip', 'link', 'set', 'svc0', 'up'],
    ['ip', 'addr', 'add', '10.42.0.1/24', 'dev', 'pods0'],
    ['ip', 'addr', 'add', '10.42.0.2/32', 'dev', 'pods0'],
    ['ip', 'addr', 'add', '10.42.0.3/32', 'dev', 'pods0'],
    // The service range routes somewhere (as on a node), so a connect reaches the NAT hook.
    ['ip', 'route', 'add', '10.43.0.0/16', 'dev', 'svc0'],
  ]) {
    const r = await ns.exec(args);
    t.equal(r.code, 0, `${args.join(' ')} ${r.stderr}`);
  }
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  children.push(await server(ns, '10.42.0.2', 8080, 'pod-a'), await server(ns, '10.42.0.3', 8080, 'pod-b'));

  const services = new MemorySource<Service>([svc('web', '10.43.0.100', [{ ...HTTP, nodePort: 30080 }], { type: 'NodePort' })]);
  const endpoints = new MemorySource<Endpoints>([eps('web', [subset(['10.42.0.2', '10.42.0.3'], P)])]);
  const runNft = nftRunner({ netns: ns.path });
  const proxy = await startProxy({ services, endpoints, runNft, ...quiet({ staleChainDelayMs: 0 }) });
  t.teardown(() => proxy.stop().catch(() => undefined));

  const spread = counts(await connectMany(ns, '10.43.0.100', 80, 60));
  t.same(Object.keys(spread).sort(), ['pod-a', 'pod-b'], `ClusterIP reaches both endpoints: ${JSON.stringify(spread)}`);

  const nodePort = counts(await connectMany(ns, '10.42.0.1', 30080, 30));
  t.same(Object.keys(nodePort).sort(), ['pod-a', 'pod-b'], `NodePort on a local address reaches both: ${JSON.stringify(nodePort)}`);

  endpoints.set(eps('web', [subset(['10.42.0.3'], P)]));
  await proxy.flush();
  t.same(counts(await connectMany(ns, '10.43.0.100', 80, 20)), { 'pod-b': 20 }, 'after removal only the other endpoint answers');

  endpoints.set(eps('web', [subset([], P, ['10.42.0.2', '10.42.0.3'])]));
  await proxy.flush();
  t.same(counts(await connectMany(ns, '10.43.0.100', 80, 3)), { ECONNREFUSED: 3 }, 'no ready endpoint: refused, not a timeout');
  t.same(counts(await connectMany(ns, '10.42.0.1', 30080, 2)), { ECONNREFUSED: 2 }, 'NodePort refused too');

  services.set(svc('web', '10.43.0.100', [HTTP], { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }));
  endpoints.set(eps('web', [subset(['10.42.0.2', '10.42.0.3'], P)]));
  await proxy.flush();
  const sticky = counts(await connectMany(ns, '10.43.0.100', 80, 20));
  t.equal(Object.keys(sticky).length, 1, `ClientIP affinity keeps one client on one endpoint: ${JSON.stringify(sticky)}`);
  t.equal(proxy.stats.fullSyncs, 1, 'every change after the start was partial');
  t.ok(proxy.stats.partialSyncs >= 3);

  const before = await ns.exec(['nft', 'list', 'table', 'ip', 'orch-proxy']);
  t.equal(before.code, 0);
  await proxy.cleanup();
  const after = await ns.exec(['nft', 'list', 'ruleset']);
  t.equal(after.stdout.trim(), '', 'cleanup leaves no table');
  await t.resolves(cleanupProxyRules(runNft), 'cleanup is idempotent');
});
