/**
 * Scheduler throughput, in memory: N nodes, M pending pods, fake
 * dependencies (binding succeeds at once and is echoed back as the watch
 * would), the real loop with its event-loop yields. Reports pods bound per
 * second from the first pop to the last binding.
 * With --api the same runs through the in-process API server (memory
 * store): nodes and pods are created through the API first, then the
 * scheduler starts with informers, binds via pods/binding and is timed from
 * start to the last binding seen by its pod informer.
 * Usage: node --import=tsx scripts/bench/scheduler.ts [--nodes 1000] [--pods 10000] [--owners 100] [--api]
 */
import { parseArgs } from 'node:util';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { MemoryBackend } from '../../embedded-store/memory.js';
import { createApiServer } from '../../pkg/apiserver/app.js';
import { Client } from '../../pkg/client/client.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { startScheduler } from '../../pkg/scheduler/run.js';
import { Scheduler, type SchedulerDeps } from '../../pkg/scheduler/scheduler.js';
import { bootstrapObjects } from '../../pkg/server/bootstrap.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10000' },
    owners: { type: 'string', default: '100' },
    api: { type: 'boolean', default: false },
  },
});
const numNodes = Number(values.nodes);
const numPods = Number(values.pods);
const numOwners = Number(values.owners);

function node(i: number): Node {
  const name = `node-${i}`;
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function pod(i: number): Pod {
  const owner = i % numOwners;
  return {
    metadata: {
      name: `pod-${i}`,
      namespace: 'bench',
      uid: `uid-${i}`,
      creationTimestamp: '2025-01-01T00:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${owner}`, uid: `rs-${owner}`, controller: true }],
    },
    spec: {
      containers: [{ name: 'c', image: 'pause', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
  };
}

if (values.api) {
  await benchThroughApi();
  process.exit(0);
}

async function benchThroughApi(): Promise<void> {
  const backend = new MemoryBackend();
  const api = createApiServer({
    backend,
    authenticate: (h) => h === 'Bearer bench',
    serverAddress: '127.0.0.1:6443',
    caBundle: 'CA',
    serviceCidr: '10.43.0.0/16',
    nodePortRange: '30000-32767',
  });
  await bootstrapObjects(api, { advertiseAddress: '127.0.0.1', port: 6443, serviceCidr: '10.43.0.0/16' });
  const transport = inProcessTransport(api.app.fetch, 'bench');
  const client = new Client(transport);
  await client.resource('namespaces').create({ metadata: { name: 'bench' } });
  const nodes = client.resource('nodes');
  const c0 = process.hrtime.bigint();
  for (let i = 0; i < numNodes; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, numNodes - i) }, async (_, j) => {
        const n = node(i + j);
        const created = await nodes.create(n);
        await nodes.updateStatus({ ...created, status: n.status });
      }),
    );
  }
  const podsApi = client.resource('pods').namespace('bench');
  for (let i = 0; i < numPods; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, numPods - i) }, (_, j) => {
        const p = pod(i + j);
        return podsApi.create({ ...p, metadata: { ...p.metadata, uid: undefined } });
      }),
    );
  }
  const c1 = process.hrtime.bigint();
  console.log(`created ${numNodes} nodes and ${numPods} pods through the API in ${(Number(c1 - c0) / 1e9).toFixed(1)} s`);

  const factory = new SharedInformerFactory(client);
  let boundSeen = 0;
  let allBound: () => void = () => {};
  const finishedApi = new Promise<void>((r) => (allBound = r));
  factory.informerFor('pods').addEventHandler({
    onUpdate(o: Pod, p: Pod) {
      if (!o.spec?.nodeName && p.spec?.nodeName && ++boundSeen === numPods) allBound();
    },
  });
  const t0 = process.hrtime.bigint();
  const running = await startScheduler({ client, informerFactory: factory });
  const t1 = process.hrtime.bigint();
  await finishedApi;
  const t2 = process.hrtime.bigint();
  await running.stop();
  await factory.stop();
  await transport.close();
  await backend.close();
  const total = Number(t2 - t0) / 1e9;
  console.log(`informers synced in ${(Number(t1 - t0) / 1e9).toFixed(2)} s; ${numPods} pods bound through pods/binding in ${total.toFixed(2)} s = ${Math.round(numPods / total)} pods/s (from scheduler start, sync included)`);
}

let scheduler: Scheduler | undefined;
let done: () => void = () => {};
const finished = new Promise<void>((resolve) => (done = resolve));
let bound = 0;
const deps: SchedulerDeps = {
  async bind(p, nodeName) {
    scheduler?.onPodUpdate(p, { ...p, spec: { ...p.spec, containers: p.spec?.containers ?? [], nodeName } });
    if (++bound === numPods) done();
  },
  async updatePodStatus() {},
  recordEvent() {},
};

const s = new Scheduler({ deps });
scheduler = s;
for (let i = 0; i < numNodes; i++) s.onNodeAdd(node(i));
const t0 = process.hrtime.bigint();
for (let i = 0; i < numPods; i++) s.onPodAdd(pod(i));
const t1 = process.hrtime.bigint();
s.start();
await finished;
const t2 = process.hrtime.bigint();
await s.stop();

const enqueueMs = Number(t1 - t0) / 1e6;
const scheduleS = Number(t2 - t1) / 1e9;
let maxPods = 0;
for (const ni of s.cache.nodeInfos()) maxPods = Math.max(maxPods, ni.podCount);
console.log(`${numNodes} nodes, ${numPods} pods (${numOwners} owners): enqueued in ${enqueueMs.toFixed(0)} ms`);
console.log(`bound ${bound} pods in ${scheduleS.toFixed(2)} s = ${Math.round(bound / scheduleS)} pods/s; busiest node holds ${maxPods} pods`);
