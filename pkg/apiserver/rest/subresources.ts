/**
 * Subresources with their own shapes: scale (autoscaling/v1 Scale),
 * pods/binding, pods/eviction, namespaces/finalize.
 */
import { cloneJson, isPlainObject, type KubeObject } from '../../api/object.js';
import type { ResourceType } from '../../api/registry.js';
import { fromLabelSelectorObject, labelSelectorToString } from '../../api/selectors.js';
import { errors } from '../errors.js';
import type { Rest, WriteOptions, WriteResult } from './rest.js';
import { applyPatch, type PatchType } from './patch.js';
import type { DeleteOptions } from './delete-plan.js';

function specOf(o: KubeObject): Record<string, unknown> {
  return isPlainObject(o.spec) ? o.spec : {};
}

/** The Scale view of a scalable object. */
export function toScale(o: KubeObject): KubeObject {
  const spec = specOf(o);
  const status = isPlainObject(o.status) ? o.status : {};
  let selector = '';
  if (isPlainObject(spec.selector)) {
    try {
      selector = labelSelectorToString(fromLabelSelectorObject(spec.selector));
    } catch {
      selector = '';
    }
  }
  const m = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 0 },
    status: { replicas: typeof status.replicas === 'number' ? status.replicas : 0, selector },
  };
}

function replicasOf(scale: KubeObject, name: string): number {
  const spec = isPlainObject(scale.spec) ? scale.spec : {};
  const n = spec.replicas;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw errors.invalid({ group: 'autoscaling', kind: 'Scale' }, name, [
      { reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(n ?? null)}: must be greater than or equal to 0` },
    ]);
  }
  return n;
}

async function writeScale(rest: Rest, r: ResourceType, o: KubeObject, scale: KubeObject, opts: WriteOptions): Promise<KubeObject> {
  const name = o.metadata.name ?? '';
  const replicas = replicasOf(scale, name);
  const rv = scale.metadata?.resourceVersion;
  if (rv && rv !== o.metadata.resourceVersion) throw errors.conflict(r, name);
  const next = cloneJson(o);
  next.spec = { ...specOf(next), replicas };
  const res = await rest.update(r, o.metadata.namespace, name, next, { ...opts, fieldValidation: 'Ignore' });
  return toScale(res.object);
}

/** PUT …/scale. */
export async function updateScale(rest: Rest, r: ResourceType, ns: string | undefined, name: string, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
  const o = await rest.get(r, ns, name);
  return writeScale(rest, r, o, body, opts);
}

/** PATCH …/scale: the patch applies to the Scale object. */
export async function patchScale(
  rest: Rest,
  r: ResourceType,
  ns: string | undefined,
  name: string,
  type: PatchType,
  body: unknown,
  opts: WriteOptions,
): Promise<KubeObject> {
  const o = await rest.get(r, ns, name);
  const SCALE = { group: 'autoscaling', version: 'v1', kind: 'Scale', plural: 'scale' };
  const patched = applyPatch(SCALE, type, toScale(o), body, { manager: opts.fieldManager, force: opts.force, now: new Date() });
  return writeScale(rest, r, o, patched, opts);
}

/** POST pods/<name>/binding: assigns the pod to a node, once. */
export async function bindPod(rest: Rest, pods: ResourceType, ns: string | undefined, name: string, body: unknown, dryRun: boolean): Promise<void> {
  const target = isPlainObject(body) && isPlainObject(body.target) ? body.target : undefined;
  const node = target && typeof target.name === 'string' ? target.name : '';
  if (!node) {
    throw errors.invalid({ group: '', kind: 'Binding' }, name, [{ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]);
  }
  await rest.mutate(
    pods,
    ns,
    name,
    (pod) => {
      const spec = specOf(pod);
      if (pod.metadata.deletionTimestamp) throw errors.conflict({ group: '', plural: 'pods/binding' }, name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
        throw errors.conflict({ group: '', plural: 'pods/binding' }, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
      }
      pod.spec = { ...spec, nodeName: node };
      const status = isPlainObject(pod.status) ? pod.status : {};
      const conditions = Array.isArray(status.conditions) ? status.conditions.filter((c) => !(isPlainObject(c) && c.type === 'PodScheduled')) : [];
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
      pod.status = { ...status, conditions };
    },
    dryRun,
  );
}

/** PUT namespaces/<name>/finalize: only spec.finalizers changes. */
export async function finalizeNamespace(rest: Rest, r: ResourceType, name: string, body: KubeObject, dryRun: boolean): Promise<KubeObject> {
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers.filter((f): f is string => typeof f === 'string') : [];
  return rest.mutate(
    r,
    undefined,
    name,
    (ns) => {
      ns.spec = { ...specOf(ns), finalizers };
    },
    dryRun,
  );
}

/** POST pods/<name>/eviction: a delete with the eviction's options (no disruption budgets yet). */
export async function evictPod(rest: Rest, pods: ResourceType, ns: string | undefined, name: string, body: unknown, dryRun: boolean): Promise<void> {
  const options: DeleteOptions = {};
  if (isPlainObject(body) && isPlainObject(body.deleteOptions)) {
    const d = body.deleteOptions;
    if (typeof d.gracePeriodSeconds === 'number') options.gracePeriodSeconds = d.gracePeriodSeconds;
  }
  await rest.delete(pods, ns, name, options, dryRun);
}

export type { WriteResult };
