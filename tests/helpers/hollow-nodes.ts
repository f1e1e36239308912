/**
 * Hollow nodes for controller tests: Node objects that report Ready, a
 * stand-in scheduler that binds pending pods round-robin through
 * pods/binding (honouring a daemon pod's matchFields metadata.name
 * affinity), and a stand-in kubelet that marks bound pods Running/Ready
 * through pods/status and finishes graceful deletions. Readiness can be
 * held back to watch a rollout step by step.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../pkg/client/client.js';
import { isNotFound } from '../../pkg/client/errors.js';
import { SharedInformerFactory, type Informer } from '../../pkg/client/informer.js';

export interface HollowNodesOptions {
  client: Client;
  names: string[];
  labels?: Record<string, string>;
  /** When false, bound pods stay Pending until readyPods() is called. */
  autoReady?: boolean;
}

export interface HollowNodes {
  informerFactory: SharedInformerFactory;
  pods: Informer<Pod>;
  /** Makes up to `n` bound, unready pods Running and Ready. */
  readyPods(n?: number): Promise<number>;
  setAutoReady(on: boolean): void;
  stop(): Promise<void>;
}

function pinnedNode(pod: Pod): string | undefined {
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Creates the nodes and starts binding and readying pods (with its own informers). */
export async function startHollowNodes(opts: HollowNodesOptions): Promise<HollowNodes> {
  const { client } = opts;
  let autoReady = opts.autoReady ?? true;
  const nodes = client.resource('nodes');
  for (const name of opts.names) {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...opts.labels } },
      spec: {},
    };
    const created = await nodes.create(node);
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await nodes.updateStatus({
      ...created,
      status: {
        capacity: { cpu: '32', memory: '64Gi', pods: '500' },
        allocatable: { cpu: '32', memory: '64Gi', pods: '500' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'hollow', lastHeartbeatTime: t, lastTransitionTime: t }],
      },
    });
  }
  const factory = new SharedInformerFactory(client);
  const pods = factory.informerFor('pods');
  const podClient = client.resource('pods');
  let next = 0;
  const inflight = new Set<string>();
  const pending: Promise<void>[] = [];

  const track = (key: string, work: () => Promise<void>): void => {
    if (inflight.has(key)) return;
    inflight.add(key);
    const p = work()
      .catch((e: unknown) => {
        if (!isNotFound(e)) console.warn(`hollow-nodes: ${key}:`, e instanceof Error ? e.message : e);
      })
      .finally(() => {
        inflight.delete(key);
        pending.splice(pending.indexOf(p), 1);
      });
    pending.push(p);
  };

  const markReady = async (pod: Pod): Promise<void> => {
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await podClient.namespace(pod.metadata?.namespace).patch(
      pod.metadata?.name ?? '',
      'merge',
      {
        status: {
          phase: 'Running',
          podIP: '10.42.0.1',
          startTime: t,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: t },
            { type: 'Initialized', status: 'True', lastTransitionTime: t },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: t },
            { type: 'Ready', status: 'True', lastTransitionTime: t },
          ],
        },
      },
      { subresource: 'status' },
    );
  };

  const handle = (pod: Pod): void => {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    if (pod.metadata?.deletionTimestamp !== undefined) {
      // The kubelet finishing a graceful deletion.
      track(`delete:${key}`, async () => {
        await podClient.namespace(ns).delete(name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
      });
      return;
    }
    if ((pod.spec?.nodeName ?? '') === '') {
      const target = pinnedNode(pod) ?? opts.names[next++ % opts.names.length];
      if (!opts.names.includes(target)) return;
      track(`bind:${key}`, () => client.bind({ namespace: ns, name, uid: pod.metadata?.uid }, target));
      return;
    }
    if (autoReady && !isReady(pod) && pod.status?.phase !== 'Failed' && pod.status?.phase !== 'Succeeded') track(`ready:${key}`, () => markReady(pod));
  };
  const detach = pods.addEventHandler({ onAdd: handle, onUpdate: (_o, p) => handle(p) });
  factory.start();
  await factory.waitForSync();

  return {
    informerFactory: factory,
    pods,
    async readyPods(n = Infinity) {
      let done = 0;
      for (const pod of pods.list()) {
        if (done >= n) break;
        if ((pod.spec?.nodeName ?? '') === '' || isReady(pod) || pod.metadata?.deletionTimestamp !== undefined) continue;
        await markReady(pod);
        done++;
      }
      return done;
    },
    setAutoReady(on: boolean) {
      autoReady = on;
      if (on) for (const p of pods.list()) handle(p);
    },
    async stop() {
      detach();
      await factory.stop();
      await Promise.allSettled([...pending]);
    },
  };
}
