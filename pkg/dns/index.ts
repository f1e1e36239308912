/** Cluster DNS of an agent. */
export { startDnsServer, type DnsServer, type DnsServerOptions, type DnsStats, type ListenAddress } from './server.js';
export { ClusterZone, type ZoneResult } from './zone.js';
export { Forwarder, type Upstream } from './forward.js';
export { parseResolvConf, upstreamsFromResolvConf, upstreamsFromResolvConfText } from './resolv.js';
export { ensureDnsAddress, removeDnsAddress, type IfaceOptions } from './iface.js';
