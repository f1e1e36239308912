/**
 * SelectorSpread (lite): spreads pods of one controller (same controlling
 * ownerReference uid) across nodes: fewer siblings on a node, higher score.
 */
import { MAX_NODE_SCORE, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'SelectorSpread';

/** How many pods of the same controller the node already has (the raw score). */
export function siblings(ownerUid: string | undefined, node: Pick<NodeInfo, 'ownerCounts'>): number {
  return ownerUid === undefined ? 0 : (node.ownerCounts.get(ownerUid) ?? 0);
}

/** Maps sibling counts to 0..100 in place: 100 * (max - count) / max, all 100 when no node has siblings. */
export function normalize(scores: number[]): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    scores[i] = max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max - scores[i])) / max);
  }
}

/** Builds the SelectorSpread score. */
export function selectorSpread(): Plugin {
  return {
    name: NAME,
    weight: 2,
    score(pod: PodInfo, node: NodeInfo): number {
      return siblings(pod.ownerUid, node);
    },
    normalizeScores: normalize,
  };
}
