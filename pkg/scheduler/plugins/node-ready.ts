/**
 * NodeReady: a node whose Ready condition is not True takes no pods.
 * Kubernetes gets the same effect from the not-ready/unreachable taints the
 * node lifecycle controller adds (reported by TaintToleration, which runs
 * first); this filter covers the window before the taint lands, with the
 * wording of kube-scheduler's former CheckNodeCondition predicate.
 */
import { FITS, unfitConst, type FilterResult, type NodeInfo, type Plugin } from '../types.js';

export const NAME = 'NodeReady';
export const ERR_REASON_NOT_READY = 'node(s) were not ready';
const UNFIT_ERR_REASON_NOT_READY = unfitConst(ERR_REASON_NOT_READY);

/** True when the node is Ready. */
export function fits(ready: boolean): boolean {
  return ready;
}

/** Builds the NodeReady filter. */
export function nodeReady(): Plugin {
  return {
    name: NAME,
    filter(_pod, node: NodeInfo): FilterResult {
      return fits(node.ready) ? FITS : UNFIT_ERR_REASON_NOT_READY;
    },
  };
}
