/**
 * One sync of a DaemonSet as a pure function (after
 * k8s.io/kubernetes/pkg/controller/daemon: daemon_controller.go manage /
 * podsShouldBeOnNode / updateDaemonSetStatus and update.go rollingUpdate).
 *
 * Revisions: we serve no ControllerRevision kind, so the
 * `controller-revision-hash` label is the template hash alone (what
 * Kubernetes also puts on pods); history cleanup has nothing to do.
 *
 * Placement: like Kubernetes 1.32, new pods are not bound by the
 * controller; they carry a required node affinity `matchFields
 * metadata.name In [<node>]` and the scheduler binds them. That keeps one
 * path for resource, port and readiness checks and gives the same
 * FailedScheduling events as Kubernetes when a node is full.
 */
import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Affinity, Node, Pod } from 'kubernetes-types/core/v1.js';
import { fromLabelSelectorObject } from '../../api/selectors.js';
import { claimObjects } from '../replicaset/claim.js';
import { computeTemplateHash } from '../replicaset/hash.js';
import { byCreation, isPodAvailable, isPodReady, newControllerRef, podFromTemplate } from '../replicaset/pods.js';
import { scaledValue } from '../deployment/util.js';
import { nodeShouldRunDaemonPod, withDaemonTolerations } from './nodes.js';

export const REVISION_HASH_LABEL = 'controller-revision-hash';
const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
/** Most pods a DaemonSet creates or deletes in one sync (Kubernetes' BurstReplicas for daemon sets). */
export const DS_BURST_REPLICAS = 250;

/** What one sync reads. */
export interface DaemonSetSyncInput {
  daemonSet: DaemonSet;
  nodes: readonly Node[];
  /** Pods of the daemon set's namespace. */
  pods: readonly Pod[];
  /** ms since the epoch. */
  now: number;
  /** False while earlier creations/deletions are not yet observed: only status then. */
  expectationsSatisfied?: boolean;
  burst?: number;
}

/** What one sync does. */
export interface DaemonSetSyncResult {
  hash: string;
  adopt: Pod[];
  release: Pod[];
  /** Nodes to create a daemon pod for (burst-limited). */
  createOnNodes: string[];
  /** Pods to delete (burst-limited). */
  delete: Pod[];
  status: DaemonSetStatus;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  /** Sync again after this long (minReadySeconds). */
  requeueAfterMs?: number;
}

/** The hash that labels pods of the current template. */
export function daemonSetHash(ds: DaemonSet): string {
  return computeTemplateHash(ds.spec?.template ?? {}, ds.status?.collisionCount);
}

function templateGeneration(ds: DaemonSet): string | undefined {
  const v = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  return v !== undefined && /^\d+$/.test(v) ? v : undefined;
}

/** IsPodUpdated: the pod carries the current hash (or template generation). */
export function isPodUpdated(pod: Pod, hash: string, generation: string | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  return (hash !== '' && labels[REVISION_HASH_LABEL] === hash) || (generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === generation);
}

/** The node a daemon pod is for: spec.nodeName, else its matchFields metadata.name affinity (GetTargetNodeName). */
export function targetNodeName(pod: Pod): string | undefined {
  if ((pod.spec?.nodeName ?? '') !== '') return pod.spec?.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** ReplaceDaemonSetPodNodeNameNodeAffinity: pin the pod to `nodeName` through required node affinity. */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const a = structuredClone(affinity ?? {});
  const na = a.nodeAffinity ?? {};
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
  a.nodeAffinity = na;
  return a;
}

/** The pod to create for `nodeName`: template + default tolerations + hash label + node affinity. */
export function daemonPod(ds: DaemonSet, nodeName: string, hash: string): Pod {
  const template = structuredClone(ds.spec?.template ?? {});
  const spec = template.spec ?? { containers: [] };
  spec.tolerations = withDaemonTolerations(spec);
  spec.affinity = pinToNode(spec.affinity, nodeName);
  template.spec = spec;
  const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}) };
  const gen = templateGeneration(ds);
  if (gen !== undefined) labels[TEMPLATE_GENERATION_LABEL] = gen;
  labels[REVISION_HASH_LABEL] = hash;
  template.metadata = { ...template.metadata, labels };
  return podFromTemplate(template, ds.metadata?.namespace ?? '', ds.metadata?.name ?? '', newControllerRef(ds, 'apps/v1', 'DaemonSet'));
}

/** Scheduled first, then older, then by name (podByCreationTimestampAndPhase). */
function byCreationAndPhase(a: Pod, b: Pod): number {
  const sa = (a.spec?.nodeName ?? '') !== '';
  const sb = (b.spec?.nodeName ?? '') !== '';
  if (sa !== sb) return sa ? -1 : 1;
  return byCreation(a, b);
}

function isTerminal(p: Pod): boolean {
  return p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
}

/** maxSurge and maxUnavailable for `desired` scheduled nodes; both rounded up, never both zero. */
export function daemonSetBudgets(ds: DaemonSet, desired: number): { maxSurge: number; maxUnavailable: number } {
  const strategy = ds.spec?.updateStrategy;
  const ru = strategy?.rollingUpdate;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate' || ru === undefined) return { maxSurge: 0, maxUnavailable: 0 };
  const maxSurge = ru.maxSurge === undefined ? 0 : scaledValue(ru.maxSurge, desired, true);
  let maxUnavailable = scaledValue(ru.maxUnavailable ?? 1, desired, true);
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

function allowsSurge(ds: DaemonSet): boolean {
  return daemonSetBudgets(ds, 1).maxSurge !== 0;
}

/** Decides one sync of `ds`: claiming, pods to create and delete, and the status. */
export function syncDaemonSet(input: DaemonSetSyncInput): DaemonSetSyncResult {
  const ds = input.daemonSet;
  const now = input.now;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const hash = daemonSetHash(ds);
  const generation = templateGeneration(ds);
  const claim = claimObjects(
    {
      uid: ds.metadata?.uid ?? '',
      namespace: ds.metadata?.namespace ?? '',
      deleting: ds.metadata?.deletionTimestamp !== undefined,
      selector: fromLabelSelectorObject(ds.spec?.selector),
    },
    input.pods,
  );
  const claimed = [...claim.owned, ...claim.adopt];
  const nodeToPods = new Map<string, Pod[]>();
  for (const pod of claimed) {
    if (isTerminal(pod) && pod.metadata?.deletionTimestamp !== undefined) continue;
    const n = targetNodeName(pod);
    if (n === undefined) continue;
    const list = nodeToPods.get(n) ?? [];
    list.push(pod);
    nodeToPods.set(n, list);
  }
  const result: DaemonSetSyncResult = {
    hash, adopt: claim.adopt, release: claim.release, createOnNodes: [], delete: [],
    status: computeStatus(ds, input.nodes, nodeToPods, hash, generation, now, false), events: [],
  };
  const ready = result.status.numberReady;
  if (minReady > 0 && ready !== result.status.numberAvailable) result.requeueAfterMs = minReady * 1000;
  if (ds.metadata?.deletionTimestamp !== undefined || input.expectationsSatisfied === false) return result;
  result.status.observedGeneration = ds.metadata?.generation ?? 0;

  const burst = input.burst ?? DS_BURST_REPLICAS;
  // manage
  const create: string[] = [];
  const del: Pod[] = [];
  const decisions = new Map<string, ReturnType<typeof nodeShouldRunDaemonPod>>();
  for (const node of input.nodes) {
    const name = node.metadata?.name ?? '';
    const decision = nodeShouldRunDaemonPod(node, ds);
    decisions.set(name, decision);
    const pods = nodeToPods.get(name);
    if (decision.shouldRun && pods === undefined) {
      create.push(name);
    } else if (decision.shouldContinueRunning) {
      const running: Pod[] = [];
      for (const pod of pods ?? []) {
        if (pod.metadata?.deletionTimestamp !== undefined) continue;
        if (pod.status?.phase === 'Failed') {
          result.events.push({ type: 'Warning', reason: 'FailedDaemonPod', message: `Found failed daemon pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''} on node ${name}, will try to kill it` });
          del.push(pod);
        } else if (pod.status?.phase === 'Succeeded') {
          del.push(pod);
        } else {
          running.push(pod);
        }
      }
      if (!allowsSurge(ds)) {
        if (running.length > 1) del.push(...running.sort(byCreationAndPhase).slice(1));
        continue;
      }
      if (running.length <= 1) {
        if (running.length === 0 && decision.shouldRun) create.push(name);
        continue;
      }
      // Surging: keep at most the oldest new pod and the oldest old pod, and the old one only while the new one is not yet available.
      let oldestNew: Pod | undefined;
      let oldestOld: Pod | undefined;
      for (const pod of running.sort(byCreationAndPhase)) {
        if (pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash) {
          if (oldestNew === undefined) {
            oldestNew = pod;
            continue;
          }
        } else if (oldestOld === undefined) {
          oldestOld = pod;
          continue;
        }
        del.push(pod);
      }
      if (oldestNew !== undefined && oldestOld !== undefined) {
        if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReady, now)) del.push(oldestOld);
      }
    } else if (pods !== undefined) {
      for (const pod of pods) if (pod.metadata?.deletionTimestamp === undefined) del.push(pod);
    }
  }
  // Unscheduled pods aimed at nodes that no longer exist would never be scheduled nor garbage-collected.
  const known = new Set(input.nodes.map((n) => n.metadata?.name ?? ''));
  for (const [name, pods] of nodeToPods) {
    if (known.has(name)) continue;
    for (const pod of pods) if ((pod.spec?.nodeName ?? '') === '') del.push(pod);
  }
  if (create.length > 0 || del.length > 0) {
    result.createOnNodes = create.slice(0, burst);
    result.delete = del.slice(0, burst);
    return result;
  }
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const upd = rollingUpdate(ds, input.nodes, nodeToPods, decisions, hash, generation, now);
    result.createOnNodes = upd.create.slice(0, burst);
    result.delete = upd.delete.slice(0, burst);
  }
  return result;
}

/** findUpdatedPodsOnNode: at most one new and one old non-deleted pod, else not ok. */
function updatedPodsOnNode(pods: readonly Pod[], hash: string, generation: string | undefined): { ok: boolean; newPod?: Pod; oldPod?: Pod } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp !== undefined) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod !== undefined) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod !== undefined) return { ok: false };
      oldPod = pod;
    }
  }
  return { ok: true, newPod, oldPod };
}

function rollingUpdate(
  ds: DaemonSet,
  nodes: readonly Node[],
  nodeToPodsIn: ReadonlyMap<string, Pod[]>,
  decisions: ReadonlyMap<string, { shouldRun: boolean }>,
  hash: string,
  generation: string | undefined,
  now: number,
): { create: string[]; delete: Pod[] } {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const nodeToPods = new Map(nodeToPodsIn);
  let desired = 0;
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    if (!decisions.get(name)?.shouldRun) continue;
    desired++;
    if (!nodeToPods.has(name)) nodeToPods.set(name, []);
  }
  const { maxSurge, maxUnavailable } = daemonSetBudgets(ds, desired);
  const available = (p: Pod) => isPodAvailable(p, minReady, now);

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const replacements: Pod[] = [];
    const candidates: Pod[] = [];
    for (const [, pods] of [...nodeToPods].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const { ok, newPod, oldPod } = updatedPodsOnNode(pods, hash, generation);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((oldPod === undefined && newPod === undefined) || (oldPod !== undefined && newPod !== undefined)) {
        numUnavailable++;
      } else if (newPod !== undefined) {
        if (!available(newPod)) numUnavailable++;
      } else if (oldPod !== undefined) {
        if (!available(oldPod)) {
          replacements.push(oldPod);
          numUnavailable++;
        } else if (numUnavailable < maxUnavailable) {
          candidates.push(oldPod);
        }
      }
    }
    const remaining = Math.min(Math.max(maxUnavailable - numUnavailable, 0), candidates.length);
    return { create: [], delete: [...replacements, ...candidates.slice(0, remaining)] };
  }

  const toDelete: Pod[] = [];
  const shouldNotRun: Pod[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const [name, pods] of [...nodeToPods].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { ok, newPod, oldPod } = updatedPodsOnNode(pods, hash, generation);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod !== undefined) {
      if (available(oldPod)) numAvailable++;
    } else if (newPod !== undefined && available(newPod)) {
      numAvailable++;
    }
    if (oldPod === undefined) continue;
    const shouldRun = decisions.get(name)?.shouldRun === true;
    if (newPod === undefined) {
      if (!available(oldPod)) {
        if (!shouldRun) toDelete.push(oldPod);
        else allowedNodes.push(name);
      } else if (!shouldRun) {
        shouldNotRun.push(oldPod);
      } else if (numSurge < maxSurge) {
        candidateNodes.push(name);
      }
      continue;
    }
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    toDelete.push(oldPod);
  }
  const deletable = Math.min(Math.max(numAvailable - desired, 0), shouldNotRun.length);
  toDelete.push(...shouldNotRun.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(maxSurge - numSurge, 0), candidateNodes.length);
  return { create: [...allowedNodes, ...candidateNodes.slice(0, remainingSurge)], delete: toDelete };
}

/** updateDaemonSetStatus's counts; observedGeneration is kept unless `observe`. */
function computeStatus(
  ds: DaemonSet,
  nodes: readonly Node[],
  nodeToPods: ReadonlyMap<string, Pod[]>,
  hash: string,
  generation: string | undefined,
  now: number,
  observe: boolean,
): DaemonSetStatus {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = nodeToPods.get(node.metadata?.name ?? '') ?? [];
    const scheduled = pods.length > 0;
    if (!shouldRun) {
      if (scheduled) misscheduled++;
      continue;
    }
    desired++;
    if (!scheduled) continue;
    current++;
    const pod = [...pods].sort(byCreationAndPhase)[0];
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
    if (isPodUpdated(pod, hash, generation)) updated++;
  }
  const status: DaemonSetStatus = {
    currentNumberScheduled: current,
    desiredNumberScheduled: desired,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    numberAvailable: available,
    numberUnavailable: desired - available,
    updatedNumberScheduled: updated,
    observedGeneration: observe ? (ds.metadata?.generation ?? 0) : (ds.status?.observedGeneration ?? 0),
  };
  if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions !== undefined) status.conditions = ds.status.conditions;
  return status;
}

/** True when writing `next` changes the stored status (storeDaemonSetStatus's check). */
export function daemonSetStatusChanged(old: DaemonSetStatus | undefined, next: DaemonSetStatus): boolean {
  const keys = [
    'currentNumberScheduled', 'desiredNumberScheduled', 'numberMisscheduled', 'numberReady', 'numberAvailable',
    'numberUnavailable', 'updatedNumberScheduled', 'observedGeneration',
  ] as const;
  return keys.some((k) => (old?.[k] ?? 0) !== (next[k] ?? 0));
}
