/** NodeUnschedulable: cordoned nodes take only pods that tolerate node.kubernetes.io/unschedulable:NoSchedule. */
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { FITS, unfitConst, type FilterResult, type NodeInfo, type Plugin, type PodInfo } from '../types.js';
import { toleratesTaint } from './taint-toleration.js';

export const NAME = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const UNFIT_ERR_REASON_UNSCHEDULABLE = unfitConst(ERR_REASON_UNSCHEDULABLE);

const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** True when the pod may go to a node with the given spec.unschedulable. */
export function fits(unschedulable: boolean, tolerations: readonly Toleration[]): boolean {
  return !unschedulable || tolerations.some((t) => toleratesTaint(t, UNSCHEDULABLE_TAINT));
}

/** Builds the NodeUnschedulable filter. */
export function nodeUnschedulable(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      return fits(node.unschedulable, pod.tolerations) ? FITS : UNFIT_ERR_REASON_UNSCHEDULABLE;
    },
  };
}
