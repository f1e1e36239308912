import t from 'tap';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { startHollowNodes } from '../../helpers/hollow-nodes.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory, type Informer } from '../../../pkg/client/informer.js';
import type { ObjectLike } from '../../../pkg/client/client.js';
import { CONTROLLER_UID_INDEX, startReplicaSetController } from '../../../pkg/controllers/replicaset/controller.js';
import { startDeploymentController } from '../../../pkg/controllers/deployment/controller.js';

/** kubectl rollout status's verdict. */
function rolledOut(d: Deployment | undefined): boolean {
  if (d === undefined) return false;
  const s = d.status ?? {};
  if ((d.metadata?.generation ?? 0) > (s.observedGeneration ?? 0)) return false;
  if ((s.updatedReplicas ?? 0) < (d.spec?.replicas ?? 1)) return false;
  if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return false;
  return (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0);
}

/** Records what is read from an informer's cache (byNamespace goes through byIndex) until stop() is called. */
function spyReads<T extends ObjectLike>(inf: Informer<T>): { read: T[]; namespaceScans: () => number; stop: () => void } {
  const read: T[] = [];
  let scans = 0;
  const byIndex = inf.byIndex.bind(inf);
  const byNamespace = inf.byNamespace.bind(inf);
  inf.byIndex = (name, value) => {
    const out = byIndex(name, value);
    read.push(...out);
    return out;
  };
  inf.byNamespace = (ns) => {
    scans++;
    return byNamespace(ns);
  };
  return {
    read,
    namespaceScans: () => scans,
    stop: () => {
      inf.byIndex = byIndex;
      inf.byNamespace = byNamespace;
    },
  };
}

const controllerUid = (o: ObjectLike): string | undefined => o.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

t.test('Deployment controller rolls out through the API', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const nodes = await startHollowNodes({ client, names: ['n1', 'n2', 'n3', 'n4'] });
  const rsCtrl = await startReplicaSetController({ client, informerFactory: factory, onError: () => undefined });
  const dCtrl = await startDeploymentController({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(async () => {
    await dCtrl.stop();
    await rsCtrl.stop();
    await nodes.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const dClient = client.resource('deployments').namespace('default');
  const dInformer = factory.informerFor('deployments');
  const rsInformer = factory.informerFor('replicasets');
  const podInformer = factory.informerFor('pods');
  const get = () => dInformer.getByName('default', 'web');
  const live = () => podInformer.byNamespace('default').filter((p) => p.metadata?.labels?.app === 'web' && p.metadata.deletionTimestamp === undefined);

  await dClient.create({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas: 10, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
  });
  await waitFor(() => rolledOut(get()), 20_000, 'first rollout');
  t.equal(live().length, 10);
  t.equal(get()?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.equal(get()?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'NewReplicaSetAvailable');
  t.equal(get()?.status?.conditions?.find((c) => c.type === 'Available')?.status, 'True');

  t.test('set image rolls out gradually within maxSurge/maxUnavailable', async (t) => {
    nodes.setAutoReady(false);
    await dClient.patch('web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } } } });
    let minAvailable = Infinity;
    let maxTotal = 0;
    const observe = () => {
      const pods = live();
      minAvailable = Math.min(minAvailable, pods.filter(isReady).length);
      maxTotal = Math.max(maxTotal, pods.length);
    };
    const off = podInformer.addEventHandler({ onAdd: observe, onUpdate: observe, onDelete: observe });
    for (let i = 0; i < 400 && !rolledOut(get()); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await nodes.readyPods(1);
    }
    off();
    await waitFor(() => rolledOut(get()), 20_000, 'second rollout');
    nodes.setAutoReady(true);
    t.ok(minAvailable >= 8, `never fewer than 8 ready pods (min ${minAvailable})`);
    t.ok(maxTotal <= 13, `never more than 13 pods (max ${maxTotal})`);
    const rss = rsInformer.byNamespace('default');
    t.equal(rss.length, 2);
    const newest = rss.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2');
    t.equal(newest?.spec?.replicas, 10);
    t.ok(live().every((p) => p.metadata?.labels?.['pod-template-hash'] === newest?.metadata?.labels?.['pod-template-hash']));
  });

  t.test('undo by patching the old template reuses revision 1 as revision 3', async (t) => {
    await dClient.patch('web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } });
    await waitFor(() => rolledOut(get()) && get()?.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3', 20_000, 'undo');
    const rss = rsInformer.byNamespace('default');
    t.equal(rss.length, 2);
    const active = rss.find((r) => (r.spec?.replicas ?? 0) > 0);
    t.equal(active?.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  });

  t.test('scale through /scale', async (t) => {
    await dClient.patch('web', 'merge', { spec: { replicas: 3 } }, { subresource: 'scale' });
    await waitFor(() => rolledOut(get()) && get()?.status?.replicas === 3 && live().length === 3, 20_000, 'scaled');
    t.pass();
  });

  t.test('Recreate never runs old and new pods together', async (t) => {
    await dClient.patch('web', 'merge', { spec: { strategy: { type: 'Recreate', rollingUpdate: null } } });
    await waitFor(() => rolledOut(get()), 20_000, 'strategy change observed');
    let mixed = false;
    const check = () => {
      const hashes = new Set(live().map((p) => p.metadata?.labels?.['pod-template-hash']));
      if (hashes.size > 1) mixed = true;
    };
    const off = podInformer.addEventHandler({ onAdd: check, onUpdate: check });
    await dClient.patch('web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } } } });
    await waitFor(() => rolledOut(get()) && get()?.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '4', 20_000, 'recreate');
    off();
    t.notOk(mixed);
  });

  t.test("a rollout reads its own replica sets and pods, never another deployment's", async (t) => {
    const make = (name: string): Deployment => ({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
    });
    await dClient.create(make('alpha'));
    await dClient.create(make('beta'));
    const byName = (name: string) => dInformer.getByName('default', name);
    await waitFor(() => rolledOut(byName('alpha')) && rolledOut(byName('beta')), 20_000, 'alpha and beta rolled out');
    const alphaUid = byName('alpha')?.metadata?.uid ?? '';
    const betaUid = byName('beta')?.metadata?.uid ?? '';
    const betaRSUids = new Set(rsInformer.byIndex(CONTROLLER_UID_INDEX, betaUid).map((rs) => rs.metadata?.uid));
    t.equal(betaRSUids.size, 1, 'beta has its replica set');

    const rsReads = spyReads(rsInformer);
    const podReads = spyReads(podInformer);
    t.teardown(() => {
      rsReads.stop();
      podReads.stop();
    });
    await dClient.patch('alpha', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.26' }] } } } });
    await waitFor(() => rolledOut(byName('alpha')) && byName('alpha')?.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2', 20_000, 'alpha rollout');
    rsReads.stop();
    podReads.stop();

    t.equal(rsReads.namespaceScans(), 0, 'no replica set scan of the namespace');
    t.equal(podReads.namespaceScans(), 0, 'no pod scan of the namespace');
    t.ok(rsReads.read.some((rs) => controllerUid(rs) === alphaUid), "alpha's replica sets were read");
    t.notOk(rsReads.read.some((rs) => controllerUid(rs) === betaUid), "no replica set of beta was read");
    t.notOk(podReads.read.some((p) => betaRSUids.has(controllerUid(p))), 'no pod of beta was read');
  });
});
