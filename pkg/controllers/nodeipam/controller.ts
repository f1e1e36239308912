/**
 * The node IPAM controller (kube-controller-manager's range allocator):
 * every Node without spec.podCIDR gets the next free subnet of the
 * cluster CIDR through a PATCH of spec.podCIDR and spec.podCIDRs. One
 * worker, so two nodes never race for one subnet; the used set is rebuilt
 * from the nodes at start and a deleted node's subnet is freed.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import { CidrSet } from './cidr-set.js';

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const DEFAULT_NODE_CIDR_MASK_SIZE = 24;

/** Options of startNodeIpamController (Kubernetes flags --cluster-cidr, --node-cidr-mask-size). */
export interface NodeIpamControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  clusterCidr?: string;
  nodeCidrMaskSize?: number;
  onError?: (key: string, e: unknown) => void;
}

/** A running node IPAM controller. */
export interface RunningNodeIpamController {
  /** The allocator (tests and status). */
  cidrs: CidrSet;
  /** Syncs one node by name now (tests). */
  sync(name: string): Promise<void>;
  stop(): Promise<void>;
}

function podCidrOf(node: Node): string | undefined {
  return node.spec?.podCIDR || node.spec?.podCIDRs?.[0] || undefined;
}

/** Starts the node IPAM controller; resolves once the used set is rebuilt from the synced node cache. Throws InvalidCidrError for bad options. */
export async function startNodeIpamController(opts: NodeIpamControllerOptions): Promise<RunningNodeIpamController> {
  const cidrs = new CidrSet(opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR, opts.nodeCidrMaskSize ?? DEFAULT_NODE_CIDR_MASK_SIZE);
  const recorder = opts.recorder ?? new EventRecorder(opts.client, { component: 'node-ipam-controller' });
  const nodes = opts.informerFactory.informerFor('nodes');
  const nodeClient = opts.client.resource('nodes');
  const queue = new WorkQueue<string>();
  /** The subnet each node holds or is being given (a PATCH not yet seen in the cache). */
  const assigned = new Map<string, string>();

  const detach = nodes.addEventHandler({
    onAdd: (n) => queue.add(n.metadata?.name ?? ''),
    onUpdate: (o, n) => {
      if (podCidrOf(o) !== podCidrOf(n)) queue.add(n.metadata?.name ?? '');
    },
    onDelete: (n) => queue.add(n.metadata?.name ?? ''),
  });

  const assign = (name: string, cidr: string): void => {
    const prev = assigned.get(name);
    if (prev === cidr) return;
    if (prev !== undefined) cidrs.release(prev);
    assigned.set(name, cidr);
    cidrs.occupy(cidr);
  };

  async function sync(name: string): Promise<void> {
    if (!name) return;
    const node = nodes.get(name);
    if (node === undefined) {
      const prev = assigned.get(name);
      if (prev === undefined) return;
      cidrs.release(prev);
      assigned.delete(name);
      // Room for a node that found the range full.
      for (const n of nodes.list()) if (podCidrOf(n) === undefined && !assigned.has(n.metadata?.name ?? '')) queue.add(n.metadata?.name ?? '');
      return;
    }
    const have = podCidrOf(node);
    if (have !== undefined) {
      assign(name, have);
      return;
    }
    let cidr = assigned.get(name);
    if (cidr === undefined) {
      cidr = cidrs.allocate();
      if (cidr === undefined) {
        recorder.event(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
        return;
      }
      assigned.set(name, cidr);
    }
    try {
      await nodeClient.patch(name, 'merge', { metadata: { uid: node.metadata?.uid }, spec: { podCIDR: cidr, podCIDRs: [cidr] } });
    } catch (e) {
      if (isNotFound(e)) {
        cidrs.release(cidr);
        assigned.delete(name);
        return;
      }
      throw e;
    }
  }

  opts.informerFactory.start();
  await opts.informerFactory.waitForSync();
  // Rebuild before the first allocation: a subnet already on a node must never be handed out again.
  for (const n of nodes.list()) {
    const have = podCidrOf(n);
    if (have !== undefined) assign(n.metadata?.name ?? '', have);
  }
  const running = runWorkers(queue, 1, sync, { onError: opts.onError });
  return {
    cidrs,
    sync,
    async stop() {
      detach();
      queue.shutDown();
      await running;
      await recorder.flush();
    },
  };
}
