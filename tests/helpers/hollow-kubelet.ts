/**
 * Hollow kubelets for end-to-end tests against a real `orch server`: over
 * HTTPS with the cluster CA, each registers a Node, heartbeats through its
 * Lease and Ready condition, marks the pods the scheduler bound to it
 * Running/Ready and confirms their deletion. No containers: the scheduler,
 * controllers and kubectl see a node like any other. Stopping one node's
 * heartbeat simulates a dead machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { Client } from '../../pkg/client/client.js';
import { httpsTransport } from '../../pkg/client/transport.js';
import { isAlreadyExists, isNotFound } from '../../pkg/client/errors.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';

export interface HollowKubelets {
  client: Client;
  /** Stops heartbeats (lease and status) of one node: it looks dead to the control plane. */
  silence(node: string): void;
  stop(): Promise<void>;
}

const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const time = (d = new Date()) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** Connects to the server of `dataDir` and brings up the named hollow nodes. */
export async function startHollowKubelets(opts: { url: string; dataDir: string; nodes: string[]; heartbeatMs?: number }): Promise<HollowKubelets> {
  const ca = readFileSync(join(opts.dataDir, 'server', 'tls', 'server-ca.crt'), 'utf8');
  const token = readFileSync(join(opts.dataDir, 'server', 'cred', 'admin.token'), 'utf8').trim();
  const client = new Client(httpsTransport({ server: opts.url, ca, token, userAgent: 'hollow-kubelet/v1.32.0' }));
  const nodesApi = client.resource('nodes');
  const leases = client.resource('leases').namespace('kube-node-lease');
  const pods = client.resource('pods');
  const silenced = new Set<string>();
  const mine = new Set(opts.nodes);

  const status = (): Node['status'] => ({
    capacity: { cpu: '8', memory: '16Gi', pods: '110' },
    allocatable: { cpu: '8', memory: '16Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'hollow kubelet is posting ready status', lastHeartbeatTime: time(), lastTransitionTime: time() }],
    nodeInfo: {
      kubeletVersion: 'v1.32.0-orch-hollow',
      containerRuntimeVersion: 'hollow://0',
      architecture: 'amd64',
      operatingSystem: 'linux',
      osImage: 'hollow',
      kernelVersion: '0',
      kubeProxyVersion: '',
      bootID: '',
      machineID: '',
      systemUUID: '',
    },
    addresses: [{ type: 'Hostname', address: 'hollow' }],
  });

  async function heartbeat(name: string): Promise<void> {
    if (silenced.has(name)) return;
    // A strategic-merge patch (conditions merge by type) does not race the controllers' own writes.
    await nodesApi.patch(name, 'strategic', { status: status() }, { subresource: 'status' });
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
    };
    try {
      const cur = await leases.get(name);
      await leases.update({ ...cur, spec: lease.spec });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await leases.create(lease);
    }
  }

  for (const name of opts.nodes) {
    try {
      await nodesApi.create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } }, status: status() });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    await heartbeat(name);
  }

  const errors: unknown[] = [];
  const timer = setInterval(() => {
    for (const name of opts.nodes) heartbeat(name).catch((e: unknown) => errors.push(e));
  }, opts.heartbeatMs ?? 1000);

  // The kubelet's part for bound pods: run them (Ready at once) and finish their deletion.
  const factory = new SharedInformerFactory(client);
  const podInformer = factory.informerFor('pods');
  const handle = (pod: Pod): void => {
    const node = pod.spec?.nodeName;
    if (!node || !mine.has(node) || silenced.has(node)) return;
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    if (pod.metadata?.deletionTimestamp) {
      pods.namespace(ns).delete(name, { gracePeriodSeconds: 0 }).catch((e: unknown) => isNotFound(e) || errors.push(e));
      return;
    }
    if (pod.status?.phase === 'Running') return;
    const now = time();
    const running: Pod = {
      ...pod,
      status: {
        ...pod.status,
        phase: 'Running',
        hostIP: '10.255.0.1',
        podIP: `10.42.${opts.nodes.indexOf(node)}.${1 + (Math.abs(hash(name)) % 250)}`,
        startTime: now,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      },
    };
    pods.namespace(ns).updateStatus(running).catch((e: unknown) => isNotFound(e) || errors.push(e));
  };
  podInformer.addEventHandler({ onAdd: handle, onUpdate: (_old, pod) => handle(pod) });
  factory.start();
  await factory.waitForSync();

  return {
    client,
    silence(node) {
      silenced.add(node);
    },
    async stop() {
      clearInterval(timer);
      factory.stop();
      await client.transport.close();
    },
  };
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}
