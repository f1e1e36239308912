/**
 * The "0/N nodes are available: …" message of kube-scheduler's
 * FitError.Error(): each reason counted over the nodes that gave it, the
 * "<count> <reason>" strings sorted bytewise (as Go's sort.Strings), joined
 * with ", ", ended with a period. No preemption is attempted, so no
 * "preemption: …" suffix follows.
 */

/** The message for a scheduling cycle where no node fits. */
export function fitErrorMessage(numAllNodes: number, reasonsPerNode: Iterable<readonly string[]>): string {
  const histogram = new Map<string, number>();
  for (const reasons of reasonsPerNode) {
    for (const r of reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
  }
  let msg = `0/${numAllNodes} nodes are available:`;
  const parts = [...histogram].map(([reason, n]) => `${n} ${reason}`).sort();
  if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
  return msg;
}

/** kube-scheduler's message when the cluster has no nodes at all. */
export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** A pod that fits on no node; `message` reads as Kubernetes' does. */
export class FitError extends Error {
  override readonly name = 'FitError';
  constructor(
    readonly numAllNodes: number,
    /** Node name → the reasons it was rejected. */
    readonly nodeReasons: ReadonlyMap<string, readonly string[]>,
  ) {
    super(numAllNodes === 0 ? NO_NODES_AVAILABLE : fitErrorMessage(numAllNodes, nodeReasons.values()));
  }
}
