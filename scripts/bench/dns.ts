/**
 * Cluster DNS latency: 1,000 queries/s of cluster names (A for
 * `svc-<i>.bench.svc.cluster.local`, spread over 1,000 Services) for 10 s
 * against pkg/dns's server on 127.0.0.1, its caches fed by informers of an
 * in-process API server holding the 1,000 Services. Target: p99 < 5 ms.
 *
 * Load from Debian's `dnsperf` (`apt-get install -y dnsperf`) in its own
 * process, rate-limited with -Q, per-query latencies from its -v output;
 * without dnsperf, an open-loop Node generator over UDP in this process
 * (which then shares the event loop with the server: a pessimistic figure).
 * Usage: node --import=tsx scripts/bench/dns.ts [--seconds 10] [--rate 1000] [--services 1000]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { startTestApi, TOKEN } from '../../tests/helpers/apiserver.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';
import { startDnsServer } from '../../pkg/dns/server.js';
import { ms, quantile } from './lib/orch-process.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    services: { type: 'string', default: '1000' },
    'no-dnsperf': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const nServices = Number(values.services);
const NS = 'bench';

const api = await startTestApi();
const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
const client = new Client(transport);
const factory = new SharedInformerFactory(client);
const services = factory.informerFor('services');
const endpoints = factory.informerFor('endpoints');
factory.start();
await factory.waitForSync();
await client.resource('namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
const svcs = client.resource('services').namespace(NS);
const t0 = Date.now();
for (let i = 0; i < nServices; i += 25) {
  await Promise.all(
    Array.from({ length: Math.min(25, nServices - i) }, (_, j) =>
      svcs.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i + j}`, namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } }),
    ),
  );
}
while (services.byNamespace(NS).length < nServices) await new Promise((r) => setTimeout(r, 50));
console.log(`${nServices} Services created and cached in ${Date.now() - t0} ms`);

const dns = await startDnsServer({ listen: [{ address: '127.0.0.1', port: 0 }], services, endpoints, upstreams: [] });
const port = dns.addresses[0]!.port;
const names = Array.from({ length: nServices }, (_, i) => `svc-${i}.${NS}.svc.cluster.local`);
// Shuffled so consecutive queries hit different Services.
for (let i = names.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [names[i], names[j]] = [names[j]!, names[i]!];
}

const load0 = loadavg()[0]!;
const cpu0 = process.cpuUsage();
let latencies: number[] = [];
let sent = 0;
let lost = 0;
let errors = 0;
let tool: string;

const haveDnsperf = !values['no-dnsperf'] && spawnSync('dnsperf', ['-h']).error === undefined;
if (haveDnsperf) {
  tool = 'dnsperf';
  const dir = mkdtempSync(join(tmpdir(), 'orch-bench-dns-'));
  const data = join(dir, 'queries.txt');
  writeFileSync(data, names.map((n) => `${n} A`).join('\n') + '\n');
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', data, '-Q', String(rate), '-l', String(seconds), '-c', '4', '-q', '200', '-t', '2', '-v'];
  console.log(`dnsperf ${args.join(' ')}`);
  const child = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((r) => child.on('close', () => r()));
  rmSync(dir, { recursive: true, force: true });
  // -v lines: "> NOERROR svc-1.bench.svc.cluster.local A 0.000123"
  for (const line of out.split('\n')) {
    const m = /^> (\S+) \S+ \S+ ([\d.]+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] !== 'NOERROR') errors++;
    latencies.push(Number(m[2]) * 1000);
  }
  sent = Number(/Queries sent:\s+(\d+)/.exec(out)?.[1] ?? latencies.length);
  lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const summary = out.split('\n').filter((l) => /Queries (sent|completed|lost)|Queries per second|Average Latency|Latency StdDev/.test(l));
  console.log(summary.join('\n'));
} else {
  tool = 'node open-loop generator (same process as the server)';
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const pending = new Map<number, number>();
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const at = pending.get(id);
    if (at === undefined) return;
    pending.delete(id);
    if ((m[3]! & 0xf) !== 0) errors++;
    latencies.push(performance.now() - at);
  });
  const start = performance.now();
  const total = rate * seconds;
  while (sent < total) {
    const due = start + (sent * 1000) / rate;
    const now = performance.now();
    if (due > now) await new Promise((r) => setTimeout(r, Math.max(0, due - now)));
    while (sent < total && start + (sent * 1000) / rate <= performance.now()) {
      const id = sent & 0xffff;
      pending.set(id, start + (sent * 1000) / rate); // latency from the scheduled time
      sock.send(dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: names[sent % names.length]!, type: 'A' }] }), port, '127.0.0.1');
      sent++;
    }
  }
  await new Promise((r) => setTimeout(r, 2000));
  lost = pending.size;
  sock.close();
}

const cpu = process.cpuUsage(cpu0);
latencies = latencies.sort((a, b) => a - b);
console.log(`tool: ${tool}`);
console.log(`queries: ${sent} sent, ${latencies.length} answered, ${lost} lost, ${errors} not NOERROR; server stats ${JSON.stringify(dns.stats)}`);
console.log(`latency p50 ${ms(quantile(latencies, 0.5))}  p90 ${ms(quantile(latencies, 0.9))}  p99 ${ms(quantile(latencies, 0.99))}  p99.9 ${ms(quantile(latencies, 0.999))}  max ${ms(latencies[latencies.length - 1] ?? NaN)}`);
console.log(`server process CPU ${((cpu.user + cpu.system) / 1000 / seconds / 10).toFixed(1)}% of one core; load average ${load0.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after (nproc 2)`);
const p99 = quantile(latencies, 0.99);
console.log(p99 < 5 && lost === 0 && errors === 0 ? 'PASS: p99 < 5 ms' : 'FAIL: p99 >= 5 ms, or lost/failed queries');

await dns.stop();
await factory.stop();
transport.close();
await api.close();
