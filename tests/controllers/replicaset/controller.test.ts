import t from 'tap';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { startHollowNodes } from '../../helpers/hollow-nodes.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { CONTROLLER_UID_INDEX, ORPHANS_BY_NAMESPACE_INDEX, ensureOwnershipIndexes, startReplicaSetController } from '../../../pkg/controllers/replicaset/controller.js';

function replicaSet(name: string, replicas: number): ReplicaSet {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
  };
}

function getControllerUid(pod: Pod | undefined): string | undefined {
  return pod?.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;
}

t.test('ReplicaSet controller against the in-process API server', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const nodes = await startHollowNodes({ client, names: ['n1', 'n2', 'n3'] });
  const ctrl = await startReplicaSetController({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(async () => {
    await ctrl.stop();
    await nodes.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const rsClient = client.resource('replicasets').namespace('default');
  const podClient = client.resource('pods').namespace('default');
  const rsInformer = factory.informerFor('replicasets');
  const podInformer = factory.informerFor('pods');
  const podsOf = (app: string): Pod[] => podInformer.byNamespace('default').filter((p) => p.metadata?.labels?.app === app && p.metadata?.deletionTimestamp === undefined);
  const statusOf = (name: string) => rsInformer.getByName('default', name)?.status;

  await rsClient.create(replicaSet('web', 5));
  await waitFor(() => statusOf('web')?.readyReplicas === 5 && statusOf('web')?.availableReplicas === 5, 15_000, 'web ready');
  const pods = podsOf('web');
  t.equal(pods.length, 5, 'exactly five pods, no double creates');
  t.ok(pods.every((p) => p.metadata?.name?.startsWith('web-') && p.metadata.ownerReferences?.[0]?.controller === true));
  t.same(new Set(pods.map((p) => p.spec?.nodeName)), new Set(['n1', 'n2', 'n3']));
  const rs = rsInformer.getByName('default', 'web');
  t.equal(rs?.status?.observedGeneration, rs?.metadata?.generation);
  t.equal(rs?.status?.fullyLabeledReplicas, 5);

  t.test('scale down deletes pods', async (t) => {
    await rsClient.patch('web', 'merge', { spec: { replicas: 2 } });
    await waitFor(() => statusOf('web')?.replicas === 2 && podsOf('web').length === 2, 15_000, 'scaled to 2');
    t.pass();
  });

  t.test('a deleted pod is replaced', async (t) => {
    const victim = podsOf('web')[0];
    await podClient.delete(victim.metadata?.name ?? '', { gracePeriodSeconds: 0 });
    await waitFor(() => podsOf('web').length === 2 && !podsOf('web').some((p) => p.metadata?.uid === victim.metadata?.uid) && statusOf('web')?.readyReplicas === 2, 15_000, 'replacement');
    t.pass();
  });

  t.test('orphans are adopted; relabelled pods are released and replaced', async (t) => {
    let adopted = false;
    const off = podInformer.addEventHandler({
      onUpdate: (_o, p) => {
        if (p.metadata?.name === 'stray' && p.metadata.ownerReferences?.[0]?.name === 'web') adopted = true;
      },
    });
    await podClient.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    // Adopted, then (one too many, and the least established) deleted.
    await waitFor(() => adopted, 15_000, 'adoption');
    off();
    await waitFor(() => podsOf('web').length === 2, 15_000, 'extra pod removed after adoption');
    const keep = podsOf('web')[0];
    await podClient.patch(keep.metadata?.name ?? '', 'merge', { metadata: { labels: { app: 'debug' } } });
    await waitFor(() => (podInformer.getByName('default', keep.metadata?.name ?? '')?.metadata?.ownerReferences ?? []).length === 0, 15_000, 'release');
    await waitFor(() => podsOf('web').length === 2 && statusOf('web')?.replicas === 2, 15_000, 'replaced');
    t.pass();
  });

  t.test('a large scale-up creates exactly the count', async (t) => {
    await rsClient.create(replicaSet('big', 60));
    await waitFor(() => statusOf('big')?.availableReplicas === 60, 30_000, 'big ready');
    // Give any duplicate creates a chance to show up.
    await new Promise((r) => setTimeout(r, 200));
    t.equal(podsOf('big').length, 60);
  });

  t.test('a sync reads its own pods and the orphans only; orphans are adopted through the orphan index', async (t) => {
    t.doesNotThrow(() => ensureOwnershipIndexes(podInformer), 'adding the shared indexes again is harmless');
    await rsClient.create(replicaSet('other', 3));
    await rsClient.create(replicaSet('mine', 2));
    await waitFor(() => statusOf('other')?.readyReplicas === 3 && statusOf('mine')?.readyReplicas === 2, 15_000, 'both ready');
    const mineUid = rsInformer.getByName('default', 'mine')?.metadata?.uid ?? '';
    const otherUid = rsInformer.getByName('default', 'other')?.metadata?.uid ?? '';
    t.ok(mineUid !== '' && otherUid !== '', 'both have uids');

    // Record every pod the controller reads from the shared pod cache while it syncs 'mine'.
    const read: Pod[] = [];
    const orphanLookups: Pod[] = [];
    let namespaceScans = 0;
    const byIndex = podInformer.byIndex.bind(podInformer);
    const byNamespace = podInformer.byNamespace.bind(podInformer);
    podInformer.byIndex = (name, value) => {
      const out = byIndex(name, value);
      read.push(...out);
      if (name === ORPHANS_BY_NAMESPACE_INDEX) orphanLookups.push(...out);
      return out;
    };
    podInformer.byNamespace = (ns) => {
      namespaceScans++;
      return byNamespace(ns);
    };
    t.teardown(() => {
      podInformer.byIndex = byIndex;
      podInformer.byNamespace = byNamespace;
    });

    let adopted = false;
    const off = podInformer.addEventHandler({
      onUpdate: (_o, p) => {
        if (p.metadata?.name === 'stray-mine' && getControllerUid(p) === mineUid) adopted = true;
      },
    });
    t.teardown(off);
    await podClient.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray-mine', labels: { app: 'mine' } }, spec: { containers: [{ name: 'c', image: 'x' }] } });
    await waitFor(() => adopted, 15_000, 'stray adopted by mine');
    await waitFor(() => statusOf('mine')?.replicas === 2 && byIndex(CONTROLLER_UID_INDEX, mineUid).filter((p) => p.metadata?.deletionTimestamp === undefined).length === 2, 15_000, 'back to 2');
    podInformer.byIndex = byIndex;
    podInformer.byNamespace = byNamespace;

    t.equal(namespaceScans, 0, 'no sync scanned the namespace');
    t.ok(orphanLookups.some((p) => p.metadata?.name === 'stray-mine'), 'the stray was found through the orphan index');
    t.ok(read.length > 0, 'the controller read pods through the indexes');
    t.notOk(read.some((p) => getControllerUid(p) === otherUid), "no pod of 'other' was read");
    t.ok(read.every((p) => getControllerUid(p) === mineUid || getControllerUid(p) === undefined), "only 'mine' pods and orphans were read");
    t.equal(podsOf('other').length, 3, "'other' untouched");
  });
});
