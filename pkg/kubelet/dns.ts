/**
 * A pod's resolv.conf and /etc/hosts as the kubelet writes them (dns.go,
 * kubelet_pods.go): dnsPolicy ClusterFirst / ClusterFirstWithHostNet /
 * Default / None merged with dnsConfig; the managed hosts file.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { DnsConfig } from './runtime/types.js';

export interface PodDnsOptions {
  clusterDNS: string[];
  /** e.g. 'cluster.local'. */
  clusterDomain: string;
  /** The node's own resolver configuration (parsed /etc/resolv.conf). */
  node: DnsConfig;
}

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

/** Parses resolv.conf text. */
export function parseResolvConf(text: string): DnsConfig {
  const cfg: DnsConfig = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) cfg.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') cfg.searches = rest;
    else if (key === 'options') cfg.options.push(...rest);
  }
  return cfg;
}

/** resolv.conf text. */
export function formatResolvConf(cfg: DnsConfig): string {
  const lines: string[] = [];
  if (cfg.searches.length > 0) lines.push(`search ${cfg.searches.join(' ')}`);
  for (const ns of cfg.nameservers) lines.push(`nameserver ${ns}`);
  if (cfg.options.length > 0) lines.push(`options ${cfg.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

const uniq = (xs: string[]): string[] => [...new Set(xs)];

function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const byName = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    byName.set(i < 0 ? o : o.slice(0, i), o);
  }
  for (const o of extra) {
    if (!o.name) continue;
    byName.set(o.name, o.value !== undefined && o.value !== '' ? `${o.name}:${o.value}` : o.name);
  }
  return [...byName.values()];
}

/** The pod's DNS configuration. */
export function podDnsConfig(pod: Pod, opts: PodDnsOptions): DnsConfig {
  const spec = pod.spec ?? { containers: [] };
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  // ClusterFirst without a cluster DNS falls back to the node's resolver, as Kubernetes does.
  if (policy === 'ClusterFirst' && opts.clusterDNS.length === 0) policy = 'Default';
  let cfg: DnsConfig;
  if (policy === 'None') {
    cfg = { nameservers: [], searches: [], options: [] };
  } else if (policy === 'Default') {
    cfg = { nameservers: [...opts.node.nameservers], searches: [...opts.node.searches], options: [...opts.node.options] };
  } else {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = opts.clusterDomain;
    cfg = {
      nameservers: [...opts.clusterDNS],
      searches: uniq([`${ns}.svc.${d}`, `svc.${d}`, d, ...opts.node.searches]),
      options: ['ndots:5'],
    };
  }
  const extra = spec.dnsConfig;
  if (extra) {
    cfg.nameservers = uniq([...cfg.nameservers, ...(extra.nameservers ?? [])]);
    cfg.searches = uniq([...cfg.searches, ...(extra.searches ?? [])]);
    cfg.options = mergeOptions(cfg.options, extra.options ?? []);
  }
  cfg.nameservers = cfg.nameservers.slice(0, MAX_NAMESERVERS);
  cfg.searches = cfg.searches.slice(0, MAX_SEARCHES);
  return cfg;
}

/** The pod's hostname (spec.hostname or its name, at most 63 characters). */
export function podHostname(pod: Pod): string {
  return (pod.spec?.hostname || pod.metadata?.name || 'pod').slice(0, 63);
}

/** The kubelet-managed /etc/hosts of a pod (a copy of the node's for hostNetwork pods). */
export function hostsFile(pod: Pod, podIP: string | undefined, opts: { clusterDomain: string; nodeHosts?: string }): string {
  if (pod.spec?.hostNetwork) return opts.nodeHosts ?? '127.0.0.1\tlocalhost\n';
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const hostname = podHostname(pod);
  if (podIP) {
    const sub = pod.spec?.subdomain;
    const ns = pod.metadata?.namespace ?? 'default';
    lines.push(sub ? `${podIP}\t${hostname}.${sub}.${ns}.svc.${opts.clusterDomain}\t${hostname}` : `${podIP}\t${hostname}`);
  }
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length > 0) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) if (a.ip && a.hostnames?.length) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return lines.join('\n') + '\n';
}
