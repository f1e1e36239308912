/**
 * NodePorts: a host port is taken per protocol, port and host IP, where
 * 0.0.0.0 (or an empty hostIP) conflicts with every IP (framework.HostPortInfo).
 */
import { FITS, unfitConst, type FilterResult, type HostPort, type NodeInfo, type Plugin, type PodInfo, type UsedPorts } from '../types.js';

export const NAME = 'NodePorts';
export const ERR_REASON = "node(s) didn't have free ports for the requested pod ports";
const UNFIT_ERR_REASON = unfitConst(ERR_REASON);

const ANY_IP = '0.0.0.0';

/** The UsedPorts key of a port. */
export function portKey(p: HostPort): string {
  return `${p.protocol}/${p.port}`;
}

/** True when `p` collides with a port already in use. */
export function conflicts(used: UsedPorts, p: HostPort): boolean {
  const ips = used.get(portKey(p));
  if (ips === undefined || ips.size === 0) return false;
  if (p.hostIP === ANY_IP) return true;
  return ips.has(p.hostIP) || ips.has(ANY_IP);
}

/** True when none of the wanted ports is in use. */
export function fits(wanted: readonly HostPort[], used: UsedPorts): boolean {
  return wanted.every((p) => !conflicts(used, p));
}

/** Records (sign 1) or releases (sign -1) a pod's ports. */
export function updateUsedPorts(used: UsedPorts, ports: readonly HostPort[], sign: 1 | -1): void {
  for (const p of ports) {
    const k = portKey(p);
    let ips = used.get(k);
    if (ips === undefined) {
      if (sign < 0) continue;
      ips = new Map();
      used.set(k, ips);
    }
    const n = (ips.get(p.hostIP) ?? 0) + sign;
    if (n > 0) ips.set(p.hostIP, n);
    else ips.delete(p.hostIP);
    if (ips.size === 0) used.delete(k);
  }
}

/** Builds the NodePorts filter. */
export function nodePorts(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      if (pod.hostPorts.length === 0) return FITS;
      return fits(pod.hostPorts, node.usedPorts) ? FITS : UNFIT_ERR_REASON;
    },
  };
}
