import t from 'tap';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startNodeLifecycleController } from '../../../pkg/controllers/nodelifecycle/controller.js';

const NS = 'default';
const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';
const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

t.test('node lifecycle against the in-process API server', async (t) => {
  // As with --default-*-toleration-seconds=0: a pod with no tolerations of its own is evicted at once.
  const api = await startTestApi({ defaultTolerations: { notReadySeconds: 0, unreachableSeconds: 0 } });
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const nodeClient = client.resource('nodes');
  const leaseClient = client.resource('leases').namespace('kube-node-lease');
  const podClient = client.resource('pods').namespace(NS);

  /** A stand-in kubelet: posts Ready (or not) and renews its Lease every 50 ms while alive. */
  const kubelets = new Map<string, { alive: boolean; ready: 'True' | 'False'; timer?: NodeJS.Timeout }>();
  async function postStatus(name: string, ready: 'True' | 'False'): Promise<void> {
    const n = await nodeClient.get(name);
    const now = seconds(Date.now());
    const prev = n.status?.conditions?.find((c) => c.type === 'Ready');
    const changed = prev?.status !== ready;
    await nodeClient.updateStatus({
      ...n,
      status: {
        ...n.status,
        conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady', message: 'test', lastHeartbeatTime: now, lastTransitionTime: changed ? now : prev?.lastTransitionTime }],
      },
    });
  }
  async function renew(name: string): Promise<void> {
    const l = await leaseClient.get(name);
    await leaseClient.update({ ...l, spec: { ...l.spec, renewTime: micro(Date.now()) } });
  }
  async function addNode(name: string): Promise<void> {
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {} };
    await nodeClient.create(node);
    await postStatus(name, 'True');
    const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: micro(Date.now()) } };
    await leaseClient.create(lease);
    const k = { alive: true, ready: 'True' as 'True' | 'False', timer: undefined as NodeJS.Timeout | undefined };
    kubelets.set(name, k);
    const beat = (): void => {
      if (!k.alive) return;
      renew(name)
        .catch(() => undefined)
        .finally(() => {
          if (k.alive) k.timer = setTimeout(beat, 50);
        });
    };
    beat();
  }
  const stopKubelet = (name: string): void => {
    const k = kubelets.get(name);
    if (!k) return;
    k.alive = false;
    clearTimeout(k.timer);
  };

  for (const n of ['good', 'dead', 'sick']) await addNode(n);
  const ctrl = await startNodeLifecycleController({ client, informerFactory: factory, nodeMonitorGracePeriod: 300, nodeMonitorPeriod: 100, onError: () => undefined });
  t.teardown(async () => {
    for (const n of kubelets.keys()) stopKubelet(n);
    await ctrl.stop();
    await factory.stop();
    transport.close();
    await api.close();
  });
  const nodes = factory.informerFor('nodes');
  const pods = factory.informerFor('pods');
  const events = factory.informerFor('events', { namespace: NS });
  await events.waitForSync();

  async function pod(name: string, nodeName: string, tolerations: Toleration[] = []): Promise<Pod> {
    return podClient.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec: { nodeName, tolerations, containers: [{ name: 'c', image: 'x' }] } });
  }
  const tolerate = (key: string, s?: number): Toleration => ({ key, operator: 'Exists', effect: 'NoExecute', ...(s !== undefined ? { tolerationSeconds: s } : {}) });
  const evicted = (name: string) => pods.getByName(NS, name)?.metadata?.deletionTimestamp !== undefined;
  const taintsOf = (name: string) => (nodes.getByName(undefined, name)?.spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
  const readyOf = (name: string) => nodes.getByName(undefined, name)?.status?.conditions?.find((c) => c.type === 'Ready');
  const hasEvent = (obj: string, reason: string, message?: string) => events.list().some((e) => e.involvedObject?.name === obj && e.reason === reason && (message === undefined || e.message === message));

  // Running pods report Ready, so marking them not ready can be seen.
  async function running(p: Pod): Promise<void> {
    await podClient.patch(p.metadata?.name ?? '', 'merge', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  }
  await running(await pod('d-plain', 'dead'));
  await pod('d-short', 'dead', [tolerate(UNREACHABLE, 1)]);
  await pod('d-long', 'dead', [tolerate(UNREACHABLE, 600)]);
  await pod('d-forever', 'dead', [tolerate(UNREACHABLE)]);
  await pod('g-plain', 'good');
  await waitFor(() => pods.size >= 5, 5_000, 'pods cached');

  t.test('a node that stops heartbeating turns Unknown, is tainted, and its pods are evicted', async (t) => {
    stopKubelet('dead');
    await waitFor(() => readyOf('dead')?.status === 'Unknown', 10_000, 'dead Ready=Unknown');
    const ready = readyOf('dead');
    t.equal(ready?.reason, 'NodeStatusUnknown');
    t.equal(ready?.message, 'Kubelet stopped posting node status.');
    await waitFor(() => taintsOf('dead').length === 2, 10_000, 'dead tainted');
    t.same(taintsOf('dead'), [`${UNREACHABLE}:NoExecute`, `${UNREACHABLE}:NoSchedule`]);
    t.ok(nodes.getByName(undefined, 'dead')?.spec?.taints?.find((x) => x.effect === 'NoExecute')?.timeAdded, 'NoExecute taint stamped');
    await waitFor(() => evicted('d-plain'), 10_000, 'untolerating pod evicted');
    t.notOk(evicted('d-short'), 'the pod tolerating it for 1 s is still there');
    t.ok(ctrl.scheduledEvictions().includes(`${NS}/d-short`), 'and its eviction is scheduled');
    await waitFor(() => evicted('d-short'), 10_000, 'tolerationSeconds ran out');
    t.notOk(evicted('d-long'), 'a 600 s toleration keeps it for now');
    t.notOk(evicted('d-forever'), 'a toleration without seconds keeps it');
    t.notOk(evicted('g-plain'), 'pods on healthy nodes stay');
    t.same(taintsOf('good'), [], 'the healthy node is not tainted');
    const plain = pods.getByName(NS, 'd-plain');
    t.equal(plain?.status?.conditions?.find((c) => c.type === 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    await waitFor(() => hasEvent('d-plain', 'TaintManagerEviction', `Marking for deletion Pod ${NS}/d-plain`), 10_000, 'eviction event');
    await waitFor(() => hasEvent('dead', 'NodeNotReady', 'Node dead status is now: NodeNotReady'), 10_000, 'node event');
    await waitFor(() => pods.getByName(NS, 'd-plain')?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False', 10_000, 'pods of the node marked not ready');
    await waitFor(() => hasEvent('d-plain', 'NodeNotReady', 'Node is not ready'), 10_000, 'pod NodeNotReady event');
  });

  t.test('heartbeats again: taints go, pending evictions are cancelled', async (t) => {
    t.ok(ctrl.scheduledEvictions().includes(`${NS}/d-long`));
    const k = kubelets.get('dead');
    if (k) {
      k.alive = true;
      await renew('dead');
      // As a kubelet does when the server's copy of its status differs from its own.
      await postStatus('dead', 'True');
      k.timer = setTimeout(function beat() {
        if (!k.alive) return;
        renew('dead')
          .catch(() => undefined)
          .finally(() => {
            if (k.alive) k.timer = setTimeout(beat, 50);
          });
      }, 50);
    }
    await waitFor(() => taintsOf('dead').length === 0, 10_000, 'taints removed');
    await waitFor(() => !ctrl.scheduledEvictions().includes(`${NS}/d-long`), 10_000, 'eviction cancelled');
    t.notOk(evicted('d-long'));
    await waitFor(() => hasEvent('d-long', 'TaintManagerEviction', `Cancelling deletion of Pod ${NS}/d-long`), 10_000, 'cancel event');
    t.equal(readyOf('dead')?.status, 'True');
  });

  t.test('a node reporting Ready=False gets the not-ready taints', async (t) => {
    await pod('s-plain', 'sick');
    await pod('s-tolerant', 'sick', [tolerate(NOT_READY)]);
    await waitFor(() => pods.getByName(NS, 's-tolerant') !== undefined, 5_000, 'cached');
    await postStatus('sick', 'False');
    await waitFor(() => taintsOf('sick').length === 2, 10_000, 'sick tainted');
    t.same(taintsOf('sick'), [`${NOT_READY}:NoExecute`, `${NOT_READY}:NoSchedule`]);
    await waitFor(() => evicted('s-plain'), 10_000, 's-plain evicted');
    t.notOk(evicted('s-tolerant'));
    t.equal(readyOf('sick')?.reason, 'KubeletNotReady', "the kubelet's own condition is kept: it is heartbeating");
    await postStatus('sick', 'True');
    await waitFor(() => taintsOf('sick').length === 0, 10_000, 'sick healed');
  });

  t.test('cordon adds the unschedulable taint; uncordon removes it', async (t) => {
    await nodeClient.patch('good', 'merge', { spec: { unschedulable: true } });
    await waitFor(() => taintsOf('good').includes('node.kubernetes.io/unschedulable:NoSchedule'), 10_000, 'cordon taint');
    await nodeClient.patch('good', 'merge', { spec: { unschedulable: null } });
    await waitFor(() => taintsOf('good').length === 0, 10_000, 'uncordon');
    t.pass();
  });
});
