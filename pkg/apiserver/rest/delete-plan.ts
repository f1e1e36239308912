/**
 * What a DELETE does to an object, as Kubernetes decides it: remove it now,
 * or mark it (deletionTimestamp, grace period, propagation finalizers) and
 * let its node or a controller finish the job.
 */
import { cloneJson, isPlainObject, type KubeObject } from '../../api/object.js';
import type { ResourceType } from '../../api/registry.js';
import { errors } from '../errors.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type DeletionPlan = { type: 'now' } | { type: 'mark'; object: KubeObject } | { type: 'unchanged' };

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

/** Reads DeleteOptions from a request body and query, rejecting bad values. */
export function parseDeleteOptions(body: unknown, query: (k: string) => string | undefined): DeleteOptions {
  const o: DeleteOptions = {};
  const src: Record<string, unknown> = isPlainObject(body) ? body : {};
  const grace = src.gracePeriodSeconds ?? query('gracePeriodSeconds');
  if (grace !== undefined && grace !== null) {
    const n = typeof grace === 'number' ? grace : Number(grace);
    if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`invalid gracePeriodSeconds: ${String(grace)}`);
    o.gracePeriodSeconds = n;
  }
  const policy = src.propagationPolicy ?? query('propagationPolicy');
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Foreground' && policy !== 'Background' && policy !== 'Orphan') {
      throw errors.badRequest(`propagationPolicy: Unsupported value: "${String(policy)}": supported values: "Foreground", "Background", "Orphan"`);
    }
    o.propagationPolicy = policy;
  }
  const orphan = src.orphanDependents ?? query('orphanDependents');
  if (orphan !== undefined && orphan !== null) o.orphanDependents = orphan === true || orphan === 'true';
  if (isPlainObject(src.preconditions)) {
    const p = src.preconditions;
    o.preconditions = {};
    if (typeof p.uid === 'string') o.preconditions.uid = p.uid;
    if (typeof p.resourceVersion === 'string') o.preconditions.resourceVersion = p.resourceVersion;
  }
  return o;
}

/** True while something (a finalizer, a namespace's spec.finalizers) still holds the object. */
export function finalizersPending(r: ResourceType, o: KubeObject): boolean {
  if (o.metadata.finalizers?.length) return true;
  if (r.kind === 'Namespace' && isPlainObject(o.spec) && Array.isArray(o.spec.finalizers) && o.spec.finalizers.length > 0) return true;
  return false;
}

function podGraceApplies(o: KubeObject): boolean {
  const spec = isPlainObject(o.spec) ? o.spec : {};
  const status = isPlainObject(o.status) ? o.status : {};
  const bound = typeof spec.nodeName === 'string' && spec.nodeName !== '';
  const finished = status.phase === 'Succeeded' || status.phase === 'Failed';
  return bound && !finished;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Decides what deleting `old` means. */
export function deletionPlan(r: ResourceType, old: KubeObject, options: DeleteOptions, now: Date): DeletionPlan {
  const next = cloneJson(old);
  const meta = next.metadata;
  const finalizers = new Set(meta.finalizers ?? []);
  const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : undefined);
  if (policy === 'Foreground') finalizers.add(FOREGROUND);
  if (policy === 'Orphan') finalizers.add(ORPHAN);
  const addedFinalizer = finalizers.size !== (meta.finalizers?.length ?? 0);
  if (finalizers.size > 0) meta.finalizers = [...finalizers];

  let grace = 0;
  if (r.kind === 'Pod' && podGraceApplies(old)) {
    const spec = isPlainObject(old.spec) ? old.spec : {};
    const specGrace = typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 30;
    grace = options.gracePeriodSeconds ?? specGrace;
  }

  if (meta.deletionTimestamp) {
    // Already being deleted: a delete may only shorten the grace period or add finalizers.
    const current = meta.deletionGracePeriodSeconds ?? 0;
    const shorten = r.kind === 'Pod' && options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds < current;
    if (shorten) {
      grace = options.gracePeriodSeconds ?? 0;
      if (grace === 0 && !finalizersPending(r, next)) return { type: 'now' };
      meta.deletionGracePeriodSeconds = grace;
      meta.deletionTimestamp = timestamp(new Date(now.getTime() + grace * 1000));
      return { type: 'mark', object: next };
    }
    return addedFinalizer ? { type: 'mark', object: next } : { type: 'unchanged' };
  }

  if (grace === 0 && !finalizersPending(r, next)) return { type: 'now' };
  meta.deletionTimestamp = timestamp(new Date(now.getTime() + grace * 1000));
  meta.deletionGracePeriodSeconds = grace;
  if (r.kind === 'Namespace') {
    const status = isPlainObject(next.status) ? next.status : {};
    status.phase = 'Terminating';
    next.status = status;
  }
  return { type: 'mark', object: next };
}
