/**
 * The Service proxy's rule builder: Services and Endpoints in, nftables
 * commands out, nothing else (no I/O). The layout follows kube-proxy's
 * nftables mode, in one table of our own (`table ip orch-proxy`):
 *
 *   nat-prerouting / nat-output ─► services: ip daddr . l4proto . dport vmap @service-ips
 *                                            local addr  . l4proto . dport vmap @service-nodeports
 *   @service-ips       → goto service-<svc port>  ─ numgen random mod N vmap → goto endpoint-<ep>
 *   @service-nodeports → goto external-<svc port> ─ mark for masquerade, goto service-<svc port>
 *   endpoint-<ep>: mark hairpin traffic, [update affinity set], dnat to ip:port
 *   nat-postrouting ─► masquerading: masquerade what was marked
 *   filter-{input,forward,output} ─► endpoints-check: @no-endpoint-services /
 *                                    @no-endpoint-nodeports → reject at once
 *
 * Every Service owns a disjoint piece of it (its chains, affinity sets and
 * map elements: a ServiceRules), which is what makes a partial update of one
 * Service a diff of two ServiceRules (renderPartial) instead of a rewrite.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Endpoints, Service, ServicePort } from 'kubernetes-types/core/v1.js';

export const TABLE_FAMILY = 'ip';
export const TABLE_NAME = 'orch-proxy';
const T = `${TABLE_FAMILY} ${TABLE_NAME}`;

/** Services with this label set to "true" are answered on every node locally (kube-dns), so the proxy skips them. */
export const NODE_LOCAL_LABEL = 'orch.dev/node-local';
/** The packet mark bit that asks nat-postrouting to masquerade (kube-proxy's 0x4000 too). */
export const DEFAULT_MASQUERADE_MARK = 0x4000;
/** kube-proxy's default for sessionAffinityConfig.clientIP.timeoutSeconds. */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

// Numeric priorities: nft 1.0.6 rejects the names (dstnat, srcnat) in the
// `add chain` command form. Filter chains run before DNAT, so they see the
// Service address, as kube-proxy's do.
const PRIO_DSTNAT = -100;
const PRIO_SRCNAT = 100;
const PRIO_FILTER = PRIO_DSTNAT - 10;

export type MapName = 'service-ips' | 'service-nodeports' | 'no-endpoint-services' | 'no-endpoint-nodeports';
const MAPS: { name: MapName; type: string }[] = [
  { name: 'service-ips', type: 'ipv4_addr . inet_proto . inet_service : verdict' },
  { name: 'service-nodeports', type: 'inet_proto . inet_service : verdict' },
  { name: 'no-endpoint-services', type: 'ipv4_addr . inet_proto . inet_service : verdict' },
  { name: 'no-endpoint-nodeports', type: 'inet_proto . inet_service : verdict' },
];

export interface RuleOptions {
  /** Addresses that accept NodePorts; default every local address but loopback (`fib daddr type local`). */
  nodeIPs?: string[];
  /** The pod network (e.g. 10.42.0.0/16): ClusterIP traffic from outside it is masqueraded, as kube-proxy's --cluster-cidr. Default: none. */
  clusterCIDR?: string;
  /** Default DEFAULT_MASQUERADE_MARK. */
  masqueradeMark?: number;
}

/** One map element: `key : value` in `map`. */
export interface ElementSpec {
  map: MapName;
  key: string;
  value: string;
}

/** What one Service owns in the table. Chains and sets are named after the Service, so two Services never share one. */
export interface ServiceRules {
  /** Chain name → its rules, in order. */
  chains: Map<string, string[]>;
  /** Affinity set name → timeout in seconds. */
  sets: Map<string, number>;
  elements: ElementSpec[];
}

/** A ready endpoint of one service port. */
export interface EndpointTarget {
  ip: string;
  port: number;
}

/** True when the proxy programs nothing for this Service (headless, ExternalName, node-local, no IPv4 ClusterIP). */
export function skipsService(svc: Service): boolean {
  if (svc.metadata?.labels?.[NODE_LOCAL_LABEL] === 'true') return true;
  if (svc.spec?.type === 'ExternalName') return true;
  return clusterIPv4(svc) === undefined;
}

function clusterIPv4(svc: Service): string | undefined {
  const ips = [svc.spec?.clusterIP, ...(svc.spec?.clusterIPs ?? [])];
  return ips.find((ip): ip is string => ip !== undefined && isIPv4(ip));
}

function protocolOf(p: { protocol?: string }): 'tcp' | 'udp' | 'sctp' | undefined {
  const proto = (p.protocol ?? 'TCP').toLowerCase();
  return proto === 'tcp' || proto === 'udp' || proto === 'sctp' ? proto : undefined;
}

function ipKey(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The ready IPv4 endpoints of one service port, matched by port name and protocol, deduplicated and sorted. */
export function readyEndpoints(port: ServicePort, ep: Endpoints | undefined): EndpointTarget[] {
  const name = port.name ?? '';
  const proto = protocolOf(port);
  const seen = new Map<string, EndpointTarget>();
  for (const subset of ep?.subsets ?? []) {
    const epPort = (subset.ports ?? []).find((p) => (p.name ?? '') === name && protocolOf(p) === proto);
    if (!epPort) continue;
    // notReadyAddresses are deliberately ignored: only ready pods get traffic.
    for (const a of subset.addresses ?? []) {
      if (!isIPv4(a.ip)) continue;
      seen.set(`${a.ip}:${epPort.port}`, { ip: a.ip, port: epPort.port });
    }
  }
  return [...seen.values()].sort((a, b) => ipKey(a.ip) - ipKey(b.ip) || a.port - b.port);
}

function hash8(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/**
 * Chain and set names, kube-proxy style: a hash of the service port
 * (namespace/name/protocol/port) then that name for the Service's chains, or
 * the endpoint's ip/port for an endpoint's (the hash ties it to its Service;
 * shorter names parse measurably faster at 10k endpoints). nft
 * identifiers accept '/', which Kubernetes names cannot contain, so the
 * parts cannot run into each other; an unnamed port (only ever one per
 * Service) goes by its number, which no port name can be (they need a letter).
 */
export interface PortNames {
  service: string;
  external: string;
  endpoint(ep: EndpointTarget): string;
  affinity(ep: EndpointTarget): string;
}

/** Names of the chains and sets of one service port. */
export function portNames(namespace: string, name: string, port: ServicePort): PortNames {
  const base = `${namespace}/${name}/${protocolOf(port) ?? 'tcp'}/${port.name || String(port.port)}`;
  const h = hash8(base);
  return {
    service: `service-${h}-${base}`,
    external: `external-${h}-${base}`,
    endpoint: (ep) => `endpoint-${h}-${ep.ip}/${ep.port}`,
    affinity: (ep) => `affinity-${h}-${ep.ip}/${ep.port}`,
  };
}

function emptyRules(): ServiceRules {
  return { chains: new Map(), sets: new Map(), elements: [] };
}

/** What one Service (with its Endpoints, if any) owns in the table; empty when the proxy skips it. */
export function buildServiceRules(svc: Service, ep: Endpoints | undefined, opts: RuleOptions = {}): ServiceRules {
  const out = emptyRules();
  if (skipsService(svc)) return out;
  const clusterIP = clusterIPv4(svc);
  if (clusterIP === undefined) return out;
  const ns = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const affinity = svc.spec?.sessionAffinity === 'ClientIP';
  const timeout = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
  for (const port of svc.spec?.ports ?? []) {
    const proto = protocolOf(port);
    if (!proto) continue;
    const names = portNames(ns, name, port);
    const eps = readyEndpoints(port, ep);
    const nodePort = port.nodePort !== undefined && port.nodePort > 0 ? port.nodePort : undefined;
    const ipKey = `${clusterIP} . ${proto} . ${port.port}`;
    if (eps.length === 0) {
      // No chain at all: the filter hooks reject before NAT is consulted.
      out.elements.push({ map: 'no-endpoint-services', key: ipKey, value: 'goto reject-chain' });
      if (nodePort) out.elements.push({ map: 'no-endpoint-nodeports', key: `${proto} . ${nodePort}`, value: 'goto reject-chain' });
      continue;
    }
    out.elements.push({ map: 'service-ips', key: ipKey, value: `goto ${names.service}` });
    if (nodePort) {
      out.elements.push({ map: 'service-nodeports', key: `${proto} . ${nodePort}`, value: `goto ${names.external}` });
      // The endpoint may be on another node: the reply must come back through us.
      out.chains.set(names.external, ['jump mark-for-masquerade', `goto ${names.service}`]);
    }
    const svcRules: string[] = [];
    if (opts.clusterCIDR) svcRules.push(`ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`);
    if (affinity) for (const e of eps) svcRules.push(`ip saddr @${names.affinity(e)} goto ${names.endpoint(e)}`);
    const arms = eps.map((e, i) => `${i} : goto ${names.endpoint(e)}`).join(', ');
    svcRules.push(`numgen random mod ${eps.length} vmap { ${arms} }`);
    out.chains.set(names.service, svcRules);
    for (const e of eps) {
      const rules = [`ip saddr ${e.ip} jump mark-for-masquerade`];
      if (affinity) {
        out.sets.set(names.affinity(e), timeout);
        rules.push(`update @${names.affinity(e)} { ip saddr }`);
      }
      rules.push(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      out.chains.set(names.endpoint(e), rules);
    }
  }
  return out;
}

function hex(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

function localDaddr(opts: RuleOptions): string {
  return opts.nodeIPs !== undefined ? 'ip daddr @nodeport-ips' : 'fib daddr type local ip daddr != 127.0.0.0/8';
}

/** The fixed part of the table: hooks, helper chains, maps. */
function baseCommands(opts: RuleOptions): string[] {
  const mark = hex(opts.masqueradeMark ?? DEFAULT_MASQUERADE_MARK);
  const cmds = [`add table ${T} { comment "orch service proxy"; }`];
  const hooks: [string, string, string, number][] = [
    ['filter-input', 'filter', 'input', PRIO_FILTER],
    ['filter-forward', 'filter', 'forward', PRIO_FILTER],
    ['filter-output', 'filter', 'output', PRIO_FILTER],
    ['nat-prerouting', 'nat', 'prerouting', PRIO_DSTNAT],
    ['nat-output', 'nat', 'output', PRIO_DSTNAT],
    ['nat-postrouting', 'nat', 'postrouting', PRIO_SRCNAT],
  ];
  for (const [chain, type, hook, prio] of hooks) {
    cmds.push(`add chain ${T} ${chain} { type ${type} hook ${hook} priority ${prio}; policy accept; }`);
  }
  for (const chain of ['services', 'endpoints-check', 'mark-for-masquerade', 'masquerading', 'reject-chain']) {
    cmds.push(`add chain ${T} ${chain}`);
  }
  if (opts.nodeIPs !== undefined) {
    cmds.push(`add set ${T} nodeport-ips { type ipv4_addr; }`);
    const ips = opts.nodeIPs.filter((ip) => isIPv4(ip) && !ip.startsWith('127.'));
    if (ips.length > 0) cmds.push(`add element ${T} nodeport-ips { ${ips.join(', ')} }`);
  }
  for (const m of MAPS) cmds.push(`add map ${T} ${m.name} { type ${m.type}; }`);
  const local = localDaddr(opts);
  cmds.push(
    // Only new connections: an established one keeps its endpoint when the Service changes.
    `add rule ${T} filter-input ct state new jump endpoints-check`,
    `add rule ${T} filter-forward ct state new jump endpoints-check`,
    `add rule ${T} filter-output ct state new jump endpoints-check`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ${local} meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${T} endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `add rule ${T} endpoints-check ${local} meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} mark-for-masquerade meta mark set meta mark or ${mark}`,
    `add rule ${T} masquerading meta mark & ${mark} == 0 return`,
    `add rule ${T} masquerading meta mark set meta mark xor ${mark}`,
    `add rule ${T} masquerading masquerade fully-random`,
    // A TCP client sees ECONNREFUSED at once; anything else gets port-unreachable.
    `add rule ${T} reject-chain meta l4proto tcp reject with tcp reset`,
    `add rule ${T} reject-chain reject with icmp type port-unreachable`,
  );
  return cmds;
}

function elementCommands(verb: 'add' | 'delete', elements: ElementSpec[]): string[] {
  const byMap = new Map<MapName, string[]>();
  for (const e of elements) {
    const list = byMap.get(e.map) ?? [];
    list.push(verb === 'add' ? `${e.key} : ${e.value}` : e.key);
    byMap.set(e.map, list);
  }
  const out: string[] = [];
  for (const m of MAPS) {
    const list = byMap.get(m.name);
    if (list && list.length > 0) out.push(`${verb} element ${T} ${m.name} { ${list.join(', ')} }`);
  }
  return out;
}

function setCommand(name: string, timeout: number): string {
  return `add set ${T} ${name} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`;
}

function chainCommands(chains: Iterable<[string, string[]]>): string[] {
  const adds: string[] = [];
  const rules: string[] = [];
  for (const [chain, list] of chains) {
    adds.push(`add chain ${T} ${chain}`);
    for (const r of list) rules.push(`add rule ${T} ${chain} ${r}`);
  }
  // Every chain exists before a rule jumps to it.
  return [...adds, ...rules];
}

/**
 * The full-sync transaction: drops our table (if any) and recreates it with
 * every Service, in one `nft -f` script, so there is no moment without rules.
 * An element key claimed by two Services (which the allocators prevent) goes to the first.
 */
export function renderFull(services: Iterable<ServiceRules>, opts: RuleOptions = {}): string {
  const sets: string[] = [];
  const chains: [string, string[]][] = [];
  const elements: ElementSpec[] = [];
  const keys = new Set<string>();
  for (const s of services) {
    for (const [name, timeout] of s.sets) sets.push(setCommand(name, timeout));
    chains.push(...s.chains);
    for (const e of s.elements) {
      const id = `${e.map}|${e.key}`;
      if (keys.has(id)) continue;
      keys.add(id);
      elements.push(e);
    }
  }
  const cmds = [
    `add table ${T}`,
    `delete table ${T}`,
    ...baseCommands(opts),
    ...sets,
    ...chainCommands(chains),
    ...elementCommands('add', elements),
  ];
  return cmds.join('\n') + '\n';
}

/** The transaction that removes our table, whether or not it exists. */
export function renderDelete(): string {
  return `add table ${T}\ndelete table ${T}\n`;
}

function sameRules(a: string[] | undefined, b: string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
}

/** One Service's change, for renderPartial. */
export interface ServiceChange {
  old: ServiceRules | undefined;
  new: ServiceRules | undefined;
}

/** A partial transaction and the chains it emptied but could not delete yet. */
export interface PartialUpdate {
  script: string;
  /** Chains flushed and now unused: delete them in a later transaction (see renderPartial). */
  staleChains: string[];
}

/**
 * The transaction that turns the old rules of some Services into their new
 * ones, touching only what differs: element deletes/adds, changed chains
 * flushed and refilled, affinity sets created/removed. Chains no longer used
 * are flushed but not deleted: before Linux 6.2 the kernel notices only a
 * little later that a map element deleted in the same transaction no longer
 * references them (kube-proxy works around it the same way). `deleteChains`
 * are stale chains from earlier transactions to delete now (they must be
 * empty and unreferenced).
 */
export function renderPartial(changes: ServiceChange[], deleteChains: string[] = []): PartialUpdate {
  const delElements: ElementSpec[] = [];
  const addElements: ElementSpec[] = [];
  const flush: string[] = [];
  const delSets: string[] = [];
  const addSets: string[] = [];
  const write: [string, string[]][] = [];
  const stale: string[] = [];
  for (const { old, new: next } of changes) {
    const o = old ?? emptyRules();
    const n = next ?? emptyRules();
    const oldEl = new Map(o.elements.map((e) => [`${e.map}|${e.key}`, e]));
    const newEl = new Map(n.elements.map((e) => [`${e.map}|${e.key}`, e]));
    for (const [id, e] of oldEl) if (newEl.get(id)?.value !== e.value) delElements.push(e);
    for (const [id, e] of newEl) if (oldEl.get(id)?.value !== e.value) addElements.push(e);
    // A set whose timeout changes must be recreated, which needs every rule naming it gone first.
    let setsChanged = false;
    for (const [name, timeout] of o.sets) {
      if (n.sets.get(name) !== timeout) {
        delSets.push(name);
        if (n.sets.has(name)) setsChanged = true;
      }
    }
    for (const [name, timeout] of n.sets) if (o.sets.get(name) !== timeout) addSets.push(setCommand(name, timeout));
    for (const [chain, rules] of o.chains) {
      const next = n.chains.get(chain);
      if (next === undefined) {
        flush.push(chain);
        stale.push(chain);
      } else if (setsChanged || !sameRules(rules, next)) flush.push(chain);
    }
    for (const [chain, rules] of n.chains) {
      if (setsChanged || !sameRules(o.chains.get(chain), rules)) write.push([chain, rules]);
    }
  }
  const cmds = [
    ...deleteChains.map((c) => `delete chain ${T} ${c}`),
    ...elementCommands('delete', delElements),
    ...flush.map((c) => `flush chain ${T} ${c}`),
    ...delSets.map((s) => `delete set ${T} ${s}`),
    ...addSets,
    ...chainCommands(write),
    ...elementCommands('add', addElements),
  ];
  return { script: cmds.length > 0 ? cmds.join('\n') + '\n' : '', staleChains: stale };
}
