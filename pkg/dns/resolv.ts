/**
 * The upstreams of the DNS server: the nameservers of the node's
 * resolv.conf (or the file `--resolv-conf` names).
 *
 * Loopback stub resolvers (systemd-resolved's 127.0.0.53, a local dnsmasq)
 * are kept: unlike CoreDNS in a pod, this server runs in the node's own
 * network namespace, where they answer. The one case where such an entry
 * cannot work is when it is this server itself (a forwarding loop), so only
 * nameservers equal to one of our listen addresses on port 53 are dropped.
 */
import { readFile } from 'node:fs/promises';
import { parseResolvConf } from '../kubelet/dns.js';
import type { Upstream } from './forward.js';

export { parseResolvConf };

/** Nameservers of resolv.conf text as upstreams (port 53), minus `exclude` (our own listen addresses). */
export function upstreamsFromResolvConfText(text: string, exclude: Upstream[] = []): Upstream[] {
  const cfg = parseResolvConf(text);
  // glibc's default when resolv.conf names no nameserver.
  const servers = cfg.nameservers.length > 0 ? cfg.nameservers : ['127.0.0.1'];
  const out: Upstream[] = [];
  for (const address of servers) {
    if (exclude.some((e) => e.address === address && e.port === 53)) continue;
    if (!out.some((u) => u.address === address)) out.push({ address, port: 53 });
  }
  return out;
}

/** Reads a resolv.conf file (default /etc/resolv.conf) into upstreams; see upstreamsFromResolvConfText. */
export async function upstreamsFromResolvConf(path = '/etc/resolv.conf', exclude: Upstream[] = []): Promise<Upstream[]> {
  return upstreamsFromResolvConfText(await readFile(path, 'utf8'), exclude);
}
