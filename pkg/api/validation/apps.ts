/**
 * apps/v1 rules (pkg/apis/apps/validation): Deployment, ReplicaSet and
 * DaemonSet specs, and their immutable selectors.
 */
import { jsonEqual } from '../object.js';
import { asNum, asObj, asStr, dig, type Obj } from './json.js';
import { FieldPath, forbidden, invalid, notSupported, required, type FieldCause } from './field.js';
import { selectorIsEmpty, selectorMatches, validateLabelSelector } from './meta.js';
import { validatePodTemplate } from './pod.js';

const spec = FieldPath.root('spec');

function nonNegative(o: Obj, field: string, path: FieldPath): FieldCause[] {
  const v = asNum(o[field]);
  return v !== undefined && v < 0 ? [invalid(path.child(field), v, 'must be greater than or equal to 0')] : [];
}

/**
 * Selector present, non-empty, valid and matching the template's labels;
 * the template valid with restartPolicy Always. `kindWord` words the
 * empty-selector message as Kubernetes does per kind.
 */
function selectorAndTemplate(s: Obj, kindWord: string): FieldCause[] {
  const out: FieldCause[] = [];
  // Like LabelSelectorAsSelector failing: an invalid selector matches nothing, so no template check.
  let usable = false;
  if (s.selector === undefined || s.selector === null) {
    out.push(required(spec.child('selector')));
  } else {
    const selectorErrors = validateLabelSelector(s.selector, spec.child('selector'));
    out.push(...selectorErrors);
    if (selectorIsEmpty(s.selector)) out.push(invalid(spec.child('selector'), s.selector, `empty selector is invalid for ${kindWord}`));
    else if (selectorErrors.length > 0) out.push(invalid(spec.child('selector'), s.selector, 'invalid label selector'));
    else usable = true;
  }
  const template = asObj(s.template);
  if (!template) {
    out.push(required(spec.child('template')));
    return out;
  }
  const labels = dig(template, 'metadata', 'labels');
  if (usable && !selectorMatches(s.selector, labels)) {
    out.push(invalid(spec.child('template', 'metadata', 'labels'), labels ?? {}, '`selector` does not match template `labels`'));
  }
  out.push(...validatePodTemplate(template, spec.child('template')));
  const restart = asStr(dig(template, 'spec', 'restartPolicy'));
  if (restart !== undefined && restart !== 'Always') {
    out.push(notSupported(spec.child('template', 'spec', 'restartPolicy'), restart, ['Always']));
  }
  if (dig(template, 'spec', 'activeDeadlineSeconds') !== undefined) {
    out.push(forbidden(spec.child('template', 'spec', 'activeDeadlineSeconds'), `activeDeadlineSeconds in ${kindWord === 'daemonset' ? 'DaemonSet' : 'ReplicaSet'} is not Supported`));
  }
  return out;
}

/** An int-or-percent of a rolling update ('25%' or 1). */
function intOrPercent(v: unknown, path: FieldPath): FieldCause[] {
  if (typeof v === 'number') return v < 0 ? [invalid(path, v, 'must be greater than or equal to 0')] : [];
  if (typeof v !== 'string') return [];
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) {
    return [invalid(path, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  return Number(m[1]) > 100 ? [invalid(path, v, 'must not be greater than 100%')] : [];
}

function isZero(v: unknown): boolean {
  return v === 0 || v === '0%';
}

function rollingUpdate(ru: Obj, path: FieldPath): FieldCause[] {
  const out = [...intOrPercent(ru.maxUnavailable, path.child('maxUnavailable')), ...intOrPercent(ru.maxSurge, path.child('maxSurge'))];
  if (ru.maxUnavailable !== undefined && isZero(ru.maxUnavailable) && isZero(ru.maxSurge ?? 0)) {
    out.push(invalid(path.child('maxUnavailable'), ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  return out;
}

/** ValidateDeploymentSpec. */
export function validateDeploymentSpec(specValue: unknown): FieldCause[] {
  const s: Obj = asObj(specValue) ?? {};
  const out = [
    ...nonNegative(s, 'replicas', spec),
    ...selectorAndTemplate(s, 'deployment'),
    ...nonNegative(s, 'minReadySeconds', spec),
    ...nonNegative(s, 'revisionHistoryLimit', spec),
  ];
  const strategy = asObj(s.strategy);
  if (strategy) {
    const p = spec.child('strategy');
    const type = asStr(strategy.type);
    if (type !== undefined && type !== 'Recreate' && type !== 'RollingUpdate') {
      out.push(notSupported(p.child('type'), type, ['Recreate', 'RollingUpdate']));
    }
    const ru = asObj(strategy.rollingUpdate);
    if (type === 'Recreate' && ru) out.push(forbidden(p.child('rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'"));
    else if (ru) out.push(...rollingUpdate(ru, p.child('rollingUpdate')));
  }
  const pds = asNum(s.progressDeadlineSeconds);
  if (pds !== undefined && pds <= (asNum(s.minReadySeconds) ?? 0)) {
    out.push(invalid(spec.child('progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
  }
  return out;
}

/** ValidateReplicaSetSpec (Kubernetes words its empty-selector error "for deployment" too). */
export function validateReplicaSetSpec(specValue: unknown): FieldCause[] {
  const s: Obj = asObj(specValue) ?? {};
  return [...nonNegative(s, 'replicas', spec), ...nonNegative(s, 'minReadySeconds', spec), ...selectorAndTemplate(s, 'deployment')];
}

/** ValidateDaemonSetSpec. */
export function validateDaemonSetSpec(specValue: unknown): FieldCause[] {
  const s: Obj = asObj(specValue) ?? {};
  const out = [...selectorAndTemplate(s, 'daemonset'), ...nonNegative(s, 'minReadySeconds', spec), ...nonNegative(s, 'revisionHistoryLimit', spec)];
  const strategy = asObj(s.updateStrategy);
  const type = asStr(strategy?.type);
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'OnDelete') {
    out.push(notSupported(spec.child('updateStrategy', 'type'), type, ['OnDelete', 'RollingUpdate']));
  }
  const ru = asObj(strategy?.rollingUpdate);
  if (type === 'RollingUpdate' && ru) out.push(...rollingUpdate(ru, spec.child('updateStrategy', 'rollingUpdate')));
  return out;
}

/** In apps/v1 a workload's selector is immutable. */
export function validateSelectorUpdate(newSpec: unknown, oldSpec: unknown): FieldCause[] {
  const n = dig(newSpec, 'selector');
  const o = dig(oldSpec, 'selector');
  return o !== undefined && !jsonEqual(n, o) ? [invalid(spec.child('selector'), n ?? null, 'field is immutable')] : [];
}
