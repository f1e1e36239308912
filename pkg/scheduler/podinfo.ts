/**
 * Building the scheduler's views: a pod's effective requests as Kubernetes
 * computes them (k8s.io/component-helpers/resource PodRequests), host ports,
 * owner; a node's parsed allocatable, taints and readiness.
 */
import type { Container, Node, Pod } from 'kubernetes-types/core/v1.js';
import { QuantityError, quantityMilliValue, quantityValue } from './quantity.js';
import type { HostPort, PodInfo, ResourceVector } from './types.js';

/** kube-scheduler's DefaultMilliCPURequest and DefaultMemoryRequest, used for scoring only. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** A zero vector. */
export function emptyResources(): ResourceVector {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0, scalar: new Map() };
}

// The API server validates quantities, so a bad one here means a stored
// object predates validation; it counts as zero rather than wedging the loop.
function amount(name: string, q: string | number): number {
  try {
    return name === 'cpu' ? quantityMilliValue(q) : quantityValue(q);
  } catch (e) {
    if (e instanceof QuantityError) return 0;
    throw e;
  }
}

/** Parses a ResourceList (requests, allocatable) into a vector. */
export function resourcesOf(list: Record<string, string | number> | undefined): ResourceVector {
  const r = emptyResources();
  if (!list) return r;
  for (const [name, q] of Object.entries(list)) {
    const v = amount(name, q);
    switch (name) {
      case 'cpu':
        r.milliCPU += v;
        break;
      case 'memory':
        r.memory += v;
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage += v;
        break;
      case 'pods':
        r.pods += v;
        break;
      default:
        r.scalar.set(name, (r.scalar.get(name) ?? 0) + v);
    }
  }
  return r;
}

/** a += sign * b, in place. */
export function addResources(a: ResourceVector, b: ResourceVector, sign = 1): void {
  a.milliCPU += sign * b.milliCPU;
  a.memory += sign * b.memory;
  a.ephemeralStorage += sign * b.ephemeralStorage;
  a.pods += sign * b.pods;
  for (const [k, v] of b.scalar) {
    const n = (a.scalar.get(k) ?? 0) + sign * v;
    if (n === 0) a.scalar.delete(k);
    else a.scalar.set(k, n);
  }
}

/** a = max(a, b) per resource, in place. */
function maxResources(a: ResourceVector, b: ResourceVector): void {
  a.milliCPU = Math.max(a.milliCPU, b.milliCPU);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  for (const [k, v] of b.scalar) a.scalar.set(k, Math.max(a.scalar.get(k) ?? 0, v));
}

function containerRequests(c: Container): ResourceVector {
  return resourcesOf(c.resources?.requests);
}

function isSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/**
 * The pod's effective request: max(sum(containers) + sum(sidecars), the
 * largest init container plus the sidecars started before it) + overhead.
 */
export function podRequests(pod: Pod, perContainer: (c: Container) => ResourceVector = containerRequests): ResourceVector {
  const spec = pod.spec;
  const total = emptyResources();
  if (!spec) return total;
  for (const c of spec.containers ?? []) addResources(total, perContainer(c));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = perContainer(c);
    if (isSidecar(c)) {
      addResources(sidecars, r);
      // A sidecar runs alongside every later init container, so it counts there too.
      maxResources(initMax, sidecars);
    } else {
      const during = emptyResources();
      addResources(during, sidecars);
      addResources(during, r);
      maxResources(initMax, during);
    }
  }
  addResources(total, sidecars);
  maxResources(total, initMax);
  if (spec.overhead) addResources(total, resourcesOf(spec.overhead));
  total.pods = 0;
  return total;
}

function nonZeroContainer(c: Container): ResourceVector {
  const req = c.resources?.requests ?? {};
  const r = emptyResources();
  r.milliCPU = req.cpu !== undefined ? amount('cpu', req.cpu) : DEFAULT_MILLI_CPU_REQUEST;
  r.memory = req.memory !== undefined ? amount('memory', req.memory) : DEFAULT_MEMORY_REQUEST;
  return r;
}

function hostPortsOf(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter(isSidecar)];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ hostIP: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

/** The key the cache and queue use for a pod: its uid, else namespace/name. */
export function podKey(pod: Pod): string {
  return pod.metadata?.uid || `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** Computes the scheduler's view of a pod. */
export function podInfoOf(pod: Pod): PodInfo {
  const spec = pod.spec;
  const nonZero = podRequests(pod, nonZeroContainer);
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  const created = pod.metadata?.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : 0;
  return {
    key: podKey(pod),
    pod,
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    requests: podRequests(pod),
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: hostPortsOf(pod),
    ownerUid: owner?.uid,
    tolerations: spec?.tolerations ?? [],
    nodeSelector: Object.entries(spec?.nodeSelector ?? {}),
    requiredNodeTerms: spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    priority: spec?.priority ?? 0,
    created: Number.isNaN(created) ? 0 : created,
  };
}

/** True when the node's Ready condition is True. */
export function nodeIsReady(node: Node): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** True when a pod has finished and no longer holds resources (kube-scheduler drops such pods from its cache). */
export function podIsTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
