/**
 * Taint-based eviction decisions as pure functions (Kubernetes' NoExecute
 * taint manager): a pod on a node with NoExecute taints it does not
 * tolerate goes at once; one that tolerates them all for a limited time
 * goes when the shortest tolerationSeconds runs out; one that tolerates
 * them for ever stays.
 */
import type { Node, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { toleratesTaint } from '../../api/node-selection.js';

export type EvictionDecision = { type: 'keep' } | { type: 'now' } | { type: 'after'; ms: number };

/** The node's NoExecute taints. */
export function noExecuteTaints(node: Node | undefined): Taint[] {
  return (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
}

/** A comparable form of a node's NoExecute taints (to notice when they change). */
export function noExecuteSignature(node: Node | undefined): string {
  return noExecuteTaints(node)
    .map((t) => `${t.key}=${t.value ?? ''}`)
    .sort()
    .join(',');
}

/** What to do with a pod with these tolerations on a node with these NoExecute taints. */
export function evictionDecision(tolerations: readonly Toleration[], taints: readonly Taint[]): EvictionDecision {
  if (taints.length === 0) return { type: 'keep' };
  const used: Toleration[] = [];
  for (const taint of taints) {
    const matching = tolerations.filter((t) => toleratesTaint(t, taint));
    if (matching.length === 0) return { type: 'now' };
    used.push(...matching);
  }
  // As getMinTolerationTime: the least tolerationSeconds of all tolerations used; none set means for ever.
  let min: number | undefined;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    const s = Math.max(0, t.tolerationSeconds);
    if (min === undefined || s < min) min = s;
  }
  if (min === undefined) return { type: 'keep' };
  if (min === 0) return { type: 'now' };
  return { type: 'after', ms: min * 1000 };
}
