import t from 'tap';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { isNotFound } from '../../../pkg/client/errors.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startGarbageCollector } from '../../../pkg/controllers/garbagecollector/controller.js';
import { startReplicaSetController } from '../../../pkg/controllers/replicaset/controller.js';
import { startDeploymentController } from '../../../pkg/controllers/deployment/controller.js';

const NS = 'default';
const labels = (app: string) => ({ app });
const template = (app: string) => ({ metadata: { labels: labels(app) }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } });

function deployment(name: string, replicas = 0): Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: NS }, spec: { replicas, selector: { matchLabels: labels(name) }, template: template(name) } };
}

function refTo(o: { apiVersion?: string; kind?: string; metadata?: { name?: string; uid?: string } }, block = true): OwnerReference {
  return { apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '', controller: true, blockOwnerDeletion: block };
}

t.test('garbage collector against the in-process API server', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const gc = await startGarbageCollector({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(async () => {
    await gc.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const deployments = client.resource('deployments').namespace(NS);
  const replicaSets = client.resource('replicasets').namespace(NS);
  const pods = client.resource('pods').namespace(NS);
  const configMaps = client.resource('configmaps').namespace(NS);
  const dInf = factory.informerFor('deployments');
  const rsInf = factory.informerFor('replicasets');
  const podInf = factory.informerFor('pods');
  const cmInf = factory.informerFor('configmaps');

  /** A Deployment → ReplicaSet → pods chain built by hand (no controllers), as the controllers would. */
  async function chain(name: string, nPods: number, podExtra: Partial<Pod['metadata']> = {}): Promise<{ d: Deployment; rs: ReplicaSet; pods: Pod[] }> {
    const d = await deployments.create(deployment(name));
    const rs = await replicaSets.create({
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: `${name}-rs`, namespace: NS, labels: labels(name), ownerReferences: [refTo(d)] },
      spec: { replicas: 0, selector: { matchLabels: labels(name) }, template: template(name) },
    });
    const ps: Pod[] = [];
    for (let i = 0; i < nPods; i++) {
      ps.push(await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-p${i}`, namespace: NS, labels: labels(name), ownerReferences: [refTo(rs)], ...podExtra }, spec: template(name).spec }));
    }
    await waitFor(() => ps.every((p) => podInf.getByName(NS, p.metadata?.name ?? '') !== undefined), 10_000, `${name} pods cached`);
    return { d, rs, pods: ps };
  }
  const gone = async (get: () => Promise<unknown>): Promise<boolean> => {
    try {
      await get();
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };

  t.test('background: deleting a Deployment removes its ReplicaSet and pods', async (t) => {
    const { rs, pods: ps } = await chain('bg', 3);
    await deployments.delete('bg', { propagationPolicy: 'Background' });
    await waitFor(() => rsInf.getByName(NS, 'bg-rs') === undefined, 10_000, 'rs collected');
    await waitFor(() => ps.every((p) => podInf.getByName(NS, p.metadata?.name ?? '') === undefined), 10_000, 'pods collected');
    t.ok(await gone(() => replicaSets.get(rs.metadata?.name ?? '')), 'rs gone on the server');
  });

  t.test('an owner of the same name but another uid is not the owner', async (t) => {
    const real = await deployments.create(deployment('same'));
    const rs = await replicaSets.create({
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'same-rs', namespace: NS, ownerReferences: [{ ...refTo(real), uid: 'a-previous-incarnation' }] },
      spec: { replicas: 0, selector: { matchLabels: labels('same') }, template: template('same') },
    });
    const keep = await replicaSets.create({
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'same-keep', namespace: NS, ownerReferences: [refTo(real)] },
      spec: { replicas: 0, selector: { matchLabels: labels('same') }, template: template('same') },
    });
    await waitFor(() => rsInf.getByName(NS, 'same-rs') === undefined, 10_000, 'rs of the old incarnation collected');
    t.ok(await gone(() => replicaSets.get(rs.metadata?.name ?? '')));
    t.equal((await replicaSets.get('same-keep')).metadata?.uid, keep.metadata?.uid, 'the rs of the live owner stays');
    t.ok(await deployments.get('same'), 'the deployment itself stays');
  });

  t.test('a dependent with two owners goes only when both are gone', async (t) => {
    const a = await configMaps.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner-a', namespace: NS } });
    const b = await configMaps.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owner-b', namespace: NS } });
    await configMaps.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: NS, ownerReferences: [refTo(a, false), { ...refTo(b, false), controller: false }] } });
    await configMaps.delete('owner-a');
    await waitFor(() => (cmInf.getByName(NS, 'shared')?.metadata?.ownerReferences ?? []).length === 1, 10_000, 'reference to a dropped');
    const left = await configMaps.get('shared');
    t.same(left.metadata?.ownerReferences?.map((r) => r.uid), [b.metadata?.uid], 'only b remains');
    await configMaps.delete('owner-b');
    await waitFor(() => cmInf.getByName(NS, 'shared') === undefined, 10_000, 'shared collected');
    t.ok(await gone(() => configMaps.get('shared')));
  });

  t.test('a dependent whose owner never existed is collected', async (t) => {
    await configMaps.create({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'stray', namespace: NS, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nobody', uid: 'no-such-uid' }] },
    });
    await waitFor(() => cmInf.getByName(NS, 'stray') === undefined, 10_000, 'stray collected');
    t.ok(await gone(() => configMaps.get('stray')));
  });

  t.test('foreground: the owner waits for its dependents, then goes', async (t) => {
    // The pods hold on to a finalizer of ours, so the chain cannot finish until we let go.
    const { pods: ps } = await chain('fg', 2, { finalizers: ['example.com/hold'] });
    const marked = await deployments.delete('fg', { propagationPolicy: 'Foreground' });
    t.ok(marked?.metadata?.deletionTimestamp, 'the deployment is marked, not removed');
    t.ok(marked?.metadata?.finalizers?.includes('foregroundDeletion'));
    await waitFor(() => ps.every((p) => podInf.getByName(NS, p.metadata?.name ?? '')?.metadata?.deletionTimestamp !== undefined), 10_000, 'pods marked');
    const rs = rsInf.getByName(NS, 'fg-rs');
    t.ok(rs?.metadata?.deletionTimestamp, 'the rs is being deleted');
    t.ok(rs?.metadata?.finalizers?.includes('foregroundDeletion'), 'in the foreground, as it has dependents');
    t.ok(dInf.getByName(NS, 'fg'), 'the deployment still waits');
    for (const p of ps) await pods.patch(p.metadata?.name ?? '', 'merge', { metadata: { finalizers: null } });
    await waitFor(() => dInf.getByName(NS, 'fg') === undefined, 10_000, 'deployment gone');
    t.ok(await gone(() => deployments.get('fg')));
    t.ok(await gone(() => replicaSets.get('fg-rs')));
    for (const p of ps) t.ok(await gone(() => pods.get(p.metadata?.name ?? '')));
  });

  t.test('orphan: the ReplicaSet stays without an owner reference', async (t) => {
    const { rs, pods: ps } = await chain('orph', 1);
    await deployments.delete('orph', { propagationPolicy: 'Orphan' });
    await waitFor(() => dInf.getByName(NS, 'orph') === undefined, 10_000, 'deployment gone');
    const left = await replicaSets.get('orph-rs');
    t.equal(left.metadata?.uid, rs.metadata?.uid);
    t.same(left.metadata?.ownerReferences ?? [], [], 'no owner references');
    const pod = await pods.get(ps[0].metadata?.name ?? '');
    t.equal(pod.metadata?.ownerReferences?.[0]?.uid, rs.metadata?.uid, 'the pods still belong to the rs');
  });
});

t.test('with the Deployment and ReplicaSet controllers', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const quiet = { onError: () => undefined };
  const gc = await startGarbageCollector({ client, informerFactory: factory, ...quiet });
  const rsc = await startReplicaSetController({ client, informerFactory: factory, ...quiet });
  const dc = await startDeploymentController({ client, informerFactory: factory, ...quiet });
  t.teardown(async () => {
    await dc.stop();
    await rsc.stop();
    await gc.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const deployments = client.resource('deployments').namespace(NS);
  const rsInf = factory.informerFor('replicasets');
  const podInf = factory.informerFor('pods');
  const of = (app: string) => ({
    rs: () => rsInf.byNamespace(NS).filter((r) => r.metadata?.labels?.app === app),
    pods: () => podInf.byNamespace(NS).filter((p) => p.metadata?.labels?.app === app),
  });

  const cases: { name: string; policy: 'Background' | 'Foreground' }[] = [
    { name: 'web', policy: 'Background' },
    { name: 'api', policy: 'Foreground' },
  ];
  for (const c of cases) {
    t.test(`${c.policy}: delete deployment ${c.name}`, async (t) => {
      await deployments.create(deployment(c.name, 3));
      const x = of(c.name);
      await waitFor(() => x.rs().length === 1 && x.pods().length === 3, 15_000, `${c.name} rolled out`);
      await deployments.delete(c.name, { propagationPolicy: c.policy });
      await waitFor(() => x.rs().length === 0 && x.pods().length === 0, 15_000, `${c.name} dependents collected`);
      await waitFor(() => factory.informerFor('deployments').getByName(NS, c.name) === undefined, 15_000, 'deployment gone');
      t.pass();
    });
  }

  t.test('Orphan: the ReplicaSet and its pods stay', async (t) => {
    await deployments.create(deployment('keep', 2));
    const x = of('keep');
    await waitFor(() => x.rs().length === 1 && x.pods().length === 2, 15_000, 'keep rolled out');
    await deployments.delete('keep', { propagationPolicy: 'Orphan' });
    await waitFor(() => factory.informerFor('deployments').getByName(NS, 'keep') === undefined, 15_000, 'deployment gone');
    await waitFor(() => x.rs().length === 1 && (x.rs()[0].metadata?.ownerReferences ?? []).length === 0, 15_000, 'rs released');
    t.equal(x.pods().length, 2, 'pods untouched');
  });
});
