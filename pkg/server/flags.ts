/**
 * Validation of `orch server` flags into a ServerConfig, with messages
 * that name the flag and say what is wrong.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parseCidr, parsePortRange } from '../apiserver/allocators.js';
import { parseFileMode } from './kubeconfig.js';
import type { ServerConfig } from './server.js';
import { FlagError } from './flag-error.js';
import {
  DEFAULT_CLUSTER_DNS,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_POD_NETWORK,
  DEFAULT_RESOLV_CONF,
  nodeNetworkFromFlags,
  type NodeNetworkConfig,
} from '../agent/network-config.js';
import { ipInCidr as addressInCidr } from '../network/plan.js';

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
  disableScheduler: boolean;
  nodeName?: string;
  nodeIp?: string;
  nodeLabel: string[];
  nodeTaint: string[];
  nodeCidrMaskSize: number;
  nodeMonitorGracePeriod: string;
  nodeMonitorPeriod: string;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  terminatedPodGcThreshold: number;
  flannelBackend: string;
  disableKubeProxy: boolean;
  clusterDns: string;
  clusterDomain: string;
  disableClusterDns: boolean;
  resolvConf: string;
}

export { FlagError };

export interface FlagSpec {
  /** kebab-case name, as typed: --data-dir. */
  name: string;
  type: 'string' | 'number' | 'boolean' | 'strings';
  alias?: string;
  default?: string | number | boolean | string[];
  describe: string;
}

/** The `orch server` flags (k3s names): one table for the help text and both parsers. */
export const SERVER_FLAGS: readonly FlagSpec[] = [
  { name: 'data-dir', alias: 'd', type: 'string', describe: 'Folder for state (default /var/lib/orch as root, ~/.orch otherwise)' },
  { name: 'https-listen-port', type: 'number', default: 6443, describe: 'HTTPS port of the API' },
  { name: 'bind-address', type: 'string', default: '0.0.0.0', describe: 'Address the API listens on' },
  { name: 'write-kubeconfig', alias: 'o', type: 'string', describe: 'Write the admin kubeconfig here (default /etc/orch/orch.yaml as root)' },
  { name: 'write-kubeconfig-mode', type: 'string', describe: 'File mode of the kubeconfig, e.g. 0644 (default 0600)' },
  { name: 'token', alias: 't', type: 'string', describe: 'Shared secret agents join with (env ORCH_TOKEN)' },
  { name: 'cluster-cidr', type: 'string', default: '10.42.0.0/16', describe: 'IPv4 range for pod addresses' },
  { name: 'service-cidr', type: 'string', default: '10.43.0.0/16', describe: 'IPv4 range for Service ClusterIPs' },
  { name: 'service-node-port-range', type: 'string', default: '30000-32767', describe: 'Port range for NodePort Services' },
  { name: 'tls-san', type: 'strings', default: [], describe: 'Extra host name or IP for the serving certificate' },
  { name: 'advertise-address', type: 'string', describe: 'Address agents and the kubernetes Service use to reach the API' },
  { name: 'disable-agent', type: 'boolean', default: false, describe: 'Run the control plane only' },
  { name: 'disable-scheduler', type: 'boolean', default: false, describe: 'Run every controller but not the scheduler: pods stay unbound' },
  { name: 'node-name', type: 'string', describe: 'Name of the embedded agent node (default: host name)' },
  { name: 'node-ip', type: 'string', describe: 'InternalIP of the embedded agent node (default: first non-loopback IPv4)' },
  { name: 'node-label', type: 'strings', default: [], describe: 'Label for the embedded agent node (key=value)' },
  { name: 'node-taint', type: 'strings', default: [], describe: 'Taint for the embedded agent node (key=value:Effect)' },
  { name: 'node-cidr-mask-size', type: 'number', default: 24, describe: 'Size of the pod range each node gets from --cluster-cidr' },
  { name: 'node-monitor-grace-period', type: 'string', default: '50s', describe: 'A node silent this long turns Ready=Unknown and is tainted unreachable' },
  { name: 'node-monitor-period', type: 'string', default: '5s', describe: 'How often node health is checked' },
  { name: 'default-not-ready-toleration-seconds', type: 'number', default: 300, describe: 'Toleration added to pods for node.kubernetes.io/not-ready:NoExecute' },
  { name: 'default-unreachable-toleration-seconds', type: 'number', default: 300, describe: 'Toleration added to pods for node.kubernetes.io/unreachable:NoExecute' },
  { name: 'terminated-pod-gc-threshold', type: 'number', default: 12500, describe: 'Finished pods kept before the oldest are deleted (0: no limit)' },
  { name: 'flannel-backend', type: 'string', default: DEFAULT_POD_NETWORK, describe: "Pod network of the embedded agent: host-gw (nodes on one L2 segment) or none (Docker's default bridge)" },
  { name: 'disable-kube-proxy', type: 'boolean', default: false, describe: 'Do not run the Service proxy on the embedded agent' },
  { name: 'cluster-dns', type: 'string', default: DEFAULT_CLUSTER_DNS, describe: 'Address of the cluster DNS server: the kube-dns Service, answered on every node' },
  { name: 'cluster-domain', type: 'string', default: DEFAULT_CLUSTER_DOMAIN, describe: 'Cluster domain' },
  { name: 'disable-cluster-dns', type: 'boolean', default: false, describe: 'No kube-dns Service and no DNS server on the embedded agent' },
  { name: 'resolv-conf', type: 'string', default: DEFAULT_RESOLV_CONF, describe: 'Resolvers of the embedded agent: its DNS server forwards other names to them' },
];

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("50s", "1m30s", "500ms") into milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value.trim()) {
    throw new FlagError(`--${flag}: ${JSON.stringify(value)} is not a duration (e.g. 50s, 1m30s, 500ms)`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}

/**
 * Parses `orch server` arguments without yargs (whose import alone costs
 * more than the rest of a restart): same table, same env fallback
 * (ORCH_<FLAG>), same strictness. `--help` still goes through yargs.
 */
export function parseServerArgv(argv: string[], env: NodeJS.ProcessEnv): ServerFlags {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of SERVER_FLAGS) {
    options[f.name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.alias ? { short: f.alias } : {}), ...(f.type === 'strings' ? { multiple: true } : {}) };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    const m = e instanceof Error ? /'(-[^']*)'/.exec(e.message) : null;
    throw new FlagError(m ? `Unknown argument: ${m[1].replace(/^-+/, '')}` : e instanceof Error ? e.message : String(e));
  }
  const raw = (name: string): string | boolean | (string | boolean)[] | undefined => {
    const spec = SERVER_FLAGS.find((f) => f.name === name);
    const fromEnv = env[`ORCH_${name.toUpperCase().replace(/-/g, '_')}`];
    const v = values[name] ?? fromEnv;
    return v === undefined && spec?.default !== undefined && typeof spec.default !== 'number' ? spec.default : v;
  };
  const str = (name: string): string | undefined => {
    const v = raw(name);
    return typeof v === 'string' ? v : undefined;
  };
  const strs = (name: string): string[] => {
    const v = raw(name);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  };
  const bool = (name: string): boolean => {
    const v = raw(name);
    return v === true || v === 'true' || v === '1';
  };
  const num = (name: string, dflt: number): number => {
    const v = raw(name);
    if (typeof v !== 'string') return dflt;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new FlagError(`--${name}: ${JSON.stringify(v)} is not a number`);
    return n;
  };
  return {
    dataDir: str('data-dir'),
    httpsListenPort: num('https-listen-port', 6443),
    bindAddress: str('bind-address') ?? '0.0.0.0',
    writeKubeconfig: str('write-kubeconfig'),
    writeKubeconfigMode: str('write-kubeconfig-mode'),
    token: str('token'),
    clusterCidr: str('cluster-cidr') ?? '10.42.0.0/16',
    serviceCidr: str('service-cidr') ?? '10.43.0.0/16',
    serviceNodePortRange: str('service-node-port-range') ?? '30000-32767',
    tlsSan: strs('tls-san'),
    advertiseAddress: str('advertise-address'),
    disableAgent: bool('disable-agent'),
    disableScheduler: bool('disable-scheduler'),
    nodeName: str('node-name'),
    nodeIp: str('node-ip'),
    nodeLabel: strs('node-label'),
    nodeTaint: strs('node-taint'),
    nodeCidrMaskSize: num('node-cidr-mask-size', 24),
    nodeMonitorGracePeriod: str('node-monitor-grace-period') ?? '50s',
    nodeMonitorPeriod: str('node-monitor-period') ?? '5s',
    defaultNotReadyTolerationSeconds: num('default-not-ready-toleration-seconds', 300),
    defaultUnreachableTolerationSeconds: num('default-unreachable-toleration-seconds', 300),
    terminatedPodGcThreshold: num('terminated-pod-gc-threshold', 12500),
    flannelBackend: str('flannel-backend') ?? DEFAULT_POD_NETWORK,
    disableKubeProxy: bool('disable-kube-proxy'),
    clusterDns: str('cluster-dns') ?? DEFAULT_CLUSTER_DNS,
    clusterDomain: str('cluster-domain') ?? DEFAULT_CLUSTER_DOMAIN,
    disableClusterDns: bool('disable-cluster-dns'),
    resolvConf: str('resolv-conf') ?? DEFAULT_RESOLV_CONF,
  };
}

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
  nodeIP?: string;
  nodeLabels: Record<string, string>;
  nodeTaints: Taint[];
  network: NodeNetworkConfig;
} {
  const port = f.httpsListenPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FlagError(`--https-listen-port: ${String(port)} is not a port (0-65535)`);
  if (!isIP(f.bindAddress)) throw new FlagError(`--bind-address: ${JSON.stringify(f.bindAddress)} is not an IP address`);
  if (f.advertiseAddress !== undefined && !isIP(f.advertiseAddress)) {
    throw new FlagError(`--advertise-address: ${JSON.stringify(f.advertiseAddress)} is not an IP address`);
  }
  if (f.nodeIp !== undefined && isIP(f.nodeIp) !== 4) throw new FlagError(`--node-ip: ${JSON.stringify(f.nodeIp)} is not an IPv4 address`);
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
  const nonNegativeInt = (flag: string, v: number): number => {
    if (!Number.isInteger(v) || v < 0) throw new FlagError(`--${flag}: ${String(v)} is not a whole number >= 0`);
    return v;
  };
  const clusterCidr = cidr('cluster-cidr', f.clusterCidr);
  const maskSize = nonNegativeInt('node-cidr-mask-size', f.nodeCidrMaskSize);
  if (maskSize < Number(clusterCidr.split('/')[1]) || maskSize > 30) {
    throw new FlagError(`--node-cidr-mask-size: ${maskSize} must lie between the --cluster-cidr prefix (${clusterCidr}) and 30`);
  }
  const serviceCidr = cidr('service-cidr', f.serviceCidr);
  const network = nodeNetworkFromFlags(f);
  if (network.clusterDns && !addressInCidr(network.clusterDns.address, serviceCidr)) {
    throw new FlagError(`--cluster-dns: ${network.clusterDns.address} is not inside --service-cidr ${serviceCidr} (it is the kube-dns Service's ClusterIP)`);
  }
  return {
    dataDir: f.dataDir,
    httpsListenPort: port,
    bindAddress: f.bindAddress,
    writeKubeconfig: f.writeKubeconfig,
    writeKubeconfigMode: f.writeKubeconfigMode,
    token: f.token,
    clusterCidr,
    serviceCidr,
    serviceNodePortRange: f.serviceNodePortRange,
    network,
    clusterDns: network.clusterDns,
    tlsSans: f.tlsSan,
    advertiseAddress: f.advertiseAddress,
    isRoot,
    disableAgent: f.disableAgent,
    disableScheduler: f.disableScheduler,
    nodeName: f.nodeName,
    nodeIP: f.nodeIp,
    nodeLabels: Object.fromEntries(f.nodeLabel.map(parseNodeLabel)),
    nodeTaints: f.nodeTaint.map(parseNodeTaint),
    controllers: {
      clusterCidr,
      nodeCidrMaskSize: maskSize,
      nodeMonitorGracePeriodMs: parseDuration('node-monitor-grace-period', f.nodeMonitorGracePeriod),
      nodeMonitorPeriodMs: parseDuration('node-monitor-period', f.nodeMonitorPeriod),
      terminatedPodGCThreshold: nonNegativeInt('terminated-pod-gc-threshold', f.terminatedPodGcThreshold),
    },
    defaultTolerations: {
      notReadySeconds: nonNegativeInt('default-not-ready-toleration-seconds', f.defaultNotReadyTolerationSeconds),
      unreachableSeconds: nonNegativeInt('default-unreachable-toleration-seconds', f.defaultUnreachableTolerationSeconds),
    },
  };
}
