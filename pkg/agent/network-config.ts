/**
 * How an agent networks its node — pod network, Service proxy, cluster DNS —
 * from flags that keep k3s' names where k3s has one (--flannel-backend,
 * --disable-kube-proxy, --cluster-dns, --cluster-domain, --resolv-conf).
 * Shared by `orch agent` and the server's embedded agent.
 */
import { isIP } from 'node:net';
import { FlagError } from '../server/flag-error.js';
import { intToIp, parseCidr } from '../network/plan.js';

export type PodNetworkMode = 'host-gw' | 'none';

/** The node's networking, checked. */
export interface NodeNetworkConfig {
  /** host-gw: the node's podCIDR becomes its pod bridge, routed to from every node; none: Docker's default bridge. */
  podNetwork: PodNetworkMode;
  /** The pod network of the whole cluster (the server's --cluster-cidr). */
  clusterCidr: string;
  /** The Service proxy (kube-proxy's job); false with --disable-kube-proxy. */
  serviceProxy: boolean;
  /** The cluster DNS server on this node; absent with --disable-cluster-dns. */
  clusterDns?: { address: string; domain: string };
  /** The node's resolvers: where the DNS server forwards other names, and what dnsPolicy Default pods get. */
  resolvConf: string;
}

/** The networking flags, as typed (undefined: the default). */
export interface NetworkFlags {
  flannelBackend?: string;
  clusterCidr?: string;
  disableKubeProxy?: boolean;
  clusterDns?: string;
  clusterDomain?: string;
  disableClusterDns?: boolean;
  resolvConf?: string;
}

export const DEFAULT_POD_NETWORK: PodNetworkMode = 'host-gw';
export const DEFAULT_CLUSTER_DNS = '10.43.0.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const DEFAULT_RESOLV_CONF = '/etc/resolv.conf';

/** yargs definitions of the networking flags (the server's table has the same names). */
export const NETWORK_FLAG_HELP = {
  'flannel-backend': 'Pod network: host-gw (nodes on one L2 segment) or none (pods stay on Docker\'s default bridge)',
  'disable-kube-proxy': 'Do not run the Service proxy on this node',
  'cluster-dns': 'Address of the cluster DNS server (the kube-dns Service)',
  'cluster-domain': 'Cluster domain',
  'disable-cluster-dns': 'Do not run the cluster DNS server on this node; pods get the node\'s resolvers',
  'resolv-conf': 'Resolvers of the node: the DNS server forwards other names to them',
} as const;

const DOMAIN = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks the networking flags; throws FlagError naming the flag. */
export function nodeNetworkFromFlags(f: NetworkFlags): NodeNetworkConfig {
  const backend = f.flannelBackend ?? DEFAULT_POD_NETWORK;
  if (backend !== 'host-gw' && backend !== 'none') {
    throw new FlagError(`--flannel-backend: ${JSON.stringify(backend)} is not supported: want host-gw (nodes on one L2 segment) or none`);
  }
  const clusterCidr = f.clusterCidr ?? '10.42.0.0/16';
  const cidr = parseCidr(clusterCidr);
  if (!cidr) throw new FlagError(`--cluster-cidr: ${JSON.stringify(clusterCidr)} is not an IPv4 network such as 10.42.0.0/16`);
  const resolvConf = f.resolvConf ?? DEFAULT_RESOLV_CONF;
  if (resolvConf.trim() === '') throw new FlagError('--resolv-conf: must not be empty');
  const config: NodeNetworkConfig = { podNetwork: backend, clusterCidr: `${intToIp(cidr.base)}/${cidr.prefix}`, serviceProxy: f.disableKubeProxy !== true, resolvConf };
  if (f.disableClusterDns === true) return config;
  const address = f.clusterDns ?? DEFAULT_CLUSTER_DNS;
  if (isIP(address) !== 4) throw new FlagError(`--cluster-dns: ${JSON.stringify(address)} is not an IPv4 address`);
  const domain = (f.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new FlagError(`--cluster-domain: ${JSON.stringify(f.clusterDomain)} is not a DNS domain such as cluster.local`);
  return { ...config, clusterDns: { address, domain } };
}
