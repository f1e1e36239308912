/**
 * The Node object an agent registers and the status it posts: labels,
 * taints, addresses, capacity, nodeInfo and conditions, from facts about
 * the host gathered once (hostFacts) and pure functions over them.
 */
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, networkInterfaces, release, totalmem } from 'node:os';
import type { Node, NodeCondition, NodeStatus, Taint } from 'kubernetes-types/core/v1.js';

/** The kubelet version nodes report: the API server's /version gitVersion. */
export const KUBELET_VERSION = 'v1.32.0+orch';
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** Kubelet's default evictionHard thresholds, taken off capacity for allocatable. */
const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
const EVICTION_NODEFS_FRACTION = 0.1;
export const MAX_PODS = 110;

/** What the node reports about the machine. */
export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  /** Size of the file system holding the data dir (0 when unknown). */
  storageBytes: number;
  kernelVersion: string;
  osImage: string;
  machineID: string;
  bootID: string;
  /** 'amd64' | 'arm64' | … (Go's GOARCH names). */
  architecture: string;
}

/** Go's GOARCH name for a Node.js process.arch. */
export function goArch(arch: string): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

/** The first non-internal IPv4 address of this host, else 127.0.0.1. */
export function defaultNodeIP(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return '127.0.0.1';
}

async function readTrimmed(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return '';
  }
}

/** PRETTY_NAME of an os-release file's text. */
export function osImageOf(osRelease: string): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  if (!m) return 'Linux';
  return m[1].trim().replace(/^"(.*)"$/, '$1');
}

/** Gathers the host facts; `dataDir` is where ephemeral storage is measured. */
export async function hostFacts(dataDir: string): Promise<HostFacts> {
  const [osRelease, machineID, bootID, storageBytes] = await Promise.all([
    readTrimmed('/etc/os-release'),
    readTrimmed('/etc/machine-id'),
    readTrimmed('/proc/sys/kernel/random/boot_id'),
    statfs(dataDir).then(
      (s) => s.blocks * s.bsize,
      () => 0,
    ),
  ]);
  return {
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    storageBytes,
    kernelVersion: release(),
    osImage: osImageOf(osRelease),
    machineID,
    bootID,
    architecture: goArch(process.arch),
  };
}

/** What the node is told to be by its flags. */
export interface NodeIdentity {
  nodeName: string;
  nodeIP: string;
  labels: Record<string, string>;
  taints: Taint[];
  controlPlane: boolean;
}

/** The labels the node carries: the well-known ones, the control-plane role, then --node-label. */
export function nodeLabels(id: NodeIdentity, facts: Pick<HostFacts, 'architecture'>): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': facts.architecture,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': facts.architecture,
    'kubernetes.io/hostname': id.nodeName,
    'kubernetes.io/os': 'linux',
    ...(id.controlPlane ? { [CONTROL_PLANE_LABEL]: 'true' } : {}),
    ...id.labels,
  };
}

const ki = (bytes: number): string => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

/** Capacity and allocatable (capacity less the kubelet's hard eviction thresholds). */
export function resources(facts: HostFacts): Pick<NodeStatus, 'capacity' | 'allocatable'> {
  const capacity: Record<string, string> = { cpu: String(facts.cpus), memory: ki(facts.memoryBytes), pods: String(MAX_PODS) };
  const allocatable: Record<string, string> = { cpu: String(facts.cpus), memory: ki(facts.memoryBytes - EVICTION_MEMORY_BYTES), pods: String(MAX_PODS) };
  if (facts.storageBytes > 0) {
    capacity['ephemeral-storage'] = ki(facts.storageBytes);
    allocatable['ephemeral-storage'] = ki(facts.storageBytes * (1 - EVICTION_NODEFS_FRACTION));
  }
  return { capacity, allocatable };
}

/** The Node to create at registration (status is posted separately). */
export function nodeObject(id: NodeIdentity, facts: HostFacts): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: id.nodeName, labels: nodeLabels(id, facts) },
    spec: id.taints.length > 0 ? { taints: id.taints } : {},
  };
}

/** An RFC 3339 time to the second, as Kubernetes writes condition times. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

const CONDITIONS: { type: string; status: 'True' | 'False'; reason: string; message: string }[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
];

/**
 * The node's conditions at `now`; a condition keeps its lastTransitionTime
 * from `previous` while its status is unchanged.
 */
export function nodeConditions(previous: readonly NodeCondition[] | undefined, now: Date): NodeCondition[] {
  const t = rfc3339(now);
  return CONDITIONS.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return { ...c, lastHeartbeatTime: t, lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : t };
  });
}

/** The status the agent posts (without conditions, see nodeConditions). */
export function nodeStatusBase(id: NodeIdentity, facts: HostFacts, containerRuntimeVersion: string): NodeStatus {
  return {
    ...resources(facts),
    addresses: [
      { type: 'InternalIP', address: id.nodeIP },
      { type: 'Hostname', address: id.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      kernelVersion: facts.kernelVersion,
      osImage: facts.osImage,
      operatingSystem: 'linux',
      architecture: facts.architecture,
      containerRuntimeVersion,
      machineID: facts.machineID,
      systemUUID: facts.machineID,
      bootID: facts.bootID,
    },
  };
}

/** 'docker://20.10.24' from what a runtime reports ('docker://20.10.24' or '20.10.24'). */
export function runtimeVersionString(type: string, version: string): string {
  return version.includes('://') ? version : `${type}://${version}`;
}
