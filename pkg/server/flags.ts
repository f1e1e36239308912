/**
 * Validation of `orch server` flags into a ServerConfig, with messages
 * that name the flag and say what is wrong.
 */
import { isIP } from 'node:net';
import { parseCidr, parsePortRange } from '../apiserver/allocators.js';
import { parseFileMode } from './kubeconfig.js';
import type { ServerConfig } from './server.js';

export interface ServerFlags {
  dataDir?: string;
  httpsListenPort: number;
  bindAddress: string;
  writeKubeconfig?: string;
  writeKubeconfigMode?: string;
  token?: string;
  clusterCidr: string;
  serviceCidr: string;
  serviceNodePortRange: string;
  tlsSan: string[];
  advertiseAddress?: string;
  disableAgent: boolean;
  nodeName?: string;
  nodeLabel: string[];
  nodeTaint: string[];
}

/** A flag with a bad value. */
export class FlagError extends Error {}

function cidr(flag: string, value: string): string {
  try {
    return parseCidr(value).cidr;
  } catch (e) {
    throw new FlagError(`--${flag}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Parses key=value node labels. */
export function parseNodeLabel(s: string): [string, string] {
  const eq = s.indexOf('=');
  const key = eq < 0 ? s : s.slice(0, eq);
  const value = eq < 0 ? '' : s.slice(eq + 1);
  if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value) || value.length > 63) {
    throw new FlagError(`--node-label ${JSON.stringify(s)}: want key=value with a valid label key and value`);
  }
  return [key, value];
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Parses key[=value]:Effect node taints, as kubectl taint and k3s --node-taint. */
export function parseNodeTaint(s: string): Taint {
  const colon = s.lastIndexOf(':');
  const effect = colon < 0 ? '' : s.slice(colon + 1);
  if (effect !== 'NoSchedule' && effect !== 'PreferNoSchedule' && effect !== 'NoExecute') {
    throw new FlagError(`--node-taint ${JSON.stringify(s)}: want key[=value]:Effect with Effect one of NoSchedule, PreferNoSchedule, NoExecute`);
  }
  const [key, value] = parseNodeLabel(s.slice(0, colon));
  return value ? { key, value, effect } : { key, effect };
}

/** Checks every flag; throws FlagError on the first bad one. */
export function parseServerFlags(f: ServerFlags & { dataDir: string }, isRoot: boolean): ServerConfig & {
  disableAgent: boolean;
  nodeName?: string;
  nodeLabels: Record<string, string>;
  nodeTaints: Taint[];
} {
  const port = f.httpsListenPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlagError(`--https-listen-port: ${String(port)} is not a port (0-65535)`);
  if (!isIP(f.bindAddress)) throw new FlagError(`--bind-address: ${JSON.stringify(f.bindAddress)} is not an IP address`);
  if (f.advertiseAddress !== undefined && !isIP(f.advertiseAddress)) {
    throw new FlagError(`--advertise-address: ${JSON.stringify(f.advertiseAddress)} is not an IP address`);
  }
  if (f.writeKubeconfigMode !== undefined) {
    try {
      parseFileMode(f.writeKubeconfigMode);
    } catch (e) {
      throw new FlagError(`--write-kubeconfig-mode: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  try {
    parsePortRange(f.serviceNodePortRange);
  } catch (e) {
    throw new FlagError(`--service-node-port-range: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (f.token !== undefined && f.token.trim() === '') throw new FlagError('--token: must not be empty');
  for (const san of f.tlsSan) {
    if (san.trim() === '') throw new FlagError('--tls-san: must not be empty');
  }
  return {
    dataDir: f.dataDir,
    httpsListenPort: port,
    bindAddress: f.bindAddress,
    writeKubeconfig: f.writeKubeconfig,
    writeKubeconfigMode: f.writeKubeconfigMode,
    token: f.token,
    clusterCidr: cidr('cluster-cidr', f.clusterCidr),
    serviceCidr: cidr('service-cidr', f.serviceCidr),
    serviceNodePortRange: f.serviceNodePortRange,
    tlsSans: f.tlsSan,
    advertiseAddress: f.advertiseAddress,
    isRoot,
    disableAgent: f.disableAgent,
    nodeName: f.nodeName,
    nodeLabels: Object.fromEntries(f.nodeLabel.map(parseNodeLabel)),
    nodeTaints: f.nodeTaint.map(parseNodeTaint),
  };
}
