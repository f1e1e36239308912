/**
 * What the kubelet must do to a pod, as kuberuntime's computePodActions
 * decides it: a pure function of the pod spec, the containers the runtime
 * reports and the probe/back-off state.
 */
import { createHash } from 'node:crypto';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { ContainerInfo } from './runtime/types.js';

/** JSON with object keys sorted and null/undefined members dropped, so equal values give equal strings. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = { ...v };
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined && o[k] !== null)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * Hash of the container fields whose change needs a new container. As in
 * Kubernetes (HashContainer), everything but resources, which may be resized
 * in place; in practice only `image` of a pod's container is mutable.
 */
export function containerHash(c: Container): string {
  const { resources: _resources, ...rest } = c;
  return createHash('sha256').update(stableStringify(rest)).digest('hex').slice(0, 8);
}

/** The back-off key of a container (a changed spec starts a fresh back-off). */
export function backoffKey(podUid: string, c: Container): string {
  return `${podUid}/${c.name}/${containerHash(c)}`;
}

/** The runtime's view of one pod, newest first. */
export interface ObservedPod {
  sandboxes: ContainerInfo[];
  /** Instances of each init container, newest first. */
  init: Map<string, ContainerInfo[]>;
  /** Instances of each app container, newest first. */
  regular: Map<string, ContainerInfo[]>;
}

const newestFirst = (a: ContainerInfo, b: ContainerInfo): number => b.createdAt.getTime() - a.createdAt.getTime();

/** Groups a pod's runtime containers by kind and name. */
export function groupObserved(observed: ContainerInfo[]): ObservedPod {
  const sandboxes = observed.filter((c) => c.type === 'podsandbox').sort(newestFirst);
  const init = new Map<string, ContainerInfo[]>();
  const regular = new Map<string, ContainerInfo[]>();
  for (const c of [...observed].sort(newestFirst)) {
    if (c.type !== 'container') continue;
    const m = c.kind === 'init' ? init : regular;
    const list = m.get(c.name) ?? [];
    list.push(c);
    m.set(c.name, list);
  }
  return { sandboxes, init, regular };
}

/** The running sandbox, if the newest one runs. */
export function readySandbox(o: ObservedPod): ContainerInfo | undefined {
  const s = o.sandboxes[0];
  return s && s.state === 'running' ? s : undefined;
}

export interface ContainerToStart {
  name: string;
  kind: 'init' | 'regular';
  /** Index in spec.containers / spec.initContainers. */
  index: number;
  restartCount: number;
}

export interface ContainerToKill {
  id: string;
  name: string;
  /** Event message (Killing). */
  message: string;
}

export interface BackedOff {
  name: string;
  kind: 'init' | 'regular';
  remainingMs: number;
  delayMs: number;
}

export interface PodActions {
  /** Stop every running container and the sandbox. */
  killPod: boolean;
  createSandbox: boolean;
  /** The running sandbox to use when not creating one. */
  sandboxId?: string;
  /** Containers to start, in order (at most one init container). */
  toStart: ContainerToStart[];
  toKill: ContainerToKill[];
  /** Containers that should start but are in CrashLoopBackOff. */
  backOff: BackedOff[];
}

export interface ActionContext {
  nowMs: number;
  /** Milliseconds of restart back-off left for a container that finished at finishedAtMs (0: may start). */
  backoffRemaining(key: string, finishedAtMs: number): number;
  /** Current back-off delay of a key (for messages). */
  backoffDelay(key: string): number;
  /** Container ids whose liveness or startup probe has failed. */
  unhealthy?: ReadonlyMap<string, 'liveness' | 'startup'>;
}

type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

function restartPolicy(pod: Pod): RestartPolicy {
  const p = pod.spec?.restartPolicy;
  return p === 'OnFailure' || p === 'Never' ? p : 'Always';
}

function shouldRestart(latest: ContainerInfo | undefined, policy: RestartPolicy): boolean {
  if (!latest) return true;
  if (latest.state === 'running') return false;
  if (latest.state !== 'exited') return true;
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return latest.exitCode !== 0;
  return true;
}

const succeeded = (c: ContainerInfo | undefined): boolean => c?.state === 'exited' && c.exitCode === 0;

/** Next init container to run: done, wait (one is running), or start `index` (failed: its last run failed). */
export function nextInitContainer(pod: Pod, o: ObservedPod): { done: true } | { done: false; index?: number; failed?: boolean } {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return { done: true };
  // App containers exist: initialisation finished before (e.g. the kubelet restarted, old init containers removed).
  for (const list of o.regular.values()) if (list.length > 0) return { done: true };
  for (let i = 0; i < inits.length; i++) {
    const latest = o.init.get(inits[i].name)?.[0];
    if (!latest) return { done: false, index: i };
    if (latest.state === 'running' || latest.state === 'created') return { done: false };
    if (succeeded(latest)) continue;
    return { done: false, index: i, failed: true };
  }
  return { done: true };
}

/** Decides the pod's next steps. */
export function computePodActions(pod: Pod, observed: ContainerInfo[], ctx: ActionContext): PodActions {
  const uid = pod.metadata?.uid ?? '';
  const policy = restartPolicy(pod);
  const o = groupObserved(observed);
  const sandbox = readySandbox(o);
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const actions: PodActions = { killPod: false, createSandbox: false, toStart: [], toKill: [], backOff: [] };
  const latestOf = (kind: 'init' | 'regular', name: string) => (kind === 'init' ? o.init : o.regular).get(name)?.[0];
  const restartCountFor = (kind: 'init' | 'regular', name: string) => {
    const l = latestOf(kind, name);
    return l ? l.restartCount + 1 : 0;
  };
  /** Start a container, unless it died recently and is backing off. */
  const start = (c: Container, kind: 'init' | 'regular', index: number): void => {
    const latest = latestOf(kind, c.name);
    if (latest?.state === 'exited') {
      const key = backoffKey(uid, c);
      const remainingMs = ctx.backoffRemaining(key, (latest.finishedAt ?? latest.createdAt).getTime());
      if (remainingMs > 0) {
        actions.backOff.push({ name: c.name, kind, remainingMs, delayMs: ctx.backoffDelay(key) });
        return;
      }
    }
    actions.toStart.push({ name: c.name, kind, index, restartCount: restartCountFor(kind, c.name) });
  };

  if (!sandbox) {
    // A new sandbox restarts the pod from scratch; whatever still runs of the old one goes.
    actions.killPod = observed.some((c) => c.state === 'running');
    const everCreated = o.init.size + o.regular.size > 0;
    if (policy === 'Never' && everCreated) return actions;
    const wanted = containers.map((c, i) => ({ c, i })).filter(({ c }) => !(policy === 'OnFailure' && succeeded(latestOf('regular', c.name))));
    if (wanted.length === 0) return actions;
    actions.createSandbox = true;
    if (inits.length > 0) start(inits[0], 'init', 0);
    else for (const { c, i } of wanted) start(c, 'regular', i);
    return actions;
  }
  actions.sandboxId = sandbox.id;

  const init = nextInitContainer(pod, o);
  if (!init.done) {
    if (init.index !== undefined) {
      if (init.failed && policy === 'Never') actions.killPod = true;
      else start(inits[init.index], 'init', init.index);
    }
    return actions;
  }

  let keep = 0;
  containers.forEach((c, i) => {
    const latest = latestOf('regular', c.name);
    if (!latest || latest.state !== 'running') {
      if (shouldRestart(latest, policy)) start(c, 'regular', i);
      return;
    }
    let message: string | undefined;
    if (latest.specHash !== containerHash(c)) message = `Container ${c.name} definition changed, will be restarted`;
    else if (ctx.unhealthy?.get(latest.id) === 'liveness') message = `Container ${c.name} failed liveness probe, will be restarted`;
    else if (ctx.unhealthy?.get(latest.id) === 'startup') message = `Container ${c.name} failed startup probe, will be restarted`;
    if (message === undefined) {
      keep++;
      return;
    }
    actions.toKill.push({ id: latest.id, name: c.name, message });
    // A killed container comes back at once (it did not crash), unless the policy says never.
    if (policy !== 'Never') actions.toStart.push({ name: c.name, kind: 'regular', index: i, restartCount: latest.restartCount + 1 });
  });
  if (keep === 0 && actions.toStart.length === 0 && actions.backOff.length === 0) actions.killPod = true;
  return actions;
}
