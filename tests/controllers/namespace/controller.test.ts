import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { isNotFound } from '../../../pkg/client/errors.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startNamespaceController } from '../../../pkg/controllers/namespace/controller.js';

const pod = (name: string, nodeName?: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'nginx' }] },
});

t.test('namespace controller empties a deleted namespace, then the namespace goes', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const ctrl = await startNamespaceController({ client, informerFactory: factory, backoffBaseMs: 20, backoffMaxMs: 200, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const nsInformer = factory.informerFor('namespaces');
  const namespaces = client.resource('namespaces');

  await namespaces.create({ metadata: { name: 'x' } });
  await namespaces.create({ metadata: { name: 'keep' } });
  const inX = <K extends 'configmaps' | 'secrets' | 'services' | 'pods' | 'deployments'>(k: K) => client.resource(k).namespace('x');
  await inX('configmaps').create({ metadata: { name: 'cm' }, data: { a: 'b' } });
  await inX('configmaps').create({ metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  await inX('secrets').create({ metadata: { name: 's' }, stringData: { k: 'v' } });
  await inX('services').create({ metadata: { name: 'svc' }, spec: { selector: { app: 'a' }, ports: [{ port: 80 }] } });
  await inX('deployments').create({
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  await inX('pods').create(pod('unbound-1'));
  await inX('pods').create(pod('unbound-2'));
  await inX('pods').create(pod('bound', 'n1'));
  await client.resource('configmaps').namespace('keep').create({ metadata: { name: 'cm' } });

  await namespaces.delete('x');
  t.ok(nsInformer.get('x') !== undefined || (await namespaces.get('x')).metadata?.deletionTimestamp, 'x is terminating, not gone');

  // Unbound pods go at once; the bound one waits for its (simulated) kubelet; the held configmap for its finalizer.
  const pods = inX('pods');
  await waitFor(() => nsInformer.get('x')?.status?.conditions?.some((c) => c.type === 'NamespaceContentRemaining' && c.status === 'True') === true, 10_000, 'conditions');
  const conditions = nsInformer.get('x')?.status?.conditions ?? [];
  const remaining = conditions.find((c) => c.type === 'NamespaceContentRemaining');
  t.match(remaining?.message, /^Some resources are remaining: .*configmaps has 1 resource instances/);
  const fin = conditions.find((c) => c.type === 'NamespaceFinalizersRemaining');
  t.equal(fin?.status, 'True');
  t.match(fin?.message, 'example.com/hold in 1 resource instances');
  t.equal(nsInformer.get('x')?.status?.phase, 'Terminating');

  const left = await pods.list();
  t.same(
    left.items.map((p) => p.metadata?.name),
    ['bound'],
    'unbound pods deleted at once, the bound one is terminating',
  );
  t.ok(left.items[0]?.metadata?.deletionTimestamp, 'bound pod marked for graceful deletion');
  t.equal(left.items[0]?.metadata?.deletionGracePeriodSeconds, 30, 'with its default grace period');
  for (const k of ['secrets', 'services', 'deployments'] as const) t.equal((await inX(k).list()).items.length, 0, `${k} emptied`);
  t.equal((await client.resource('configmaps').namespace('keep').list()).items.length, 1, 'other namespaces untouched');

  // The kubelet finishes the pod; the finalizer's owner lets go.
  await pods.delete('bound', { gracePeriodSeconds: 0 });
  await inX('configmaps').patch('held', 'merge', { metadata: { finalizers: null } });
  await waitFor(() => nsInformer.get('x') === undefined, 10_000, 'namespace x deleted');
  try {
    await namespaces.get('x');
    t.fail('x still served');
  } catch (e) {
    t.ok(isNotFound(e), 'x is gone');
  }
  t.ok(nsInformer.get('keep'), 'keep is still there');
});
