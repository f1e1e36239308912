/**
 * The DefaultTolerationSeconds admission plugin as a pure function: a new
 * pod that does not already tolerate the not-ready / unreachable NoExecute
 * taints gets a toleration of each for a limited time, so it is evicted
 * from a dead node after that time instead of at once or never.
 */
import type { Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { isPlainObject, type KubeObject } from '../../api/object.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

/** --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds (300 s each in Kubernetes). */
export interface DefaultTolerationOptions {
  notReadySeconds?: number;
  unreachableSeconds?: number;
}

export const DEFAULT_TOLERATION_SECONDS = 300;

/** True when the toleration covers `key`:NoExecute the way the admission plugin checks it (empty key or effect match all). */
function coversNoExecute(t: Toleration, key: string): boolean {
  return (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect);
}

/** The pod with the default not-ready/unreachable tolerations added where missing (a new object; the input is not changed). */
export function addDefaultTolerations(pod: Pod, opts: DefaultTolerationOptions = {}): Pod {
  const existing = pod.spec?.tolerations ?? [];
  const add: Toleration[] = [];
  if (!existing.some((t) => coversNoExecute(t, TAINT_NOT_READY))) {
    add.push({ key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: opts.notReadySeconds ?? DEFAULT_TOLERATION_SECONDS });
  }
  if (!existing.some((t) => coversNoExecute(t, TAINT_UNREACHABLE))) {
    add.push({ key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: opts.unreachableSeconds ?? DEFAULT_TOLERATION_SECONDS });
  }
  if (add.length === 0 || pod.spec === undefined) return pod;
  return { ...pod, spec: { ...pod.spec, tolerations: [...existing, ...add] } };
}

/** The admission step on a stored-object-shaped pod: tolerations appended in place of a missing pair. */
export function withDefaultTolerations(obj: KubeObject, opts: DefaultTolerationOptions): KubeObject {
  if (!isPlainObject(obj.spec)) return obj;
  const spec = obj.spec;
  const existing: Toleration[] = Array.isArray(spec.tolerations) ? spec.tolerations.filter(isPlainObject) : [];
  const pod = addDefaultTolerations({ spec: { containers: [], tolerations: existing } }, opts);
  const tolerations = pod.spec?.tolerations ?? [];
  if (tolerations.length !== existing.length) spec.tolerations = tolerations;
  return obj;
}
