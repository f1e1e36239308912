/**
 * The scheduler's node-info cache: per node its allocatable and the summed
 * requests, host ports and per-controller pod counts of the pods on it,
 * including pods assumed bound whose binding the watch has not confirmed
 * yet. Every pod or node event adjusts the sums by one pod's worth, so a
 * scheduling cycle never walks the pods.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { updateUsedPorts } from './plugins/node-ports.js';
import { addResources, emptyResources, nodeIsReady, podInfoOf, podIsTerminal, podKey, resourcesOf } from './podinfo.js';
import type { NodeInfo, PodInfo } from './types.js';

interface CachedPod {
  info: PodInfo;
  nodeName: string;
  /** Placed by this scheduler, binding not yet seen in a watch event. */
  assumed: boolean;
}

function newNodeInfo(name: string): NodeInfo {
  return {
    name,
    node: undefined,
    labels: {},
    taints: [],
    unschedulable: false,
    ready: false,
    allocatable: emptyResources(),
    requested: emptyResources(),
    nonZeroRequested: { milliCPU: 0, memory: 0 },
    podCount: 0,
    usedPorts: new Map(),
    ownerCounts: new Map(),
  };
}

function setNode(ni: NodeInfo, node: Node): void {
  ni.node = node;
  ni.labels = node.metadata?.labels ?? {};
  ni.taints = node.spec?.taints ?? [];
  ni.unschedulable = node.spec?.unschedulable === true;
  ni.ready = nodeIsReady(node);
  ni.allocatable = resourcesOf(node.status?.allocatable);
}

function account(ni: NodeInfo, info: PodInfo, sign: 1 | -1): void {
  addResources(ni.requested, info.requests, sign);
  ni.nonZeroRequested.milliCPU += sign * info.nonZeroMilliCPU;
  ni.nonZeroRequested.memory += sign * info.nonZeroMemory;
  ni.podCount += sign;
  if (info.hostPorts.length > 0) updateUsedPorts(ni.usedPorts, info.hostPorts, sign);
  if (info.ownerUid !== undefined) {
    const n = (ni.ownerCounts.get(info.ownerUid) ?? 0) + sign;
    if (n > 0) ni.ownerCounts.set(info.ownerUid, n);
    else ni.ownerCounts.delete(info.ownerUid);
  }
}

/** Node and assigned-pod state for scheduling decisions, maintained incrementally. */
export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, CachedPod>();
  /** Nodes that exist (not just pod-holding leftovers), rebuilt lazily after adds and deletes. */
  private list: NodeInfo[] | undefined;

  /** Adds or replaces a node; its pods' sums are kept. */
  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let ni = this.nodes.get(name);
    if (ni === undefined) {
      ni = newNodeInfo(name);
      this.nodes.set(name, ni);
    }
    if (ni.node === undefined) this.list = undefined;
    setNode(ni, node);
  }

  /** Same as addNode: a node update replaces the node's own fields. */
  updateNode(node: Node): void {
    this.addNode(node);
  }

  /** Removes a node; while pods still point at it its sums linger, unlisted. */
  removeNode(name: string): void {
    const ni = this.nodes.get(name);
    if (ni === undefined) return;
    if (ni.podCount === 0) this.nodes.delete(name);
    else ni.node = undefined;
    this.list = undefined;
  }

  /** The nodes pods can be placed on, in a stable order. */
  nodeInfos(): readonly NodeInfo[] {
    this.list ??= [...this.nodes.values()].filter((n) => n.node !== undefined);
    return this.list;
  }

  /** One node's info (also a deleted node that still has pods). */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  /** Number of existing nodes. */
  get numNodes(): number {
    return this.nodeInfos().length;
  }

  /** An assigned pod seen in a watch event: confirms an assumed pod or accounts a new one. Terminal pods are dropped. */
  addPod(pod: Pod): void {
    const nodeName = pod.spec?.nodeName;
    const key = podKey(pod);
    // An unassigned version of an assumed pod is an event older than our binding: keep the assumption.
    if (!nodeName && this.isAssumed(key)) return;
    if (!nodeName || podIsTerminal(pod)) {
      this.remove(key);
      return;
    }
    this.remove(key);
    this.place(podInfoOf(pod), nodeName, false);
  }

  /** An update of an assigned pod. */
  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  /** A pod deleted (or finished): its requests leave its node. */
  removePod(pod: Pod): void {
    this.remove(podKey(pod));
  }

  /** Counts a pod on a node before its binding is confirmed. */
  assumePod(info: PodInfo, nodeName: string): void {
    this.remove(info.key);
    this.place(info, nodeName, true);
  }

  /** Drops an assumed pod whose binding failed; a confirmed pod is left alone. */
  forgetPod(key: string): void {
    if (this.pods.get(key)?.assumed) this.remove(key);
  }

  /** True while the pod is assumed and not yet confirmed. */
  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  /** The node a pod is counted on, if any. */
  nodeOf(key: string): string | undefined {
    return this.pods.get(key)?.nodeName;
  }

  private place(info: PodInfo, nodeName: string, assumed: boolean): void {
    let ni = this.nodes.get(nodeName);
    if (ni === undefined) {
      // The pod's node has not arrived yet (informers are not ordered across kinds).
      ni = newNodeInfo(nodeName);
      this.nodes.set(nodeName, ni);
    }
    account(ni, info, 1);
    this.pods.set(info.key, { info, nodeName, assumed });
  }

  private remove(key: string): void {
    const cached = this.pods.get(key);
    if (cached === undefined) return;
    this.pods.delete(key);
    const ni = this.nodes.get(cached.nodeName);
    if (ni === undefined) return;
    account(ni, cached.info, -1);
    if (ni.node === undefined && ni.podCount === 0) this.nodes.delete(cached.nodeName);
  }
}
