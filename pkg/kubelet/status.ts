/**
 * The pod status the kubelet reports, computed from the spec, the runtime's
 * containers and the probe results as the kubelet's generateAPIPodStatus
 * does: phase, conditions with Kubernetes' reasons, container statuses.
 */
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { groupObserved, nextInitContainer, readySandbox, type ObservedPod } from './actions.js';
import type { ContainerInfo } from './runtime/types.js';

/** Why a container is not running (image pull, config error, back-off), kept by the kubelet per container name. */
export interface WaitingReason {
  reason: string;
  message?: string;
}

export interface StatusContext {
  now: Date;
  nodeIP: string;
  /** Prefix of container ids ('docker' → 'docker://<id>'). */
  runtimeType: string;
  /** Readiness probe result of a container id (undefined: no readiness probe). */
  readiness?(containerId: string): boolean | undefined;
  /** Startup probe result (undefined: no startup probe). */
  startup?(containerId: string): boolean | undefined;
  /** Waiting reasons by container name (for containers not running). */
  waiting?: ReadonlyMap<string, WaitingReason>;
}

/** RFC 3339 with seconds, as the API writes times. */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function terminatedState(c: ContainerInfo, runtimeType: string): ContainerState {
  const exitCode = c.exitCode ?? 0;
  const reason = exitCode === 0 ? 'Completed' : c.reason === 'OOMKilled' ? 'OOMKilled' : 'Error';
  return {
    terminated: {
      exitCode,
      reason,
      ...(c.message ? { message: c.message } : {}),
      startedAt: timestamp(c.startedAt ?? c.createdAt),
      finishedAt: timestamp(c.finishedAt ?? c.startedAt ?? c.createdAt),
      containerID: `${runtimeType}://${c.id}`,
    },
  };
}

function containerStatus(
  spec: Container,
  instances: ContainerInfo[] | undefined,
  kind: 'init' | 'regular',
  defaultWaiting: string,
  ctx: StatusContext,
): ContainerStatus {
  const [latest, previous] = instances ?? [];
  const s: ContainerStatus = { name: spec.name, image: spec.image ?? '', imageID: '', ready: false, restartCount: 0, started: false, state: {}, lastState: {} };
  const waiting = ctx.waiting?.get(spec.name);
  if (!latest) {
    s.state = { waiting: waiting ? { ...waiting } : { reason: defaultWaiting } };
    return s;
  }
  s.containerID = `${ctx.runtimeType}://${latest.id}`;
  s.imageID = latest.imageId;
  s.restartCount = latest.restartCount;
  if (latest.state === 'running') {
    s.state = { running: { startedAt: timestamp(latest.startedAt ?? latest.createdAt) } };
    if (previous?.state === 'exited') s.lastState = terminatedState(previous, ctx.runtimeType);
    if (kind === 'init') {
      s.started = true;
    } else {
      s.started = ctx.startup?.(latest.id) ?? true;
      s.ready = s.started && (ctx.readiness?.(latest.id) ?? true);
    }
  } else if (latest.state === 'exited') {
    if (waiting) {
      // Waiting to come back (back-off, image, config): what ended is the last state.
      s.state = { waiting: { ...waiting } };
      s.lastState = terminatedState(latest, ctx.runtimeType);
    } else {
      s.state = terminatedState(latest, ctx.runtimeType);
      if (previous?.state === 'exited') s.lastState = terminatedState(previous, ctx.runtimeType);
    }
    if (kind === 'init') s.ready = latest.exitCode === 0;
  } else {
    s.state = { waiting: waiting ? { ...waiting } : { reason: defaultWaiting } };
    if (previous?.state === 'exited') s.lastState = terminatedState(previous, ctx.runtimeType);
  }
  return s;
}

/** Phase from container statuses, as the kubelet's getPhase. */
export function podPhase(pod: Pod, init: ContainerStatus[], regular: ContainerStatus[], initDone: boolean): PodStatus['phase'] {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (!initDone) {
    const failedInit = init.some((s) => s.state?.terminated && s.state.terminated.exitCode !== 0) && init.every((s) => !s.state?.running);
    if (failedInit && policy === 'Never') return 'Failed';
    return 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of regular) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function qosClass(pod: Pod): PodStatus['qosClass'] {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      const l = lim[r];
      const q = req[r] ?? l;
      if (q !== undefined || l !== undefined) any = true;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function condition(type: string, ok: boolean, reason: string | undefined, message: string | undefined, old: PodCondition[] | undefined, now: Date): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = old?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : timestamp(now) };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

/** The status to write for `pod` given what the runtime reports. */
export function computePodStatus(pod: Pod, observed: ContainerInfo[] | ObservedPod, ctx: StatusContext): PodStatus {
  const o = Array.isArray(observed) ? groupObserved(observed) : observed;
  const old = pod.status ?? {};
  const inits = pod.spec?.initContainers ?? [];
  const containers = pod.spec?.containers ?? [];
  const defaultWaiting = inits.length > 0 ? 'PodInitializing' : 'ContainerCreating';
  const initStatuses = inits.map((c) => containerStatus(c, o.init.get(c.name), 'init', defaultWaiting, ctx));
  const statuses = containers.map((c) => containerStatus(c, o.regular.get(c.name), 'regular', defaultWaiting, ctx));
  const initDone = nextInitContainer(pod, o).done;

  let phase = podPhase(pod, initStatuses, statuses, initDone);
  // A finished pod stays finished.
  if (old.phase === 'Succeeded' || old.phase === 'Failed') phase = old.phase;

  const sandbox = readySandbox(o);
  const hostNetwork = pod.spec?.hostNetwork === true;
  const podIP = hostNetwork ? ctx.nodeIP : (o.sandboxes[0]?.ip ?? old.podIP);

  const oldConds = old.conditions;
  const now = ctx.now;
  const conds: PodCondition[] = [];
  conds.push(condition('PodReadyToStartContainers', sandbox !== undefined, undefined, undefined, oldConds, now));
  const incomplete = inits.filter((_c, i) => !initDone && initStatuses[i].state?.terminated?.exitCode !== 0).map((c) => c.name);
  if (phase === 'Succeeded') conds.push(condition('Initialized', true, 'PodCompleted', undefined, oldConds, now));
  else conds.push(condition('Initialized', initDone, initDone ? undefined : 'ContainersNotInitialized', initDone ? undefined : `containers with incomplete status: [${incomplete.join(' ')}]`, oldConds, now));
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  let ready = unready.length === 0 && initDone;
  let reason: string | undefined;
  let message: string | undefined;
  if (phase === 'Succeeded') {
    ready = false;
    reason = 'PodCompleted';
  } else if (!initDone) {
    ready = false;
    reason = 'ContainersNotInitialized';
    message = `containers with incomplete status: [${incomplete.join(' ')}]`;
  } else if (!ready) {
    reason = 'ContainersNotReady';
    message = `containers with unready status: [${unready.join(' ')}]`;
  }
  conds.push(condition('Ready', ready, reason, message, oldConds, now));
  conds.push(condition('ContainersReady', ready, reason, message, oldConds, now));
  const scheduled = oldConds?.find((c) => c.type === 'PodScheduled');
  conds.push(scheduled ? { ...scheduled } : condition('PodScheduled', true, undefined, undefined, oldConds, now));
  // Conditions others own (readiness gates, DisruptionTarget) are kept.
  for (const c of oldConds ?? []) if (!KUBELET_CONDITIONS.has(c.type)) conds.push({ ...c });

  const status: PodStatus = {
    phase,
    conditions: conds,
    hostIP: ctx.nodeIP,
    hostIPs: [{ ip: ctx.nodeIP }],
    startTime: old.startTime ?? timestamp(now),
    containerStatuses: statuses,
    qosClass: qosClass(pod),
  };
  if (podIP) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  }
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  return status;
}
