/**
 * NodeResourcesFit: the pod's requests must fit in allocatable minus what
 * the node's pods (bound and assumed) already request; one reason per
 * short resource, as noderesources.fitsRequest reports them.
 */
import { FITS, unfit, type FilterResult, type NodeInfo, type Plugin, type PodInfo, type ResourceVector } from '../types.js';

export const NAME = 'NodeResourcesFit';
export const ERR_REASON_TOO_MANY_PODS = 'Too many pods';

/** "Insufficient <resource>", kube-scheduler's reason for a short resource. */
export function errReasonInsufficient(resource: string): string {
  return `Insufficient ${resource}`;
}

/** The reasons the request does not fit (empty when it does). */
export function insufficientResources(
  request: ResourceVector,
  allocatable: ResourceVector,
  requested: ResourceVector,
  podCount: number,
): string[] {
  const out: string[] = [];
  if (podCount + 1 > allocatable.pods) out.push(ERR_REASON_TOO_MANY_PODS);
  if (request.milliCPU === 0 && request.memory === 0 && request.ephemeralStorage === 0 && request.scalar.size === 0) return out;
  if (request.milliCPU > 0 && request.milliCPU > allocatable.milliCPU - requested.milliCPU) out.push(errReasonInsufficient('cpu'));
  if (request.memory > 0 && request.memory > allocatable.memory - requested.memory) out.push(errReasonInsufficient('memory'));
  if (request.ephemeralStorage > 0 && request.ephemeralStorage > allocatable.ephemeralStorage - requested.ephemeralStorage) {
    out.push(errReasonInsufficient('ephemeral-storage'));
  }
  for (const [name, q] of request.scalar) {
    if (q === 0) continue;
    if (q > (allocatable.scalar.get(name) ?? 0) - (requested.scalar.get(name) ?? 0)) out.push(errReasonInsufficient(name));
  }
  return out;
}

/** True when the request fits the node; the scheduler's hot path, so it allocates nothing. */
export function fits(request: ResourceVector, node: Pick<NodeInfo, 'allocatable' | 'requested' | 'podCount'>): boolean {
  const { allocatable, requested } = node;
  if (node.podCount + 1 > allocatable.pods) return false;
  if (request.milliCPU > 0 && request.milliCPU > allocatable.milliCPU - requested.milliCPU) return false;
  if (request.memory > 0 && request.memory > allocatable.memory - requested.memory) return false;
  if (request.ephemeralStorage > 0 && request.ephemeralStorage > allocatable.ephemeralStorage - requested.ephemeralStorage) return false;
  for (const [name, q] of request.scalar) {
    if (q > 0 && q > (allocatable.scalar.get(name) ?? 0) - (requested.scalar.get(name) ?? 0)) return false;
  }
  return true;
}

/** Builds the NodeResourcesFit filter. */
export function nodeResourcesFit(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      // The reasons are worked out only for a node that does not fit.
      if (fits(pod.requests, node)) return FITS;
      return unfit(...insufficientResources(pod.requests, node.allocatable, node.requested, node.podCount));
    },
  };
}
