/**
 * @kubernetes/client-node 1.4 against `orch server`: typed list and create,
 * a JSON patch (its default patch type), and an informer that lists, then
 * watches adds, updates and deletes.
 */
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

t.test('client-node lists, creates, patches and follows changes through an informer', async (t) => {
  const s = await startServerProcess();
  t.teardown(async () => {
    await s.stop();
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(s.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);

  const namespaces = await core.listNamespace();
  t.same(namespaces.items.map((n) => n.metadata?.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);

  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  const events: string[] = [];
  informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.data?.k}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  const existing = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' }, data: { k: '0' } } });
  t.equal(existing.metadata?.name, 'before');
  await informer.start();
  t.teardown(() => informer.stop());
  await waitFor(() => events.includes('add before'));

  const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm1' }, data: { k: '1' } } });
  t.match(created.metadata, { name: 'cm1', namespace: 'default' });
  t.ok(created.metadata?.uid, 'uid set');
  await waitFor(() => events.includes('add cm1'));

  await core.patchNamespacedConfigMap({ namespace: 'default', name: 'cm1', body: [{ op: 'replace', path: '/data/k', value: '2' }] });
  await waitFor(() => events.includes('update cm1 2'));

  await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'cm1' });
  await waitFor(() => events.includes('delete cm1'));
  t.same(informer.list('default').map((o) => o.metadata?.name), ['before'], 'the cache follows the server');

  const d = await apps.createNamespacedDeployment({
    namespace: 'default',
    body: {
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    },
  });
  t.equal(d.spec?.template.spec?.containers[0].imagePullPolicy, 'Always', 'defaults applied');
  const listed = await apps.listNamespacedDeployment({ namespace: 'default' });
  t.same(listed.items.map((i) => i.metadata?.name), ['web']);

  let notFound: unknown;
  try {
    await core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' });
  } catch (e) {
    notFound = e;
  }
  t.match(notFound, { code: 404 }, 'a missing object is a 404 ApiException');
});
