/**
 * NodeAffinity: spec.nodeSelector and the required node affinity
 * (nodeSelectorTerms ORed; within a term matchExpressions and matchFields
 * ANDed), as k8s.io/component-helpers/scheduling/corev1/nodeaffinity matches them.
 */
import type { NodeSelectorTerm } from 'kubernetes-types/core/v1.js';
import { matchesTerm } from '../../api/node-selection.js';

export { matchesExpression, matchesField, matchesTerm } from '../../api/node-selection.js';
import { FITS, unfitConst, type FilterResult, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'NodeAffinity';
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
const UNFIT_ERR_REASON_POD = unfitConst(ERR_REASON_POD);

/** True when the node satisfies the nodeSelector and (if any) one of the required terms. */
export function fits(
  nodeSelector: readonly [string, string][],
  requiredTerms: readonly NodeSelectorTerm[] | undefined,
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const [k, v] of nodeSelector) if (labels[k] !== v) return false;
  if (requiredTerms === undefined) return true;
  return requiredTerms.some((t) => matchesTerm(t, labels, nodeName));
}

/** Builds the NodeAffinity filter. */
export function nodeAffinity(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      return fits(pod.nodeSelector, pod.requiredNodeTerms, node.labels, node.name) ? FITS : UNFIT_ERR_REASON_POD;
    },
  };
}
