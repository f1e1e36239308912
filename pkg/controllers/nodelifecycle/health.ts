/**
 * Node health as pure functions, after the node lifecycle controller of
 * Kubernetes: when a node last showed signs of life, the conditions a
 * silent node gets, and the taints that follow from a node's conditions
 * (TaintNodesByCondition for NoSchedule, taint-based eviction for
 * NoExecute).
 */
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../apiserver/admission/default-tolerations.js';

export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** Conditions a silent node has set to Unknown, besides Ready (as Kubernetes' remainingNodeConditionTypes). */
const OTHER_CONDITIONS = ['MemoryPressure', 'DiskPressure', 'PIDPressure'];

/** condition type → status → NoSchedule taint key (nodeConditionToTaintKeyStatusMap). */
const NO_SCHEDULE_BY_CONDITION = new Map<string, Map<string, string>>([
  ['Ready', new Map([['False', TAINT_NOT_READY], ['Unknown', TAINT_UNREACHABLE]])],
  ['MemoryPressure', new Map([['True', TAINT_MEMORY_PRESSURE]])],
  ['DiskPressure', new Map([['True', TAINT_DISK_PRESSURE]])],
  ['NetworkUnavailable', new Map([['True', TAINT_NETWORK_UNAVAILABLE]])],
  ['PIDPressure', new Map([['True', TAINT_PID_PRESSURE]])],
]);

/** The taints this controller owns; others (user taints, kubelet's) are left alone. */
const MANAGED = new Set([
  `${TAINT_NOT_READY}:NoExecute`,
  `${TAINT_UNREACHABLE}:NoExecute`,
  ...[...NO_SCHEDULE_BY_CONDITION.values()].flatMap((m) => [...m.values()].map((k) => `${k}:NoSchedule`)),
  `${TAINT_UNSCHEDULABLE}:NoSchedule`,
]);

function parseTime(s: string | undefined | null): number | undefined {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The node's Ready condition, if it has one. */
export function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

/** The latest heartbeat of a node in ms: its Lease's renewTime or its Ready condition's lastHeartbeatTime, whichever is later. */
export function lastHeartbeatMs(node: Node, lease: Lease | undefined): number | undefined {
  const a = parseTime(lease?.spec?.renewTime);
  const b = parseTime(readyCondition(node)?.lastHeartbeatTime);
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/**
 * Conditions of a node that stopped posting status: Ready and the pressure
 * conditions become Unknown (kept heartbeat, new transition time). Returns
 * undefined when they already are.
 */
export function unknownConditions(node: Node, nowIso: string): NodeCondition[] | undefined {
  const conditions = [...(node.status?.conditions ?? [])];
  let changed = false;
  for (const type of ['Ready', ...OTHER_CONDITIONS]) {
    const i = conditions.findIndex((c) => c.type === type);
    if (i < 0) {
      conditions.push({
        type,
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: node.metadata?.creationTimestamp,
        lastTransitionTime: nowIso,
      });
      changed = true;
    } else if (conditions[i].status !== 'Unknown') {
      conditions[i] = { ...conditions[i], status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: nowIso };
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}

const taintId = (t: Pick<Taint, 'key' | 'effect'>): string => `${t.key}:${t.effect}`;

/** The managed taints a node's conditions call for (without timeAdded). */
export function conditionTaints(node: Node): Taint[] {
  const out: Taint[] = [];
  const ready = readyCondition(node);
  if (ready?.status === 'False') out.push({ key: TAINT_NOT_READY, effect: 'NoExecute' });
  if (ready?.status === 'Unknown') out.push({ key: TAINT_UNREACHABLE, effect: 'NoExecute' });
  for (const c of node.status?.conditions ?? []) {
    const key = NO_SCHEDULE_BY_CONDITION.get(c.type)?.get(c.status);
    if (key !== undefined) out.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable === true) out.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return out;
}

/**
 * The node's taints with the managed ones brought in line with its
 * conditions: missing ones added (NoExecute with timeAdded = now), stale
 * ones removed, others untouched. Undefined when nothing changes.
 */
export function reconcileTaints(node: Node, nowIso: string): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const want = conditionTaints(node);
  const wantIds = new Set(want.map(taintId));
  const kept = current.filter((t) => !MANAGED.has(taintId(t)) || wantIds.has(taintId(t)));
  const have = new Set(kept.map(taintId));
  const added = want.filter((t) => !have.has(taintId(t))).map((t) => (t.effect === 'NoExecute' ? { ...t, timeAdded: nowIso } : t));
  if (added.length === 0 && kept.length === current.length) return undefined;
  return [...kept, ...added];
}
