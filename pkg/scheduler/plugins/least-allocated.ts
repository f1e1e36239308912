/**
 * NodeResourcesLeastAllocated: prefers nodes with more CPU and memory left
 * after placing the pod (noderesources LeastAllocated strategy, weights 1:1),
 * counting kube-scheduler's default requests for containers without any.
 */
import { MAX_NODE_SCORE, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'NodeResourcesLeastAllocated';

/** ((capacity - requested) * 100) / capacity, 0 when over capacity. */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** The score of a node for a pod: the mean of the CPU and memory scores, over resources the node has. */
export function score(podMilliCPU: number, podMemory: number, node: Pick<NodeInfo, 'allocatable' | 'nonZeroRequested'>): number {
  let total = 0;
  let weights = 0;
  if (node.allocatable.milliCPU > 0) {
    total += leastRequestedScore(node.nonZeroRequested.milliCPU + podMilliCPU, node.allocatable.milliCPU);
    weights++;
  }
  if (node.allocatable.memory > 0) {
    total += leastRequestedScore(node.nonZeroRequested.memory + podMemory, node.allocatable.memory);
    weights++;
  }
  return weights === 0 ? 0 : Math.floor(total / weights);
}

/** Builds the NodeResourcesLeastAllocated score. */
export function leastAllocated(): Plugin {
  return {
    name: NAME,
    weight: 1,
    score(pod: PodInfo, node: NodeInfo): number {
      return score(pod.nonZeroMilliCPU, pod.nonZeroMemory, node);
    },
  };
}
