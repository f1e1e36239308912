import t from 'tap';
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startEndpointsController } from '../../../pkg/controllers/endpoints/controller.js';
import { TRIGGER_TIME_ANNOTATION } from '../../../pkg/controllers/endpoints/endpoints.js';

function service(name: string, selector?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels: { team: 'a' } },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
  };
}

function pod(name: string, app: string, containerPort = 8080): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'web', containerPort }] }] },
  };
}

t.test('endpoints controller against the in-process API server', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const ctrl = await startEndpointsController({ client, informerFactory: factory, batchPeriodMs: 100, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const svcClient = client.resource('services').namespace('default');
  const podClient = client.resource('pods').namespace('default');
  const epClient = client.resource('endpoints').namespace('default');
  const epInformer = factory.informerFor('endpoints');
  const ep = (name: string): Endpoints | undefined => epInformer.getByName('default', name);
  const ips = (name: string, which: 'addresses' | 'notReadyAddresses'): string[] =>
    (ep(name)?.subsets ?? []).flatMap((s) => (s[which] ?? []).map((a) => a.ip)).sort();

  let writes = 0;
  epInformer.addEventHandler({
    onAdd: (e) => {
      if (e.metadata?.name === 'web') writes++;
    },
    onUpdate: (o, e) => {
      if (e.metadata?.name === 'web' && o.metadata?.resourceVersion !== e.metadata?.resourceVersion) writes++;
    },
  });
  const apiEndpointsRv = (await epClient.get('kubernetes')).metadata?.resourceVersion;

  const setStatus = async (name: string, ip: string, ready: boolean): Promise<void> => {
    await podClient.patch(name, 'merge', { status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }, { subresource: 'status' });
  };

  await svcClient.create(service('web', { app: 'web' }));
  await waitFor(() => ep('web') !== undefined, 10_000, 'Endpoints created for a new Service');
  t.same(ep('web')?.subsets ?? [], [], 'no pods: no subsets');
  t.same(ep('web')?.metadata?.labels, { team: 'a' }, 'labels copied from the Service');
  t.ok(ep('web')?.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION], 'trigger time annotated');

  await podClient.create(pod('web-1', 'web'));
  await podClient.create(pod('web-2', 'web', 9090));
  await podClient.create(pod('db-1', 'db'));
  await setStatus('web-1', '10.42.0.11', true);
  await setStatus('web-2', '10.42.0.12', false);
  await setStatus('db-1', '10.42.0.13', true);
  await waitFor(() => ips('web', 'addresses').length === 1 && ips('web', 'notReadyAddresses').length === 1, 10_000, 'ready and not-ready addresses');
  t.same(ips('web', 'addresses'), ['10.42.0.11']);
  t.same(ips('web', 'notReadyAddresses'), ['10.42.0.12']);
  t.same(
    (ep('web')?.subsets ?? []).map((s) => s.ports),
    [[{ name: 'http', port: 8080, protocol: 'TCP' }], [{ name: 'http', port: 9090, protocol: 'TCP' }]],
    'named target port resolved per pod, one subset per port set',
  );
  const a = ep('web')?.subsets?.[0]?.addresses?.[0];
  t.match(a, { nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'default' } });
  t.ok(a?.targetRef?.uid);

  t.test('readiness change moves the address', async (t) => {
    await setStatus('web-2', '10.42.0.12', true);
    await waitFor(() => ips('web', 'addresses').length === 2, 10_000, 'web-2 ready');
    t.same(ips('web', 'notReadyAddresses'), []);
  });

  t.test('a burst of pod changes folds into few writes', async (t) => {
    const before = writes;
    const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    await Promise.all(names.map((n) => podClient.create(pod(n, 'web'))));
    await Promise.all(names.map((n, i) => setStatus(n, `10.42.1.${i + 1}`, true)));
    await waitFor(() => ips('web', 'addresses').length === 22, 10_000, 'all burst pods in');
    const burstWrites = writes - before;
    t.ok(burstWrites >= 1 && burstWrites < names.length, `${burstWrites} writes for ${names.length} pods`);
    // Nothing changes: a resync writes nothing.
    const settled = writes;
    await ctrl.sync('default/web');
    t.equal(writes, settled, 'an unchanged set writes nothing');
    await Promise.all(names.map((n) => podClient.delete(n, { gracePeriodSeconds: 0 })));
    await waitFor(() => ips('web', 'addresses').length === 2, 10_000, 'burst pods gone');
  });

  t.test('a terminating pod leaves the addresses', async (t) => {
    await podClient.delete('web-2'); // bound: graceful, stays with a deletionTimestamp
    await waitFor(() => ips('web', 'addresses').length === 1, 10_000, 'web-2 out');
    t.same(ips('web', 'notReadyAddresses'), []);
    await podClient.delete('web-2', { gracePeriodSeconds: 0 });
  });

  t.test('relabelled pod leaves the Service', async (t) => {
    await podClient.patch('web-1', 'merge', { metadata: { labels: { app: 'other' } } });
    await waitFor(() => ips('web', 'addresses').length === 0, 10_000, 'web-1 out');
    t.pass();
  });

  t.test('a deleted Endpoints is recreated', async (t) => {
    const uid = ep('web')?.metadata?.uid;
    await epClient.delete('web');
    await waitFor(() => ep('web') !== undefined && ep('web')?.metadata?.uid !== uid, 10_000, 'recreated');
    t.pass();
  });

  t.test('a Service without selector keeps its user-managed Endpoints', async (t) => {
    await svcClient.create(service('manual'));
    const mine: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 5432 }] }],
    };
    const created = await epClient.create(mine);
    await ctrl.sync('default/manual');
    const now = await epClient.get('manual');
    t.equal(now.metadata?.resourceVersion, created.metadata?.resourceVersion, 'untouched');
  });

  t.test('deleting the Service deletes its Endpoints', async (t) => {
    await svcClient.delete('web');
    await waitFor(() => ep('web') === undefined, 10_000, 'Endpoints gone');
    t.pass();
  });

  t.test('the kubernetes Endpoints is never touched', async (t) => {
    await ctrl.sync('default/kubernetes');
    t.equal((await epClient.get('kubernetes')).metadata?.resourceVersion, apiEndpointsRv);
  });
});
