/**
 * The scheduler's own views of pods and nodes: parsed once when an object
 * arrives (quantities, taints, ports), so filters and scores running
 * thousands of times per second only compare numbers and strings.
 */
import type { Node, NodeSelectorTerm, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** Amounts of resources: CPU in millicores, memory and storage in bytes, the rest in units. */
export interface ResourceVector {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Only meaningful for allocatable: how many pods the node takes. */
  pods: number;
  /** Every other resource (extended resources, hugepages-*). */
  scalar: Map<string, number>;
}

/** A host port a container asks for; hostIP "" is normalised to 0.0.0.0, protocol defaults to TCP. */
export interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

/** What the scheduler needs of a pod, computed once per pod version. */
export interface PodInfo {
  /** uid, or namespace/name for objects without one (tests). */
  key: string;
  pod: Pod;
  namespace: string;
  name: string;
  requests: ResourceVector;
  /** Requests with kube-scheduler's defaults (100m, 200Mi) for containers that set none: what scoring uses. */
  nonZeroMilliCPU: number;
  nonZeroMemory: number;
  hostPorts: HostPort[];
  /** uid of the controlling ownerReference, if any. */
  ownerUid: string | undefined;
  tolerations: Toleration[];
  nodeSelector: [string, string][];
  /** spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed). */
  requiredNodeTerms: NodeSelectorTerm[] | undefined;
  priority: number;
  /** creationTimestamp in ms (0 when absent). */
  created: number;
}

/** Host ports in use on a node: "protocol/port" → hostIP → number of pods using it. */
export type UsedPorts = Map<string, Map<string, number>>;

/** Per-node aggregate kept up to date incrementally by the cache. */
export interface NodeInfo {
  name: string;
  /** undefined while a deleted node still has pods accounted to it. */
  node: Node | undefined;
  labels: Record<string, string>;
  taints: Taint[];
  unschedulable: boolean;
  ready: boolean;
  allocatable: ResourceVector;
  /** Sum of the requests of bound and assumed pods. */
  requested: ResourceVector;
  nonZeroRequested: { milliCPU: number; memory: number };
  podCount: number;
  usedPorts: UsedPorts;
  /** Controller uid → pods of that controller on the node. */
  ownerCounts: Map<string, number>;
}

/** Scratch state of one scheduling cycle, shared by the plugins that run in it. */
export interface CycleState {
  /** Nodes in the cluster when the cycle started. */
  readonly numAllNodes: number;
}

/** A filter's verdict on one node; `reasons` use kube-scheduler's wording, counted in the FitError message. */
export type FilterResult = { readonly fit: true } | { readonly fit: false; readonly reasons: readonly string[] };

/** The single "fits" value, shared so filters allocate nothing on success. */
export const FITS: FilterResult = Object.freeze({ fit: true });

/** A failing result with the given reasons. */
export function unfit(...reasons: string[]): FilterResult {
  return { fit: false, reasons };
}

/**
 * A shared failing result for a fixed reason: a filter rejects most nodes
 * for the same reason while a cluster is full or tainted, and each pod is
 * checked against hundreds of nodes, so it should not allocate per node.
 */
export function unfitConst(reason: string): FilterResult {
  return Object.freeze({ fit: false, reasons: Object.freeze([reason]) });
}

/**
 * A scheduler plugin. `filter` rejects nodes; `score` ranks feasible ones on
 * 0–100 (or on a raw scale that `normalizeScores` maps to 0–100 in place,
 * once all feasible nodes are scored).
 */
export interface Plugin {
  readonly name: string;
  filter?(pod: PodInfo, node: NodeInfo, state: CycleState): FilterResult;
  score?(pod: PodInfo, node: NodeInfo, state: CycleState): number;
  normalizeScores?(scores: number[]): void;
  /** Weight of the score in the total (kube-scheduler's defaults). */
  readonly weight?: number;
}

/** Builds a plugin; the registry maps names to these. */
export type PluginFactory = () => Plugin;

/** Highest score a plugin gives (framework.MaxNodeScore). */
export const MAX_NODE_SCORE = 100;
