/**
 * Row cells of every kind but pods, after the printers in
 * k8s.io/kubernetes/pkg/printers/internalversion/printers.go. The server
 * always prints the wide cells; kubectl hides priority-1 columns itself.
 */
import { fromLabelSelectorObject, labelSelectorToString, SelectorError } from '../../api/selectors.js';
import type { LabelSelector as MetaLabelSelector, LabelSelectorRequirement } from 'kubernetes-types/meta/v1.js';
import { int, isRecord, list, mapLen, optInt, optStr, rec, str, strMap } from './guards.js';
import { parseTime, timestampSince } from './duration.js';

export type Cell = string | number | boolean | null;

function name(obj: Record<string, unknown>): string {
  return str(rec(obj.metadata).name);
}

function age(obj: Record<string, unknown>, now: Date): string {
  return timestampSince(rec(obj.metadata).creationTimestamp, now);
}

/** labels.FormatLabels: sorted `k=v` pairs, "<none>" when empty. */
function formatLabels(v: unknown): string {
  const m = strMap(v);
  const s = Object.keys(m).sort().map((k) => `${k}=${m[k]}`).join(',');
  return s === '' ? '<none>' : s;
}

/** Reads a metav1.LabelSelector defensively; undefined stands for a nil selector. */
function metaSelector(v: unknown): MetaLabelSelector | undefined {
  if (!isRecord(v)) return undefined;
  const matchExpressions = list(v.matchExpressions).map((e): LabelSelectorRequirement => {
    const o = rec(e);
    return { key: str(o.key), operator: str(o.operator), values: list(o.values).map(str) };
  });
  return { matchLabels: strMap(v.matchLabels), matchExpressions };
}

/** LabelSelectorAsSelector(...).String(), or `onError` when the selector is invalid. */
function selectorString(v: unknown, onError: string): string {
  try {
    return labelSelectorToString(fromLabelSelectorObject(metaSelector(v)));
  } catch (e) {
    if (e instanceof SelectorError) return onError;
    throw e;
  }
}

/** metav1.FormatLabelSelector: "<none>" for an empty (or nil) selector, "<error>" for an invalid one. */
function formatLabelSelector(v: unknown): string {
  const s = selectorString(v, '<error>');
  return s === '' ? '<none>' : s;
}

/** layoutContainerCells: container names and images, comma-joined. */
function containerCells(podSpec: unknown): [string, string] {
  const cs = list(rec(podSpec).containers).map(rec);
  return [cs.map((c) => str(c.name)).join(','), cs.map((c) => str(c.image)).join(',')];
}

function templateSpec(obj: Record<string, unknown>): unknown {
  return rec(rec(rec(obj.spec).template).spec);
}

/** Nodes: Name, Status, Roles, Age, Version, Internal-IP, External-IP, OS-Image, Kernel-Version, Container-Runtime. */
export function nodeCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const ready = list(status.conditions).map(rec).filter((c) => str(c.type) === 'Ready').pop();
  const states: string[] = [];
  if (ready === undefined) states.push('Unknown');
  else states.push(str(ready.status) === 'True' ? 'Ready' : 'NotReady');
  if (spec.unschedulable === true) states.push('SchedulingDisabled');

  const roles = new Set<string>();
  for (const [k, v] of Object.entries(strMap(rec(obj.metadata).labels))) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  const rolesCell = roles.size === 0 ? '<none>' : [...roles].sort().join(',');

  const info = rec(status.nodeInfo);
  const addresses = list(status.addresses).map(rec);
  const address = (type: string): string => {
    const a = addresses.find((x) => str(x.type) === type);
    return a === undefined ? '<none>' : str(a.address);
  };
  const orUnknown = (s: string): string => (s === '' ? '<unknown>' : s);
  return [
    name(obj), states.join(','), rolesCell, age(obj, now), str(info.kubeletVersion),
    address('InternalIP'), address('ExternalIP'),
    orUnknown(str(info.osImage)), orUnknown(str(info.kernelVersion)), orUnknown(str(info.containerRuntimeVersion)),
  ];
}

/** Deployments: Name, Ready, Up-to-date, Available, Age, Containers, Images, Selector. */
export function deploymentCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  // The API defaults spec.replicas to 1; an object that somehow lacks it prints as defaulted.
  const desired = optInt(spec.replicas) ?? 1;
  const [containers, images] = containerCells(templateSpec(obj));
  return [
    name(obj), `${int(status.readyReplicas)}/${desired}`, int(status.updatedReplicas), int(status.availableReplicas), age(obj, now),
    containers, images, selectorString(spec.selector, '<invalid>'),
  ];
}

/** ReplicaSets: Name, Desired, Current, Ready, Age, Containers, Images, Selector. */
export function replicaSetCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const [containers, images] = containerCells(templateSpec(obj));
  return [
    name(obj), optInt(spec.replicas) ?? 1, int(status.replicas), int(status.readyReplicas), age(obj, now),
    containers, images, formatLabelSelector(spec.selector),
  ];
}

/** DaemonSets: Name, Desired, Current, Ready, Up-to-date, Available, Node Selector, Age, Containers, Images, Selector. */
export function daemonSetCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const podSpec = templateSpec(obj);
  const [containers, images] = containerCells(podSpec);
  return [
    name(obj), int(status.desiredNumberScheduled), int(status.currentNumberScheduled), int(status.numberReady),
    int(status.updatedNumberScheduled), int(status.numberAvailable), formatLabels(rec(podSpec).nodeSelector), age(obj, now),
    containers, images, formatLabelSelector(spec.selector),
  ];
}

/** getServiceExternalIP with wide output (the server never clips load-balancer addresses). */
function serviceExternalIP(type: string, spec: Record<string, unknown>, status: Record<string, unknown>): string {
  const externalIPs = list(spec.externalIPs).map(str);
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = new Set<string>();
      for (const i of list(rec(status.loadBalancer).ingress).map(rec)) {
        if (str(i.ip) !== '') ingress.add(str(i.ip));
        else if (str(i.hostname) !== '') ingress.add(str(i.hostname));
      }
      const lb = [...ingress].sort();
      if (externalIPs.length > 0) return [...lb, ...externalIPs].join(',');
      return lb.length > 0 ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
  }
  return '<unknown>';
}

/** Services: Name, Type, Cluster-IP, External-IP, Port(s), Age, Selector. */
export function serviceCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  // The API defaults type to ClusterIP and clusterIPs[0] to clusterIP.
  const type = optStr(spec.type) ?? 'ClusterIP';
  const clusterIPs = list(spec.clusterIPs).map(str);
  const clusterIP = clusterIPs.length > 0 ? clusterIPs[0] : (optStr(spec.clusterIP) ?? '');
  const ports = list(spec.ports).map(rec).map((p) => {
    const proto = optStr(p.protocol) ?? 'TCP';
    const nodePort = int(p.nodePort);
    return nodePort > 0 ? `${int(p.port)}:${nodePort}/${proto}` : `${int(p.port)}/${proto}`;
  });
  return [
    name(obj), type, clusterIP === '' ? '<none>' : clusterIP, serviceExternalIP(type, spec, status),
    ports.length > 0 ? ports.join(',') : '<none>', age(obj, now), formatLabels(spec.selector),
  ];
}

/** net.JoinHostPort: brackets around IPv6 addresses. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const ENDPOINTS_SHOWN = 3;

/** formatEndpoints: the first three address:port pairs, then "+ N more...". */
export function formatEndpoints(obj: Record<string, unknown>): string {
  const subsets = list(obj.subsets).map(rec);
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  let count = 0;
  let more = false;
  for (const ss of subsets) {
    const addresses = list(ss.addresses).map((a) => str(rec(a).ip));
    const ports = list(ss.ports).map(rec);
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length;
      for (const ip of addresses) {
        if (shown.length === ENDPOINTS_SHOWN) {
          more = true;
          break;
        }
        shown.push(ip);
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const ip of addresses) {
        if (shown.length === ENDPOINTS_SHOWN) {
          more = true;
          break;
        }
        shown.push(joinHostPort(ip, int(p.port)));
      }
    }
  }
  const joined = shown.join(',');
  return more ? `${joined} + ${count - ENDPOINTS_SHOWN} more...` : joined;
}

/** Endpoints: Name, Endpoints, Age. */
export function endpointsCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), formatEndpoints(obj), age(obj, now)];
}

function firstNonEmpty(...ss: string[]): string {
  return ss.find((s) => s !== '') ?? '';
}

/** Events: Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name. */
export function eventCells(obj: Record<string, unknown>, now: Date): Cell[] {
  let first = timestampSince(obj.firstTimestamp, now);
  if (parseTime(obj.firstTimestamp) === undefined) first = timestampSince(obj.eventTime, now);
  let last = parseTime(obj.lastTimestamp) === undefined ? first : timestampSince(obj.lastTimestamp, now);
  let count = int(obj.count);
  if (isRecord(obj.series)) {
    last = timestampSince(obj.series.lastObservedTime, now);
    count = int(obj.series.count);
  } else if (count === 0) {
    // Events from the events.k8s.io API carry no count when they happened once.
    count = 1;
  }
  const io = rec(obj.involvedObject);
  const kind = str(io.kind).toLowerCase();
  const target = str(io.name) !== '' ? `${kind}/${str(io.name)}` : kind;
  const source = rec(obj.source);
  const component = firstNonEmpty(str(source.component), str(obj.reportingComponent));
  const instance = firstNonEmpty(str(source.host), str(obj.reportingInstance));
  return [
    last, str(obj.type), str(obj.reason), target, str(io.fieldPath),
    instance === '' ? component : `${component}, ${instance}`,
    str(obj.message).trim(), first, count, name(obj),
  ];
}

/** Namespaces: Name, Status, Age. */
export function namespaceCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), str(rec(obj.status).phase), age(obj, now)];
}

/** ConfigMaps: Name, Data, Age. */
export function configMapCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), mapLen(obj.data) + mapLen(obj.binaryData), age(obj, now)];
}

/** Secrets: Name, Type, Data, Age. stringData is merged into data on write, so count both. */
export function secretCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const keys = new Set([...Object.keys(rec(obj.data)), ...Object.keys(rec(obj.stringData))]);
  return [name(obj), str(obj.type), keys.size, age(obj, now)];
}

/** ServiceAccounts: Name, Secrets, Age. */
export function serviceAccountCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), list(obj.secrets).length, age(obj, now)];
}

/** Leases: Name, Holder, Age. */
export function leaseCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), str(rec(obj.spec).holderIdentity), age(obj, now)];
}

/** (Cluster)RoleBindings: Name, Role, Age, Users, Groups, ServiceAccounts. */
export function roleBindingCells(obj: Record<string, unknown>, now: Date): Cell[] {
  const ref = rec(obj.roleRef);
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of list(obj.subjects).map(rec)) {
    switch (str(s.kind)) {
      case 'User': users.push(str(s.name)); break;
      case 'Group': groups.push(str(s.name)); break;
      case 'ServiceAccount': sas.push(`${str(s.namespace)}/${str(s.name)}`); break;
    }
  }
  return [name(obj), `${str(ref.kind)}/${str(ref.name)}`, age(obj, now), users.join(', '), groups.join(', '), sas.join(', ')];
}

/** RFC 3339 in UTC to the second, as Go's time.RFC3339 formats a UTC time. */
function rfc3339(v: unknown): string {
  const ms = parseTime(v);
  if (ms === undefined) return '0001-01-01T00:00:00Z';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Kinds without a printer (roles, clusterroles): the default table's Name, Created At. */
export function createdAtCells(obj: Record<string, unknown>): Cell[] {
  return [name(obj), rfc3339(rec(obj.metadata).creationTimestamp)];
}

/** Any other kind: Name, Age. */
export function nameAgeCells(obj: Record<string, unknown>, now: Date): Cell[] {
  return [name(obj), age(obj, now)];
}
