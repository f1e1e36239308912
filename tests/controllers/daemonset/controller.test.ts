import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { startHollowNodes } from '../../helpers/hollow-nodes.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startDaemonSetController } from '../../../pkg/controllers/daemonset/controller.js';

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

t.test('DaemonSet controller through the API', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const nodes = await startHollowNodes({ client, names: ['n1', 'n2', 'n3', 'n4'] });
  const ctrl = await startDaemonSetController({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await nodes.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const dsClient = client.resource('daemonsets').namespace('default');
  const nodeClient = client.resource('nodes');
  const dsInformer = factory.informerFor('daemonsets');
  const podInformer = factory.informerFor('pods');
  const status = () => dsInformer.getByName('default', 'agent')?.status;
  const live = () => podInformer.byNamespace('default').filter((p) => p.metadata?.labels?.app === 'agent' && p.metadata.deletionTimestamp === undefined);

  // n4 is tainted: no pod there.
  await nodeClient.patch('n4', 'merge', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
  await dsClient.create({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:1' }] } } },
  });
  await waitFor(() => status()?.numberAvailable === 3 && status()?.desiredNumberScheduled === 3, 15_000, 'agents up');
  t.same(live().map((p) => p.spec?.nodeName).sort(), ['n1', 'n2', 'n3']);
  t.match(status(), { currentNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberMisscheduled: 0, observedGeneration: 1 });

  t.test('a node that stops matching loses its pod; a new node gains one', async (t) => {
    await nodeClient.patch('n4', 'merge', { spec: { taints: null } });
    await waitFor(() => live().some((p) => p.spec?.nodeName === 'n4' && isReady(p)) && status()?.numberAvailable === 4, 15_000, 'n4 gains a pod');
    await nodeClient.patch('n4', 'merge', { spec: { taints: [{ key: 'evict', effect: 'NoExecute' }] } });
    await waitFor(() => !live().some((p) => p.spec?.nodeName === 'n4') && status()?.desiredNumberScheduled === 3, 15_000, 'n4 evicted');
    t.pass();
  });

  t.test('rolling update keeps at most one node without an available pod', async (t) => {
    nodes.setAutoReady(false);
    let worst = 0;
    const check = () => {
      const avail = new Set(live().filter(isReady).map((p) => p.spec?.nodeName));
      worst = Math.max(worst, 3 - avail.size);
    };
    const off = podInformer.addEventHandler({ onAdd: check, onUpdate: check, onDelete: check });
    await dsClient.patch('agent', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
    for (let i = 0; i < 400; i++) {
      const s = status();
      if (s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 && s.observedGeneration === 2) break;
      await new Promise((r) => setTimeout(r, 20));
      await nodes.readyPods(1);
    }
    off();
    nodes.setAutoReady(true);
    t.match(status(), { updatedNumberScheduled: 3, numberAvailable: 3, observedGeneration: 2 });
    t.equal(worst, 1, 'exactly one node at a time');
    t.ok(live().every((p) => p.spec?.containers[0]?.image === 'agent:2'));
  });
});
