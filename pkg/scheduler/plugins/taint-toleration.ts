/**
 * TaintToleration: NoSchedule and NoExecute taints must be tolerated;
 * untolerated PreferNoSchedule taints lower the node's score.
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { toleratesTaint } from '../../api/node-selection.js';

export { toleratesTaint } from '../../api/node-selection.js';
import { FITS, MAX_NODE_SCORE, unfitConst, type FilterResult, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'TaintToleration';

/** The reason kube-scheduler gives for a taint the pod does not tolerate. */
export function errReasonUntolerated(taint: Pick<Taint, 'key' | 'value'>): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

/** The first NoSchedule/NoExecute taint the tolerations don't cover, or undefined when the pod fits. */
export function firstUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

/** True when every NoSchedule/NoExecute taint is tolerated. */
export function fits(taints: readonly Taint[], tolerations: readonly Toleration[]): boolean {
  return firstUntoleratedTaint(taints, tolerations) === undefined;
}

/** How many PreferNoSchedule taints the pod does not tolerate (the raw score; fewer is better). */
export function countIntolerablePreferNoSchedule(taints: readonly Taint[], tolerations: readonly Toleration[]): number {
  let n = 0;
  let relevant: Toleration[] | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'PreferNoSchedule') continue;
    relevant ??= tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    if (!relevant.some((t) => toleratesTaint(t, taint))) n++;
  }
  return n;
}

/** framework.DefaultNormalizeScore: scales to 0..100 by the maximum; `reverse` makes lower raw scores better. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) {
      scores[i] = reverse ? MAX_NODE_SCORE : 0;
      continue;
    }
    const s = Math.floor((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}

// One failing result per taint object: nodes keep their taint objects until they change.
const untoleratedResults = new WeakMap<Taint, FilterResult>();

function untolerated(taint: Taint): FilterResult {
  let r = untoleratedResults.get(taint);
  if (r === undefined) {
    r = unfitConst(errReasonUntolerated(taint));
    untoleratedResults.set(taint, r);
  }
  return r;
}

/** Builds the TaintToleration filter and score. */
export function taintToleration(): Plugin {
  return {
    name: NAME,
    weight: 3,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      if (node.taints.length === 0) return FITS;
      const taint = firstUntoleratedTaint(node.taints, pod.tolerations);
      return taint === undefined ? FITS : untolerated(taint);
    },
    score(pod: PodInfo, node: NodeInfo): number {
      return node.taints.length === 0 ? 0 : countIntolerablePreferNoSchedule(node.taints, pod.tolerations);
    },
    normalizeScores(scores: number[]): void {
      defaultNormalizeScore(scores, true);
    },
  };
}
