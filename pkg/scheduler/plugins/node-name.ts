/** NodeName: a pod that names its node fits only there. */
import { FITS, unfitConst, type FilterResult, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'NodeName';
export const ERR_REASON = "node(s) didn't match the requested node name";
const UNFIT_ERR_REASON = unfitConst(ERR_REASON);

/** True when the pod names no node or names this one. */
export function fits(podNodeName: string | undefined, nodeName: string): boolean {
  return !podNodeName || podNodeName === nodeName;
}

/** Builds the NodeName filter. */
export function nodeName(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      return fits(pod.pod.spec?.nodeName, node.name) ? FITS : UNFIT_ERR_REASON;
    },
  };
}
