/**
 * The pod row of `kubectl get pods`: READY, STATUS and RESTARTS computed
 * exactly as printPod in k8s.io/kubernetes/pkg/printers/internalversion does.
 */
import type { ContainerState, ContainerStatus, PodCondition } from 'kubernetes-types/core/v1.js';
import { bool, int, list, optStr, rec, str } from './guards.js';
import { humanDuration, parseTime, timestampSince } from './duration.js';

type Cell = string | number | boolean | null;

/** The parts of a ContainerStatus the printer reads, read defensively. */
type StatusView = Required<Pick<ContainerStatus, 'name' | 'ready' | 'restartCount'>> &
  Pick<ContainerStatus, 'started'> & { state: ContainerState; lastState: ContainerState };

function containerState(v: unknown): ContainerState {
  const o = rec(v);
  const state: ContainerState = {};
  if (o.waiting !== undefined && o.waiting !== null) state.waiting = { reason: str(rec(o.waiting).reason) };
  if (o.running !== undefined && o.running !== null) state.running = {};
  if (o.terminated !== undefined && o.terminated !== null) {
    const t = rec(o.terminated);
    state.terminated = { exitCode: int(t.exitCode), signal: int(t.signal), reason: str(t.reason), finishedAt: optStr(t.finishedAt) };
  }
  return state;
}

function statusView(v: unknown): StatusView {
  const o = rec(v);
  const started = typeof o.started === 'boolean' ? o.started : undefined;
  return {
    name: str(o.name),
    ready: bool(o.ready),
    restartCount: int(o.restartCount),
    started,
    state: containerState(o.state),
    lastState: containerState(o.lastState),
  };
}

function conditions(v: unknown): PodCondition[] {
  return list(v).map((c) => {
    const o = rec(c);
    return { type: str(o.type), status: str(o.status), reason: str(o.reason) };
  });
}

/** Keeps the latest lastState.terminated.finishedAt, as the printer's lastRestartDate. */
function laterFinish(current: number | undefined, s: StatusView): number | undefined {
  const t = s.lastState.terminated;
  if (t === undefined) return current;
  const finished = parseTime(t.finishedAt);
  if (finished === undefined) return current;
  return current === undefined || finished > current ? finished : current;
}

/** A pod's cells: Name, Ready, Status, Restarts, Age, IP, Node, Nominated Node, Readiness Gates. */
export function podCells(obj: object, now: Date): Cell[] {
  const pod = rec(obj);
  const meta = rec(pod.metadata);
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const conds = conditions(status.conditions);

  const phase = str(status.phase);
  let reason = str(status.reason) !== '' ? str(status.reason) : phase;
  if (conds.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  // Sidecars (init containers with restartPolicy Always) count as containers.
  const initSpecs = list(spec.initContainers).map(rec);
  const restartable = new Set(initSpecs.filter((c) => str(c.restartPolicy) === 'Always').map((c) => str(c.name)));
  const totalContainers = list(spec.containers).length + restartable.size;
  let readyContainers = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;

  let initializing = false;
  const initStatuses = list(status.initContainerStatuses).map(statusView);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += c.restartCount;
    lastRestart = laterFinish(lastRestart, c);
    const isSidecar = restartable.has(c.name);
    if (isSidecar) {
      sidecarRestarts += c.restartCount;
      lastSidecarRestart = laterFinish(lastSidecarRestart, c);
    }
    const term = c.state.terminated;
    const waiting = c.state.waiting;
    if (term !== undefined && term.exitCode === 0) continue;
    if (isSidecar && c.started === true) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (term !== undefined) {
      if (str(term.reason) === '') {
        reason = int(term.signal) !== 0 ? `Init:Signal:${int(term.signal)}` : `Init:ExitCode:${term.exitCode}`;
      } else {
        reason = `Init:${str(term.reason)}`;
      }
    } else if (waiting !== undefined && str(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  const initialized = conds.some((c) => c.type === 'Initialized' && c.status === 'True');
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses).map(statusView);
    // Walked backwards so that the first container's reason wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount;
      lastRestart = laterFinish(lastRestart, c);
      const term = c.state.terminated;
      const waiting = c.state.waiting;
      if (waiting !== undefined && str(waiting.reason) !== '') {
        reason = str(waiting.reason);
      } else if (term !== undefined && str(term.reason) !== '') {
        reason = str(term.reason);
      } else if (term !== undefined) {
        reason = int(term.signal) !== 0 ? `Signal:${int(term.signal)}` : `ExitCode:${term.exitCode}`;
      } else if (c.ready && c.state.running !== undefined) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A container that completed while another still runs does not make the pod "Completed".
    if (reason === 'Completed' && hasRunning) {
      reason = conds.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }

  const deleting = meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
  if (deleting && str(status.reason) === 'NodeLost') {
    reason = 'Unknown';
  } else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') {
    reason = 'Terminating';
  }

  const restartsCell = restarts !== 0 && lastRestart !== undefined
    ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`
    : String(restarts);

  const podIPs = list(status.podIPs);
  let podIP = podIPs.length > 0 ? str(rec(podIPs[0]).ip) : str(status.podIP);
  if (podIP === '') podIP = '<none>';
  const nodeName = str(spec.nodeName) !== '' ? str(spec.nodeName) : '<none>';
  const nominated = str(status.nominatedNodeName) !== '' ? str(status.nominatedNodeName) : '<none>';

  let readinessGates = '<none>';
  const gates = list(spec.readinessGates).map((g) => str(rec(g).conditionType));
  if (gates.length > 0) {
    const trueCount = gates.filter((t) => conds.find((c) => c.type === t)?.status === 'True').length;
    readinessGates = `${trueCount}/${gates.length}`;
  }

  return [
    str(meta.name),
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsCell,
    timestampSince(meta.creationTimestamp, now),
    podIP,
    nodeName,
    nominated,
    readinessGates,
  ];
}
