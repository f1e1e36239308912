import t from 'tap';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startServiceAccountController } from '../../../pkg/controllers/serviceaccount/controller.js';

t.test('serviceaccount controller against the in-process API server', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const ctrl = await startServiceAccountController({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const sas = factory.informerFor('serviceaccounts');
  const has = (ns: string, name = 'default'): boolean => sas.getByName(ns, name) !== undefined;

  await waitFor(() => has('default') && has('kube-system'), 10_000, 'built-in namespaces get default');
  t.pass('namespaces existing at start get one');

  await client.resource('namespaces').create({ metadata: { name: 'team-a' } });
  await waitFor(() => has('team-a'), 10_000, 'new namespace gets default');
  t.pass('a new namespace gets one');

  const uid = sas.getByName('team-a', 'default')?.metadata?.uid;
  await client.resource('serviceaccounts').namespace('team-a').delete('default');
  await waitFor(() => has('team-a') && sas.getByName('team-a', 'default')?.metadata?.uid !== uid, 10_000, 'recreated');
  t.pass('a deleted default ServiceAccount is recreated');

  // A terminating namespace gets none (it keeps its finalizer: no namespace controller here).
  await client.resource('namespaces').create({ metadata: { name: 'going' } });
  await waitFor(() => has('going'), 10_000, 'going has default');
  await client.resource('namespaces').delete('going');
  await waitFor(() => factory.informerFor('namespaces').get('going')?.metadata?.deletionTimestamp !== undefined, 10_000, 'going terminating');
  await client.resource('serviceaccounts').namespace('going').delete('default');
  await waitFor(() => !has('going'), 10_000, 'default gone from going');
  await ctrl.sync('going');
  t.notOk(has('going'), 'not recreated in a terminating namespace');
  t.equal((await client.resource('serviceaccounts').namespace('going').list()).items.length, 0);
});
