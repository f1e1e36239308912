/** Builders for pods and nodes in scheduler tests. */
import type { Container, Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  ready?: boolean;
}

/** A node with allocatable and a Ready condition (4 CPU, 8Gi, 110 pods by default). */
export function makeNode(name: string, o: NodeOpts = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...o.extra },
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

export interface PodOpts {
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  containers?: Container[];
  initContainers?: Container[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  hostPorts?: { hostPort: number; protocol?: string; hostIP?: string }[];
  owner?: string;
  priority?: number;
  created?: string;
  schedulerName?: string;
  namespace?: string;
}

let uid = 0;

/** A pod with one container requesting the given cpu/memory. */
export function makePod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = { ...o.requests };
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const containers: Container[] = o.containers ?? [
    {
      name: 'c',
      image: 'nginx',
      resources: Object.keys(requests).length ? { requests } : undefined,
      ports: o.hostPorts?.map((p) => ({ containerPort: p.hostPort, ...p })),
    },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: `uid-${name}-${++uid}`,
      creationTimestamp: o.created ?? '2025-01-01T00:00:00Z',
      ownerReferences: o.owner ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `rs-${o.owner}`, controller: true }] : undefined,
    },
    spec: {
      containers,
      initContainers: o.initContainers,
      nodeName: o.nodeName,
      nodeSelector: o.nodeSelector,
      tolerations: o.tolerations,
      priority: o.priority,
      schedulerName: o.schedulerName,
    },
  };
}

/** A container with requests. */
export function container(name: string, requests: Record<string, string>, restartPolicy?: string): Container {
  return { name, image: 'x', resources: { requests }, restartPolicy };
}
