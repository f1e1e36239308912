/**
 * The pure part of the pod network (host-gw, as flannel's backend of that
 * name): what Docker network a node's pods join, which routes the node keeps
 * to other nodes' pod ranges, and which iptables rules it owns. No I/O here,
 * so every decision is a table test.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Node } from 'kubernetes-types/core/v1.js';

/** A parsed IPv4 CIDR: the network address as a 32-bit number and the prefix length. */
export interface Cidr {
  base: number;
  prefix: number;
}

/** Dotted quad → 32-bit unsigned number (undefined if not an IPv4 address). */
export function ipToInt(ip: string): number | undefined {
  if (isIP(ip) !== 4) return undefined;
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** 32-bit unsigned number → dotted quad. */
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parses an IPv4 CIDR whose address is the network address (10.42.1.0/24, not 10.42.1.7/24). */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const base = ipToInt(m[1] ?? '');
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix };
}

/** Whether `inner` lies within `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (inner.prefix < outer.prefix) return false;
  const size = 2 ** (32 - outer.prefix);
  return Math.floor(inner.base / size) === Math.floor(outer.base / size);
}

/** Whether the address lies within the range. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const n = ipToInt(ip);
  const c = parseCidr(cidr);
  return n !== undefined && c !== undefined && cidrContains(c, { base: n, prefix: 32 });
}

/** The Docker network of a node's pods. */
export function networkName(nodeName: string): string {
  return `orch-${nodeName}`;
}

/** The Linux bridge behind it: `orch` + 8 hex digits of the node name's hash (IFNAMSIZ allows 15 characters). */
export function bridgeName(nodeName: string): string {
  return `orch${createHash('sha256').update(nodeName).digest('hex').slice(0, 8)}`;
}

/** Label on the Docker network naming the node whose pod network it is (what marks it ours). */
export const NETWORK_LABEL = 'io.orch.pod-network';

/** Docker driver options of the pod bridge. */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
export const MASQUERADE_OPTION = 'com.docker.network.bridge.enable_ip_masquerade';

/** What the node's Docker network must look like. */
export interface NetworkSpec {
  name: string;
  subnet: string;
  gateway: string;
  /** Driver options: the bridge name, and Docker's own masquerade off (ours excludes the cluster CIDR; Docker's would hide pod IPs from other nodes). */
  options: Record<string, string>;
  labels: Record<string, string>;
}

/** The Docker network spec for a node and its podCIDR; throws on a podCIDR that is not an IPv4 range of at least 4 addresses. */
export function networkSpec(nodeName: string, podCIDR: string): NetworkSpec {
  const c = parseCidr(podCIDR);
  if (!c || c.prefix > 30) throw new Error(`podCIDR ${JSON.stringify(podCIDR)} of node ${nodeName} is not an IPv4 network of /30 or larger`);
  return {
    name: networkName(nodeName),
    subnet: podCIDR,
    // The first address, as flannel's cni0: the pods' default gateway is the node itself.
    gateway: intToIp(c.base + 1),
    options: { [BRIDGE_NAME_OPTION]: bridgeName(nodeName), [MASQUERADE_OPTION]: 'false' },
    labels: { [NETWORK_LABEL]: nodeName },
  };
}

/** An existing Docker network as the pod network sees it. */
export interface ObservedNetwork {
  id: string;
  subnet?: string;
  gateway?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** Ids of containers attached to it. */
  containers: string[];
}

/** Why an existing network does not match the spec (empty: it matches). */
export function networkMismatch(have: ObservedNetwork, want: NetworkSpec): string[] {
  const out: string[] = [];
  if (have.subnet !== want.subnet) out.push(`subnet ${have.subnet ?? 'none'} (want ${want.subnet})`);
  if (have.gateway !== want.gateway) out.push(`gateway ${have.gateway ?? 'none'} (want ${want.gateway})`);
  for (const [k, v] of Object.entries(want.options)) if (have.options[k] !== v) out.push(`option ${k}=${have.options[k] ?? ''} (want ${v})`);
  for (const [k, v] of Object.entries(want.labels)) if (have.labels[k] !== v) out.push(`label ${k}=${have.labels[k] ?? ''} (want ${v})`);
  return out;
}

/** A route to another node's pod range through that node. */
export interface Route {
  cidr: string;
  via: string;
}

/** The node's podCIDR (spec.podCIDR, else the first of spec.podCIDRs). */
export function podCidrOf(node: Node): string | undefined {
  return node.spec?.podCIDR || node.spec?.podCIDRs?.[0] || undefined;
}

/** The node's first InternalIP that is IPv4. */
export function internalIPOf(node: Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP' && isIP(a.address) === 4)?.address;
}

/**
 * The routes this node keeps: one per other node with an IPv4 podCIDR inside
 * the cluster CIDR and an InternalIP, sorted by CIDR. Nodes claiming our own
 * range or our address, and a second claimant of a range, are skipped: a
 * route must never point our own pods' range elsewhere.
 */
export function desiredRoutes(nodes: Node[], self: { nodeName: string; podCIDR: string; nodeIP?: string }, clusterCidr: string): Route[] {
  const cluster = parseCidr(clusterCidr);
  if (!cluster) throw new Error(`cluster CIDR ${JSON.stringify(clusterCidr)} is not an IPv4 network`);
  const byCidr = new Map<string, Route>();
  const sorted = [...nodes].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const n of sorted) {
    if (n.metadata?.name === self.nodeName) continue;
    const cidr = podCidrOf(n);
    const via = internalIPOf(n);
    const c = cidr === undefined ? undefined : parseCidr(cidr);
    if (!cidr || !c || !via || !cidrContains(cluster, c)) continue;
    if (cidr === self.podCIDR || via === self.nodeIP || byCidr.has(cidr)) continue;
    byCidr.set(cidr, { cidr, via });
  }
  return [...byCidr.values()].sort((a, b) => (parseCidr(a.cidr)?.base ?? 0) - (parseCidr(b.cidr)?.base ?? 0));
}

/** What to change to go from the routes we have to the routes we want. */
export function diffRoutes(have: Route[], want: Route[]): { replace: Route[]; remove: Route[] } {
  const haveBy = new Map(have.map((r) => [r.cidr, r]));
  const wantBy = new Map(want.map((r) => [r.cidr, r]));
  return {
    replace: want.filter((r) => haveBy.get(r.cidr)?.via !== r.via),
    remove: have.filter((r) => !wantBy.has(r.cidr)),
  };
}

/** Our chains: one in nat (jumped to from POSTROUTING), one in filter (jumped to from FORWARD). */
export const NAT_CHAIN = 'ORCH-POSTROUTING';
export const FORWARD_CHAIN = 'ORCH-FORWARD';
/** The comment on our jump rules (and what `iptables -C` matches them by). */
export const JUMP_COMMENT = 'orch pod network';

/** The jump rules into our chains: table, built-in chain and the rule spec after `-A <chain>`. */
export function jumpRules(): { table: 'nat' | 'filter'; chain: string; spec: string[] }[] {
  return [
    { table: 'nat', chain: 'POSTROUTING', spec: ['-m', 'comment', '--comment', JUMP_COMMENT, '-j', NAT_CHAIN] },
    { table: 'filter', chain: 'FORWARD', spec: ['-m', 'comment', '--comment', JUMP_COMMENT, '-j', FORWARD_CHAIN] },
  ];
}

/**
 * The iptables-restore input (for --noflush) that (re)writes our two chains
 * in one transaction: declaring a chain flushes it, nothing else is touched.
 * Pod traffic leaving the cluster CIDR is masqueraded to the node's address;
 * forwarding to and from the cluster CIDR is accepted (Docker sets the
 * FORWARD policy to DROP and accepts only traffic of its own bridges).
 */
export function rulesRestoreInput(podCIDR: string, clusterCidr: string): string {
  return [
    '*nat',
    `:${NAT_CHAIN} - [0:0]`,
    `-A ${NAT_CHAIN} -s ${podCIDR} ! -d ${clusterCidr} -m comment --comment "masquerade pod traffic leaving the cluster" -j MASQUERADE`,
    'COMMIT',
    '*filter',
    `:${FORWARD_CHAIN} - [0:0]`,
    `-A ${FORWARD_CHAIN} -s ${clusterCidr} -m comment --comment "pod traffic from the cluster" -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -d ${clusterCidr} -m comment --comment "pod traffic to the cluster" -j ACCEPT`,
    'COMMIT',
    '',
  ].join('\n');
}
