/**
 * startServer with disableScheduler (--disable-scheduler): the controllers
 * run but nothing binds pods; the same data dir restarted without it binds
 * the pod that waited.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startServer, type RunningServer, type ServerConfig } from '../../pkg/server/server.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { isNotFound } from '../../pkg/client/errors.js';

function start(dir: string, disableScheduler: boolean, extra: Partial<ServerConfig> = {}): Promise<RunningServer> {
  return startServer({
    dataDir: dir,
    httpsListenPort: 0,
    bindAddress: '127.0.0.1',
    writeKubeconfig: join(dir, 'kubeconfig'),
    clusterCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    serviceNodePortRange: '30000-32767',
    tlsSans: [],
    isRoot: false,
    disableScheduler,
    ...extra,
  });
}

/** Polls `get` every 25 ms until it yields a value; rejects after `ms`. */
async function eventually<T>(get: () => Promise<T | undefined>, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metrics(s: RunningServer): Promise<string> {
  const res = await s.api.app.request('/metrics', { headers: { authorization: `Bearer ${s.adminToken}` } });
  return res.text();
}

t.test('with disableScheduler a pod stays unbound next to a Ready node until a server with the scheduler starts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-nosched-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const s1 = await start(dir, true);
  const api1 = new Client(inProcessTransport(s1.api.app.fetch, s1.adminToken));
  let closed1 = false;
  t.teardown(async () => {
    if (closed1) return;
    await api1.transport.close();
    await s1.close();
  });
  const nodes = api1.resource('nodes');
  await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'ready-1', labels: { 'kubernetes.io/hostname': 'ready-1' } }, spec: {} } satisfies Node);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status: Node['status'] = {
    capacity: { cpu: '8', memory: '16Gi', pods: '110' },
    allocatable: { cpu: '8', memory: '16Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }],
  };
  // A merge patch, as a kubelet posts status: the node IPAM controller writes the same node meanwhile.
  await nodes.patch('ready-1', 'merge', { status }, { subresource: 'status' });
  await api1.resource('namespaces').create({ metadata: { name: 'waiting' } });
  const pods1 = api1.resource('pods').namespace('waiting');
  await pods1.create({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'pause' }] } });

  // The controllers do run: the node gets its pod range, the namespace its default ServiceAccount.
  await eventually(async () => (await nodes.get('ready-1')).spec?.podCIDR, 'the node IPAM controller');
  await eventually(
    () =>
      api1
        .resource('serviceaccounts')
        .namespace('waiting')
        .get('default')
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    'the ServiceAccount controller',
  );
  const waiting = await pods1.get('p');
  t.equal(waiting.spec?.nodeName, undefined, 'not bound');
  t.equal(waiting.status?.conditions?.find((c) => c.type === 'PodScheduled'), undefined, 'never tried by a scheduler');
  t.notMatch(await metrics(s1), /scheduler_schedule_attempts_total/, 'no scheduler metrics: the scheduler did not start');
  t.equal((await nodes.get('ready-1')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'the node is still Ready');
  closed1 = true;
  await api1.transport.close();
  await s1.close();

  const s2 = await start(dir, false);
  const api2 = new Client(inProcessTransport(s2.api.app.fetch, s2.adminToken));
  t.teardown(async () => {
    await api2.transport.close();
    await s2.close();
  });
  const bound = await eventually(async () => (await api2.resource('pods').namespace('waiting').get('p')).spec?.nodeName, 'the pod to be bound after the restart');
  t.equal(bound, 'ready-1', 'the restarted server schedules the pod that waited');
  t.match(await metrics(s2), /scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} 1$/m);
});

t.test('the kube-dns Service holds the cluster DNS address, without selector, kept off the proxy; not created when DNS is off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-kubedns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const withDns = await start(join(dir, 'a'), false, { clusterDns: { address: '10.43.0.10', domain: 'cluster.local' } });
  const client = new Client(inProcessTransport(withDns.api.app.fetch, withDns.adminToken));
  try {
    const svc = await client.resource('services').namespace('kube-system').get('kube-dns');
    t.match(svc, {
      metadata: { labels: { 'k8s-app': 'kube-dns', 'orch.dev/node-local': 'true' } },
      spec: { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] },
    });
    t.equal(svc.spec?.selector, undefined, 'no selector: every node answers the address itself');
  } finally {
    await withDns.close();
  }
  const without = await start(join(dir, 'b'), false);
  const client2 = new Client(inProcessTransport(without.api.app.fetch, without.adminToken));
  try {
    const err = await client2.resource('services').namespace('kube-system').get('kube-dns').then(() => undefined, (e: unknown) => e);
    t.ok(isNotFound(err), 'absent');
  } finally {
    await without.close();
  }
});
