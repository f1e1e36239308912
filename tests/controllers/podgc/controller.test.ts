import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { EventRecorder } from '../../../pkg/client/events.js';
import { startPodGCController } from '../../../pkg/controllers/podgc/controller.js';

const pod = (name: string, nodeName?: string, finalizers?: string[]): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', ...(finalizers ? { finalizers } : {}) },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'nginx' }] },
});

t.test('pod GC against the in-process API server', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const podClient = client.resource('pods').namespace('default');
  const nodeClient = client.resource('nodes');
  for (const name of ['n1', 'n2']) await nodeClient.create({ metadata: { name } });

  // Before the controller starts: four finished pods on n1 (threshold 2), pods on n2, one of them terminating.
  for (let i = 0; i < 4; i++) {
    await podClient.create(pod(`done-${i}`, 'n1'));
    await podClient.patch(`done-${i}`, 'merge', { status: { phase: i % 2 === 0 ? 'Succeeded' : 'Failed' } }, { subresource: 'status' });
  }
  await podClient.create(pod('keep', 'n1'));
  await podClient.create(pod('on-n2', 'n2'));
  await podClient.create(pod('leaving-n2', 'n2'));
  await podClient.delete('leaving-n2'); // graceful: stays, its kubelet is about to vanish

  const recorder = new EventRecorder(client, { component: 'pod-garbage-collector' });
  const ctrl = await startPodGCController({ client, informerFactory: factory, recorder, terminatedPodGCThreshold: 2, quarantineMs: 300, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const pods = factory.informerFor('pods');
  const has = (name: string): boolean => pods.getByName('default', name) !== undefined;
  const seen: Pod[] = [];
  pods.addEventHandler({ onUpdate: (_o, p) => seen.push(p) });

  await waitFor(() => !has('done-0') && !has('done-1'), 10_000, 'oldest finished pods collected');
  t.ok(has('done-2') && has('done-3'), 'threshold kept');
  t.ok(has('keep') && has('on-n2') && has('leaving-n2'), 'pods of live nodes untouched');

  t.test('pods of a deleted node go after the quarantine', async (t) => {
    await nodeClient.delete('n2');
    await waitFor(() => !has('on-n2') && !has('leaving-n2'), 10_000, 'orphans collected');
    const marked = seen.find((p) => p.metadata?.name === 'on-n2' && p.status?.phase === 'Failed');
    t.match(marked?.status?.conditions?.find((c) => c.type === 'DisruptionTarget'), { status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
    t.ok(has('keep'), 'pods of other nodes stay');
    await recorder.flush();
    const events = await client.resource('events').namespace('default').list({ fieldSelector: 'involvedObject.name=on-n2' });
    t.ok(events.items.some((e) => e.reason === 'DeletionByPodGC'), 'event recorded');
  });

  t.test('a node that comes back in time keeps its pods', async (t) => {
    await nodeClient.create({ metadata: { name: 'n3' } });
    await podClient.create(pod('on-n3', 'n3'));
    await nodeClient.delete('n3');
    await nodeClient.create({ metadata: { name: 'n3' } });
    await waitFor(() => factory.informerFor('nodes').getByName(undefined, 'n3') !== undefined, 10_000, 'n3 back in cache');
    await ctrl.sync('podgc');
    await new Promise((r) => setTimeout(r, 400)); // past the quarantine the node is still there
    await ctrl.sync('podgc');
    t.ok(has('on-n3'));
  });

  t.test('an unscheduled terminating pod is force-deleted', async (t) => {
    // Unbound pods are deleted at once by the API; only a finalizer keeps one terminating.
    await podClient.create(pod('stuck', undefined, ['example.com/hold']));
    await podClient.delete('stuck');
    await waitFor(() => pods.getByName('default', 'stuck')?.status?.phase === 'Failed', 10_000, 'marked failed');
    await podClient.patch('stuck', 'merge', { metadata: { finalizers: null } });
    await waitFor(() => !has('stuck'), 10_000, 'gone once released');
    t.pass();
  });
});
