/**
 * What a Service's Endpoints should hold, as Kubernetes' endpoints
 * controller computes it: the pods its selector matches, each resolved to
 * the ports it serves, repacked into subsets of addresses sharing one port
 * set, in a stable order so that an unchanged set compares equal and writes
 * nothing.
 */
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';

/** Set on the Endpoints to when the change that caused the write was first seen. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Label marking the Endpoints of a headless Service. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** True for a Service whose Endpoints this controller manages: it has a non-empty selector and is not ExternalName. */
export function managesEndpoints(svc: Service): boolean {
  const sel = svc.spec?.selector;
  return svc.spec?.type !== 'ExternalName' && sel !== undefined && Object.keys(sel).length > 0;
}

/** True when every selector entry is among the labels (the selector of a Service is a plain map). */
export function selectsPod(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined) return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((k) => labels?.[k] === selector[k]);
}

/** True when the pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

function podIP(pod: Pod): string | undefined {
  return pod.status?.podIP || pod.status?.podIPs?.[0]?.ip || undefined;
}

/** Kubernetes' ShouldPodBeInEndpoints: not finished, has an IP, and not terminating unless those are published. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (podIP(pod) === undefined) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp != null) return false;
  return true;
}

/**
 * The container port a Service port reaches on this pod: a numeric
 * targetPort as is (absent: the port itself), a named one looked up among
 * the pod's container ports of the same protocol; undefined when the pod
 * has no such port.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

function isHeadless(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return ip === 'None' || ip === undefined || ip === '';
}

function addressOf(svc: Service, pod: Pod, ip: string): EndpointAddress {
  const m = pod.metadata ?? {};
  const a: EndpointAddress = { ip };
  // As Kubernetes' ShouldSetHostname: the pod named itself into this Service's subdomain.
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && m.namespace === svc.metadata?.namespace) a.hostname = pod.spec.hostname;
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  a.targetRef = { kind: 'Pod', namespace: m.namespace, name: m.name, uid: m.uid };
  return a;
}

function portKey(p: EndpointPort): string {
  return `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol ?? 'TCP'}`;
}

function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  return cmp(a.ip, b.ip) || cmp(a.targetRef?.name ?? '', b.targetRef?.name ?? '') || cmp(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The subsets for `svc` over `pods` (pods of its namespace; those its
 * selector does not match are skipped). Addresses are grouped by the exact
 * set of ports they serve; addresses, ports and subsets are sorted.
 */
export function computeSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const servicePorts = svc.spec?.ports ?? [];
  const headless = isHeadless(svc);
  const groups = new Map<string, { ports: EndpointPort[]; ready: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of pods) {
    if (pod.metadata?.namespace !== svc.metadata?.namespace || !selectsPod(svc.spec?.selector, pod.metadata?.labels)) continue;
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const ip = podIP(pod);
    if (ip === undefined) continue;
    let ports: EndpointPort[];
    if (servicePorts.length === 0) {
      // Only a headless Service may have endpoints without ports.
      if (!headless) continue;
      ports = [];
    } else {
      ports = [];
      for (const sp of servicePorts) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) ep.name = sp.name;
        if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
        ports.push(ep);
      }
      if (ports.length === 0) continue;
    }
    ports.sort((a, b) => cmp(portKey(a), portKey(b)));
    const key = ports.map(portKey).join('\u0001');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, ready: [], notReady: [] }));
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(addressOf(svc, pod, ip));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => cmp(a, b))
    .map(([, g]) => {
      const s: EndpointSubset = {};
      if (g.ready.length > 0) s.addresses = g.ready.sort(compareAddresses);
      if (g.notReady.length > 0) s.notReadyAddresses = g.notReady.sort(compareAddresses);
      if (g.ports.length > 0) s.ports = g.ports;
      return s;
    });
}

/** The labels the Endpoints carries: the Service's, plus the headless marker when it has no cluster IP. */
export function endpointsLabels(svc: Service): Record<string, string> {
  const labels = { ...(svc.metadata?.labels ?? {}) };
  if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

/** JSON with object keys sorted, so equal content compares equal whatever order the server wrote. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => cmp(a, b));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b);
}

function sameSubsets(a: EndpointSubset[] | undefined, b: EndpointSubset[]): boolean {
  return canonicalJson(a ?? []) === canonicalJson(b);
}

export type EndpointsPlan = { action: 'none' } | { action: 'create' | 'update'; endpoints: Endpoints };

/**
 * What to write for `svc`: nothing when `current` already holds these
 * subsets and labels; else the Endpoints to create or (keeping the
 * current object's other metadata and resourceVersion) to update.
 * `triggerTime` is when the change was first seen (undefined: unknown, and
 * the annotation is dropped as Kubernetes does).
 */
export function planEndpoints(svc: Service, pods: readonly Pod[], current: Endpoints | undefined, triggerTime?: Date): EndpointsPlan {
  const subsets = computeSubsets(svc, pods);
  const labels = endpointsLabels(svc);
  if (current !== undefined && sameSubsets(current.subsets, subsets) && sameLabels(current.metadata?.labels, labels)) return { action: 'none' };
  const annotations = { ...(current?.metadata?.annotations ?? {}) };
  if (triggerTime !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = triggerTime.toISOString();
  else delete annotations[TRIGGER_TIME_ANNOTATION];
  const metadata = current === undefined ? { name: svc.metadata?.name, namespace: svc.metadata?.namespace } : structuredClone(current.metadata ?? {});
  metadata.labels = labels;
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const endpoints: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata };
  if (subsets.length > 0) endpoints.subsets = subsets;
  return { action: current === undefined ? 'create' : 'update', endpoints };
}

/**
 * Whether a pod update can change any Endpoints: labels, IP, readiness,
 * phase, termination, node, hostname/subdomain or container ports. Status
 * churn such as restart counts does not.
 */
export function podChangeMatters(oldPod: Pod, newPod: Pod): boolean {
  if (oldPod.metadata?.resourceVersion === newPod.metadata?.resourceVersion) return false;
  return canonicalJson(endpointView(oldPod)) !== canonicalJson(endpointView(newPod));
}

function endpointView(pod: Pod): unknown {
  return {
    labels: pod.metadata?.labels,
    deleting: pod.metadata?.deletionTimestamp != null,
    uid: pod.metadata?.uid,
    ip: podIP(pod),
    ready: isPodReady(pod),
    phase: pod.status?.phase,
    node: pod.spec?.nodeName,
    hostname: pod.spec?.hostname,
    subdomain: pod.spec?.subdomain,
    ports: [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.ports ?? []),
  };
}
