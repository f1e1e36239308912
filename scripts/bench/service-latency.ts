/**
 * Service latency overhead vs pod IP direct (target: under 0.2 ms per
 * request), through the project's real proxy (startProxy + MemorySource,
 * its nft transactions applied in the node namespace).
 *
 * Topology, namespaces only (see lib/pod-netns.ts; nothing in the root
 * namespace, no route off the machine):
 *
 *   client pods 10.42.0.2 … 5 ─veth─┐
 *                                   node (router, table ip orch-proxy) ─veth─ server pods 10.42.0.10 … 10.42.0.(10+E-1)
 *
 * Services: `one` (ClusterIP 10.43.0.100:80 → 10.42.0.10:8080), `many`
 * (10.43.0.110:80 → all E server pods, default 10) and `alias`
 * (10.43.0.120:80 → E extra addresses 10.42.0.110… of the first server pod:
 * the same E-way DNAT with one warm server process behind it, which separates
 * the proxy's cost from that of spreading the load over E cold processes).
 * Every server pod runs a tiny Node http server. Load from Debian's wrk,
 * one client pod per target (see main() for why), `-H 'Connection: close'`
 * so every request opens a new connection (the SYN is what walks the proxy's
 * rules and creates the NAT mapping), against the pod IP and each ClusterIP
 * in turn, alternating over several rounds; then keep-alive runs for
 * reference. Pass/fail is on `one` and `alias`; `many` also pays for waking
 * a different server process per request on a small box.
 *
 * The figure is the time per request of the whole cycle (connect, request,
 * response, close) = connections × elapsed / requests, because wrk's own
 * latency clock starts after the connection is established (socket_writeable)
 * and so misses the connection set-up where DNAT happens; wrk's latency is
 * printed too. Overhead = ClusterIP − direct, per round (paired), median.
 *
 * Usage (as root, `apt-get install -y wrk`):
 *   node --import=tsx scripts/bench/service-latency.ts [--rounds 5] [--seconds 10] [--connections 1] [--endpoints 10] [--keepalive-seconds 10 (0: none)] [--warmup-seconds 3]
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { MemorySource } from '../../pkg/proxy/memory-source.js';
import { nftRunner } from '../../pkg/proxy/nft.js';
import { startProxy, type Proxy } from '../../pkg/proxy/proxy.js';
import { cleanupOnExit, NetnsPodNetwork, type BenchNetns } from './lib/pod-netns.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '1' },
    endpoints: { type: 'string', default: '10' },
    'keepalive-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '3' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const CONNS = Number(values.connections);
const ENDPOINTS = Number(values.endpoints);
const KEEPALIVE_SECONDS = Number(values['keepalive-seconds']);
const WARMUP_SECONDS = Number(values['warmup-seconds']);
for (const [k, v] of [['rounds', ROUNDS], ['seconds', SECONDS], ['connections', CONNS], ['endpoints', ENDPOINTS]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${v}`);
}
if (ENDPOINTS > 100) throw new Error('--endpoints: at most 100 (one /24 holds the pods and their extra addresses)');

const GATEWAY = '10.42.0.1';
const SERVER_IPS = Array.from({ length: ENDPOINTS }, (_, i) => `10.42.0.${10 + i}`);
/** Extra addresses of the first server pod: endpoints of `alias`, E endpoints served by one process. */
const ALIAS_IPS = Array.from({ length: ENDPOINTS }, (_, i) => `10.42.0.${110 + i}`);
const POD_PORT = 8080;
const SVC_ONE = '10.43.0.100';
const SVC_MANY = '10.43.0.110';
const SVC_ALIAS = '10.43.0.120';

/** The server inside each pod: answers every request with the address it was reached at, prints "listening" once bound. */
const SERVER_JS = `
const http = require('node:http');
const bodies = new Map();
let served = 0;
const s = http.createServer((req, res) => {
  served++;
  const ip = req.socket.localAddress;
  let body = bodies.get(ip);
  if (!body) bodies.set(ip, (body = Buffer.from(ip + '\\n')));
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
s.keepAliveTimeout = 120000;
s.listen(${POD_PORT}, '0.0.0.0', 4096, () => console.log('listening'));
process.on('SIGUSR2', () => console.log('served ' + served));
process.on('SIGTERM', () => process.exit(0));
`;

interface Target {
  tag: string;
  label: string;
  url: string;
  /** The client pod this target's load comes from (one per target). */
  client: BenchNetns;
  clientIP: string;
}

interface WrkRun {
  requests: number;
  elapsedS: number;
  rps: number;
  /** wrk's mean latency (from request write to response; excludes connect), ms. */
  latencyMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Whole cycle per request on one connection: connections × elapsed / requests, ms. */
  cycleMs: number;
  errors: number;
  non2xx: number;
}

function service(name: string, clusterIP: string): Service {
  return {
    metadata: { namespace: 'bench', name },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: POD_PORT }] },
  };
}

function endpoints(name: string, ips: string[]): Endpoints {
  return { metadata: { namespace: 'bench', name }, subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: POD_PORT, protocol: 'TCP' }] }] };
}

/** wrk durations and latencies ("812.00us", "1.20ms", "10.01s", "1.00m") in ms. */
function wrkTimeMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`unparsable wrk time: ${s}`);
  const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return Number(m[1]) * (scale[m[2] ?? 'ms'] ?? NaN);
}

/** Parses wrk --latency output. */
function parseWrk(out: string, connections: number): WrkRun {
  const done = /(\d+) requests in ([\d.]+\w+),/.exec(out);
  const lat = /^\s*Latency\s+(\S+)/m.exec(out);
  const p50 = /^\s*50%\s+(\S+)/m.exec(out);
  const p99 = /^\s*99%\s+(\S+)/m.exec(out);
  if (!done || !lat || !p50 || !p99) throw new Error(`unexpected wrk output:\n${out}`);
  const requests = Number(done[1]);
  const elapsedS = wrkTimeMs(done[2] ?? '') / 1000;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    requests,
    elapsedS,
    rps: requests / elapsedS,
    latencyMs: wrkTimeMs(lat[1] ?? ''),
    latencyP50Ms: wrkTimeMs(p50[1] ?? ''),
    latencyP99Ms: wrkTimeMs(p99[1] ?? ''),
    cycleMs: (connections * elapsedS * 1000) / requests,
    errors,
    non2xx,
  };
}

function wrkArgs(url: string, seconds: number, keepAlive: boolean): string[] {
  return ['-t1', `-c${CONNS}`, `-d${seconds}s`, '--latency', ...(keepAlive ? [] : ['-H', 'Connection: close']), url];
}

/** Quotes arguments for printing a command a reader can paste. */
function shellArgs(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

/** Runs wrk in the target's client pod (async, so a ctrl-C reaches our cleanup while it runs). */
async function runWrk(net: NetnsPodNetwork, t: Target, seconds: number, keepAlive: boolean): Promise<WrkRun> {
  const url = t.url;
  const child = net.spawnIn(t.client, 'wrk', wrkArgs(url, seconds, keepAlive));
  const out = await collect(child);
  if (out.code !== 0) throw new Error(`wrk exited ${out.code}:\n${out.text}`);
  const r = parseWrk(out.text, CONNS);
  if (r.errors > 0 || r.non2xx > 0) console.log(`  warning: ${url}: ${r.errors} socket errors, ${r.non2xx} non-2xx`);
  return r;
}

function collect(child: ChildProcess): Promise<{ code: number | string; text: string }> {
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((res) => child.once('close', (code, signal) => res({ code: code ?? signal ?? 'unknown', text })));
}

/** Resolves once the server printed "listening"; rejects if it exits or takes over 10 s. */
function waitListening(child: ChildProcess, ip: string): Promise<void> {
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`server ${ip} not listening after 10 s:\n${out}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        res();
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server ${ip} exited (${code}):\n${out}`));
    });
  });
}

/** Fetches `url` `n` times from the client namespace, a new connection each, and counts the answering pods. */
function spread(client: BenchNetns, url: string, n: number): Map<string, number> {
  const js = `
const http = require('node:http');
const counts = {};
let left = ${n};
const one = () => http.get(process.argv[1], { agent: false, timeout: 2000 }, (res) => {
  let b = ''; res.on('data', (d) => (b += d));
  res.on('end', () => { counts[b.trim()] = (counts[b.trim()] || 0) + 1; if (--left > 0) one(); else console.log(JSON.stringify(counts)); });
}).on('error', (e) => { console.error(e.message); process.exit(1); });
one();`;
  const r = spawnSync('nsenter', [`--net=${client.path}`, process.execPath, '-e', js, url], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`request to ${url} from the client pod failed: ${r.stderr}`);
  const parsed: unknown = JSON.parse(r.stdout);
  const counts = new Map<string, number>();
  if (typeof parsed === 'object' && parsed !== null) for (const [k, v] of Object.entries(parsed)) if (typeof v === 'number') counts.set(k, v);
  return counts;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

function f3(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(3)} ms`;
}

async function main(net: NetnsPodNetwork): Promise<void> {
  const wrkVersion = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (wrkVersion.error) throw new Error('wrk not found: apt-get install -y wrk');
  console.log(`service latency bench: client → pod IP vs ClusterIP (1 and ${ENDPOINTS} endpoints), ${ROUNDS} rounds × ${SECONDS} s each, wrk -t1 -c${CONNS}, new connection per request`);
  console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}) shared by wrk, the servers and the kernel; node ${process.version}`);
  console.log(`${(wrkVersion.stdout + wrkVersion.stderr).split('\n')[0]?.trim()}; kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}; load average ${loadavg()[0]?.toFixed(2)}`);

  // Topology: one client pod per target, so that no two targets ever share a
  // server-side 4-tuple. (With one client, a ClusterIP connection can reuse
  // the 4-tuple a direct one left in TIME_WAIT on the server, with an ISN and
  // timestamp from another hash space — the client hashes the ClusterIP, not
  // the pod IP — and the server answers its SYN with a challenge ACK: a 1 s
  // SYN retransmit, which is a benchmark artefact, not DNAT cost.)
  const node = net.addNode('node');
  const servers = SERVER_IPS.map((ip, i) => {
    const pod = net.add(`srv${i}`);
    net.connect(node, pod, `veth-srv${i}`, ip, GATEWAY);
    return pod;
  });
  // The first server pod also holds the `alias` Service's endpoint addresses (same veth, a /32 route each on the node).
  const first = servers[0];
  if (!first) throw new Error('no server pod');
  for (const ip of ALIAS_IPS) {
    first.exec(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    node.exec(['ip', 'route', 'add', `${ip}/32`, 'dev', 'veth-srv0', 'src', GATEWAY]);
  }
  const serverEnv = { ...process.env, NODE_OPTIONS: '' };
  const procs = servers.map((pod) => net.spawnIn(pod, process.execPath, ['-e', SERVER_JS], serverEnv));
  await Promise.all(procs.map((p, i) => waitListening(p, SERVER_IPS[i] ?? '')));

  const specs = [
    { tag: 'direct', label: 'pod IP direct', url: `http://${SERVER_IPS[0]}:${POD_PORT}/` },
    { tag: 'one', label: 'ClusterIP, 1 endpoint', url: `http://${SVC_ONE}/` },
    { tag: 'many', label: `ClusterIP, ${ENDPOINTS} endpoint pods`, url: `http://${SVC_MANY}/` },
    { tag: 'alias', label: `ClusterIP, ${ENDPOINTS} eps in 1 pod`, url: `http://${SVC_ALIAS}/` },
  ];
  const targets: Target[] = specs.map((sp, i) => {
    const clientIP = `10.42.0.${2 + i}`;
    const client = net.add(`cl-${sp.tag}`);
    net.connect(node, client, `veth-cl-${sp.tag}`, clientIP, GATEWAY);
    // wrk opens thousands of connections per second and, closing at the same time as the server, leaves each in
    // TIME_WAIT for 60 s: the whole port range, and reuse of TIME_WAIT ports (else, after ~15 s, connect() slows
    // down searching for a free port and the figures with it).
    client.sysctl('net.ipv4.ip_local_port_range', '1024 65535');
    client.sysctl('net.ipv4.tcp_tw_reuse', '1');
    return { ...sp, client, clientIP };
  });
  const [direct, one, many, alias] = targets;
  if (!direct || !one || !many || !alias) throw new Error('targets');

  // The real proxy, its rules in the node namespace. Pod traffic (10.42/16) is not masqueraded, as on a node.
  const svcs = new MemorySource<Service>([service('one', SVC_ONE), service('many', SVC_MANY), service('alias', SVC_ALIAS)]);
  const eps = new MemorySource<Endpoints>([endpoints('one', SERVER_IPS.slice(0, 1)), endpoints('many', SERVER_IPS), endpoints('alias', ALIAS_IPS)]);
  const proxy: Proxy = await startProxy({
    services: svcs,
    endpoints: eps,
    runNft: nftRunner({ netns: node.path }),
    clusterCIDR: '10.42.0.0/16',
    log: (m) => console.log(`  proxy: ${m}`),
  });
  try {
    if (proxy.stats.fullSyncs !== 1) throw new Error(`proxy did not program the table: ${JSON.stringify(proxy.stats)}`);
    // Every new connection leaves a conntrack entry in TIME_WAIT (120 s by default); thousands per second
    // would fill the (global) conntrack table and drop packets, so they expire quickly in this namespace
    // (the sysctl exists once the proxy's nat chains have loaded conntrack).
    node.sysctl('net.netfilter.nf_conntrack_tcp_timeout_time_wait', '1');
    console.log(`proxy: table ip orch-proxy in netns ${node.name}, ${proxy.stats.services} Services; nf_conntrack_tcp_timeout_time_wait=1 s there`);

    // Sanity: every target answers from the right pods, and the E-endpoint Services spread.
    for (const t of [direct, one]) {
      const c = spread(t.client, t.url, 5);
      if ([...c.keys()].join() !== SERVER_IPS[0]) throw new Error(`${t.label}: unexpected answers ${JSON.stringify([...c])}`);
    }
    for (const [t, ips] of [[many, SERVER_IPS], [alias, ALIAS_IPS]] as const) {
      const c = spread(t.client, t.url, 20 * ENDPOINTS);
      const stray = [...c.keys()].filter((ip) => !ips.includes(ip));
      console.log(`check: ${20 * ENDPOINTS} requests to ${t.url} answered by ${c.size}/${ENDPOINTS} endpoints (min ${Math.min(...c.values())}, max ${Math.max(...c.values())})`);
      if (stray.length > 0 || c.size < Math.min(ENDPOINTS, 2)) throw new Error(`${t.label}: answers not spread over its endpoints: ${JSON.stringify([...c])}`);
    }

    for (const t of targets) console.log(`command (${t.label}): nsenter --net=${t.client.path} wrk ${shellArgs(wrkArgs(t.url, SECONDS, false))}`);
    for (const t of targets) await runWrk(net, t, WARMUP_SECONDS, false);

    const results = new Map<Target, WrkRun[]>(targets.map((t) => [t, []]));
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order, so no target always runs first (after a pause) or last.
      const order = targets.map((_, i) => targets[(i + r) % targets.length] ?? direct);
      const line: string[] = [];
      for (const t of order) {
        const w = await runWrk(net, t, SECONDS, false);
        results.get(t)?.push(w);
        line.push(`${t.tag} ${f3(w.cycleMs)}/req ${w.rps.toFixed(0)} req/s (wrk lat ${f3(w.latencyMs)})`);
      }
      console.log(`round ${r + 1}/${ROUNDS}: ${line.join('; ')}`);
    }

    console.log(`\nnew connection per request (Connection: close), medians over ${ROUNDS} rounds of ${SECONDS} s, wrk -t1 -c${CONNS}:`);
    console.log(`  ${'target'.padEnd(28)} ${'time/request'.padStart(13)} ${'req/s'.padStart(8)} ${'wrk lat mean'.padStart(13)} ${'wrk p50'.padStart(10)} ${'wrk p99'.padStart(10)}  overhead vs direct (time/req, paired; wrk lat)`);
    const base = results.get(direct) ?? [];
    const verdicts: boolean[] = [];
    for (const t of targets) {
      const runs = results.get(t) ?? [];
      const row = `  ${t.label.padEnd(28)} ${f3(median(runs.map((x) => x.cycleMs))).padStart(13)} ${median(runs.map((x) => x.rps)).toFixed(0).padStart(8)} ${f3(median(runs.map((x) => x.latencyMs))).padStart(13)} ${f3(median(runs.map((x) => x.latencyP50Ms))).padStart(10)} ${f3(median(runs.map((x) => x.latencyP99Ms))).padStart(10)}`;
      if (t === direct) {
        console.log(row);
        continue;
      }
      const over = median(runs.map((x, i) => x.cycleMs - (base[i]?.cycleMs ?? NaN)));
      const overLat = median(runs.map((x, i) => x.latencyMs - (base[i]?.latencyMs ?? NaN)));
      const all = runs.map((x, i) => signed(x.cycleMs - (base[i]?.cycleMs ?? NaN))).join(', ');
      // `many` is shown, not judged: its extra time is mostly the server side (E processes taking turns), which `alias` leaves out.
      if (t !== many) verdicts.push(over < 0.2);
      console.log(`${row}  ${signed(over)}; ${signed(overLat)}   (rounds: ${all})`);
    }
    console.log(`  (${many.label}: the load is spread over ${ENDPOINTS} server processes, each woken in turn on ${availableParallelism()} cores;`);
    console.log(`   ${alias.label} is the same ${ENDPOINTS}-way DNAT in front of one process: the proxy's own cost. Overhead is judged on the 1-endpoint and that row.)`);

    if (KEEPALIVE_SECONDS > 0) {
      // Alternated too (direct, one, one, direct): one pair is at the mercy of whatever else the box is doing.
      const ka = new Map<Target, WrkRun[]>([[direct, []], [one, []]]);
      for (const t of [direct, one, one, direct]) ka.get(t)?.push(await runWrk(net, t, KEEPALIVE_SECONDS, true));
      console.log(`\nkeep-alive, for reference (no Connection: close, so DNAT only on each connection's first packet; median of 2 runs of ${KEEPALIVE_SECONDS} s):`);
      for (const [t, runs] of ka) {
        console.log(`  ${t.label.padEnd(28)} ${f3(median(runs.map((x) => x.cycleMs))).padStart(13)} ${median(runs.map((x) => x.rps)).toFixed(0).padStart(8)} ${f3(median(runs.map((x) => x.latencyMs))).padStart(13)} ${f3(median(runs.map((x) => x.latencyP50Ms))).padStart(10)} ${f3(median(runs.map((x) => x.latencyP99Ms))).padStart(10)}`);
      }
    }

    const errors = [...results.values()].flat().reduce((a, w) => a + w.errors + w.non2xx, 0);
    console.log(`\nsocket errors + non-2xx over all rounds: ${errors}; load average now ${loadavg()[0]?.toFixed(2)} (other work on the box adds noise)`);
    console.log(verdicts.every(Boolean) && errors === 0 ? 'PASS: Service (DNAT) overhead < 0.2 ms per request' : 'FAIL: Service overhead >= 0.2 ms per request, or errors');
  } finally {
    await proxy.stop();
  }
}

const net = new NetnsPodNetwork(`orchbench-svclat-${process.pid}`);
cleanupOnExit(() => net.destroy());
try {
  await main(net);
} finally {
  net.destroy();
}
