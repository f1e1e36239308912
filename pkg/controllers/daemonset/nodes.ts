/**
 * Which nodes a DaemonSet runs on (after
 * k8s.io/kubernetes/pkg/controller/daemon NodeShouldRunDaemonPod and
 * component-helpers' nodeaffinity): spec.nodeName, nodeSelector, required
 * node affinity, and taints against the template's tolerations plus the
 * ones every daemon pod gets.
 */
import type { Node, NodeSelectorTerm, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { matchesTerm, toleratesTaint } from '../../api/node-selection.js';

export { toleratesTaint } from '../../api/node-selection.js';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';

/** Whether a daemon pod should be created on a node, and whether an existing one may stay. */
export interface NodeDecision {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

/** Tolerations Kubernetes adds to every daemon pod (AddOrUpdateDaemonPodTolerations). */
export function daemonPodTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return t;
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** The spec's tolerations with the daemon defaults added (replacing identical ones in place). */
export function withDaemonTolerations(spec: PodSpec): Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  for (const t of daemonPodTolerations(spec.hostNetwork === true)) {
    const i = out.findIndex((x) => sameToleration(x, t));
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/** The first taint passing `filter` that no toleration tolerates (FindMatchingUntoleratedTaint). */
export function untoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerations.some((t) => toleratesTaint(t, taint)));
}

/** One NodeSelectorTerm against a node (see api/node-selection). */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  return matchesTerm(term, node.metadata?.labels ?? {}, node.metadata?.name ?? '');
}

/** nodeSelector and required node affinity of a pod spec against a node (GetRequiredNodeAffinity.Match). */
export function requiredAffinityMatches(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) return true;
  return required.nodeSelectorTerms.some((t) => termMatches(t, node));
}

/** NodeShouldRunDaemonPod. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodeDecision {
  const spec = ds.spec?.template?.spec ?? { containers: [] };
  const name = node.metadata?.name ?? '';
  if ((spec.nodeName ?? '') !== '' && spec.nodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  if (!requiredAffinityMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = withDaemonTolerations(spec);
  const blocking = untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute' || t.effect === 'NoSchedule');
  if (blocking !== undefined) {
    const evicting = untoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
    return { shouldRun: false, shouldContinueRunning: evicting === undefined };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}
