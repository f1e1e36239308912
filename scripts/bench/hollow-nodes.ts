/**
 * Hollow nodes in a process of their own: registers N Nodes with Leases,
 * heartbeats, runs (pretends to run) the pods bound to them, until SIGTERM.
 * Prints `hollow-nodes: registered …` on stdout once the nodes exist and the
 * pod watch is synced; stats go to stderr at exit.
 * Usage: node --import=tsx scripts/bench/hollow-nodes.ts --server https://127.0.0.1:6443 \
 *   --ca server-ca.crt --token admin.token [--nodes 100] [--heartbeat-seconds 10] [--prefix hollow] [--concurrency 48]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client } from '../../pkg/client/client.js';
import { httpsTransport } from '../../pkg/client/transport.js';
import { startHollowNodes } from './lib/hollow-node-process.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    ca: { type: 'string' },
    token: { type: 'string' },
    nodes: { type: 'string', default: '100' },
    'heartbeat-seconds': { type: 'string', default: '10' },
    prefix: { type: 'string', default: 'hollow' },
    concurrency: { type: 'string', default: '48' },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`hollow-nodes: --${name} must be a positive number, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

if (!values.server || !values.ca || !values.token) {
  process.stderr.write('hollow-nodes: --server, --ca and --token are required\n');
  process.exit(2);
}
const nodes = positive('nodes', values.nodes);
const transport = httpsTransport({
  server: values.server,
  ca: readFileSync(values.ca, 'utf8'),
  token: readFileSync(values.token, 'utf8').trim(),
  userAgent: 'orch-hollow-kubelet/v1.32.0',
});
const client = new Client(transport);
const started = performance.now();
const hollow = await startHollowNodes({
  client,
  nodes,
  prefix: values.prefix ?? 'hollow',
  heartbeatSeconds: positive('heartbeat-seconds', values['heartbeat-seconds']),
  concurrency: positive('concurrency', values.concurrency),
});
process.stdout.write(`hollow-nodes: registered ${nodes} nodes (${hollow.names[0]} …) in ${((performance.now() - started) / 1000).toFixed(1)} s, pid ${process.pid}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  hollow
    .stop()
    .then(() => transport.close())
    .then(
      () => {
        process.stderr.write(`hollow-nodes: stopped; ${JSON.stringify(hollow.stats())}\n`);
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`hollow-nodes: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
