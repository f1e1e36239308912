/**
 * Pod spec rules (pkg/apis/core/validation ValidatePodSpec and friends),
 * shared by Pods and the pod templates of workload kinds.
 */
import { cloneJson, jsonEqual } from '../object.js';
import { asArr, asNum, asObj, asStr, type Obj } from './json.js';
import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  invalidEach,
  notSupported,
  required,
  type FieldCause,
} from './field.js';
import { validateAnnotations, validateLabels } from './meta.js';
import { isDNS1123Label, isDNS1123Subdomain, isEnvVarName, isValidPortName, isValidPortNum } from './names.js';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const MAX_INT32 = 2147483647;

function validatePorts(ports: unknown, path: FieldPath): FieldCause[] {
  const out: FieldCause[] = [];
  const names = new Set<string>();
  asArr(ports).forEach((item, i) => {
    const port = asObj(item);
    if (!port) return;
    const p = path.index(i);
    const name = asStr(port.name);
    if (name !== undefined && name !== '') {
      out.push(...invalidEach(p.child('name'), name, isValidPortName(name)));
      if (names.has(name)) out.push(duplicate(p.child('name'), name));
      names.add(name);
    }
    const cp = port.containerPort;
    if (cp === undefined || cp === null || cp === 0) out.push(required(p.child('containerPort')));
    else if (typeof cp === 'number') out.push(...invalidEach(p.child('containerPort'), cp, isValidPortNum(cp)));
    const hp = asNum(port.hostPort);
    if (hp !== undefined && hp !== 0) out.push(...invalidEach(p.child('hostPort'), hp, isValidPortNum(hp)));
    const proto = asStr(port.protocol);
    if (proto !== undefined && !PROTOCOLS.includes(proto)) out.push(notSupported(p.child('protocol'), proto, PROTOCOLS));
  });
  return out;
}

function validateEnv(env: unknown, path: FieldPath): FieldCause[] {
  const out: FieldCause[] = [];
  asArr(env).forEach((item, i) => {
    const e = asObj(item);
    if (!e) return;
    const p = path.index(i).child('name');
    const name = asStr(e.name) ?? '';
    if (name === '') out.push(required(p));
    else out.push(...invalidEach(p, name, isEnvVarName(name)));
  });
  return out;
}

function validateContainer(c: Obj, path: FieldPath, names: Set<string>): FieldCause[] {
  const out: FieldCause[] = [];
  const name = asStr(c.name) ?? '';
  if (name === '') out.push(required(path.child('name')));
  else {
    out.push(...invalidEach(path.child('name'), name, isDNS1123Label(name)));
    if (names.has(name)) out.push(duplicate(path.child('name'), name));
    names.add(name);
  }
  if ((asStr(c.image) ?? '').trim() === '') out.push(required(path.child('image')));
  const pull = asStr(c.imagePullPolicy);
  if (pull !== undefined && !PULL_POLICIES.includes(pull)) out.push(notSupported(path.child('imagePullPolicy'), pull, PULL_POLICIES));
  out.push(...validatePorts(c.ports, path.child('ports')));
  out.push(...validateEnv(c.env, path.child('env')));
  const mounts = new Set<string>();
  asArr(c.volumeMounts).forEach((item, i) => {
    const m = asObj(item);
    if (!m) return;
    const p = path.child('volumeMounts').index(i);
    const mname = asStr(m.name) ?? '';
    if (mname === '') out.push(required(p.child('name')));
    const mountPath = asStr(m.mountPath) ?? '';
    if (mountPath === '') out.push(required(p.child('mountPath')));
    else if (mounts.has(mountPath)) out.push(invalid(p.child('mountPath'), mountPath, 'must be unique'));
    mounts.add(mountPath);
  });
  return out;
}

function validateTolerations(v: unknown, path: FieldPath): FieldCause[] {
  const out: FieldCause[] = [];
  asArr(v).forEach((item, i) => {
    const t = asObj(item);
    if (!t) return;
    const p = path.index(i);
    const op = asStr(t.operator);
    if (op !== undefined && !TOLERATION_OPERATORS.includes(op)) out.push(notSupported(p.child('operator'), op, TOLERATION_OPERATORS));
    if (op === 'Exists' && (asStr(t.value) ?? '') !== '') out.push(invalid(p.child('operator'), t.value, "value must be empty when `operator` is 'Exists'"));
    if ((asStr(t.key) ?? '') === '' && op !== 'Exists') out.push(invalid(p.child('operator'), op ?? '', "operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
    const effect = asStr(t.effect);
    if (effect !== undefined && effect !== '' && !TAINT_EFFECTS.includes(effect)) out.push(notSupported(p.child('effect'), effect, TAINT_EFFECTS));
  });
  return out;
}

/** ValidatePodSpec: containers, volumes, policies; `path` is where the spec sits (spec, spec.template.spec). */
export function validatePodSpec(specValue: unknown, path: FieldPath): FieldCause[] {
  const spec: Obj = asObj(specValue) ?? {};
  const out: FieldCause[] = [];
  const names = new Set<string>();
  const containers = asArr(spec.containers);
  if (containers.length === 0) out.push(required(path.child('containers')));
  containers.forEach((c, i) => {
    const co = asObj(c);
    if (co) out.push(...validateContainer(co, path.child('containers').index(i), names));
  });
  asArr(spec.initContainers).forEach((c, i) => {
    const co = asObj(c);
    if (co) out.push(...validateContainer(co, path.child('initContainers').index(i), names));
  });
  const volumes = new Set<string>();
  asArr(spec.volumes).forEach((item, i) => {
    const v = asObj(item);
    if (!v) return;
    const p = path.child('volumes').index(i).child('name');
    const name = asStr(v.name) ?? '';
    if (name === '') out.push(required(p));
    else {
      out.push(...invalidEach(p, name, isDNS1123Label(name)));
      if (volumes.has(name)) out.push(duplicate(p, name));
      volumes.add(name);
    }
  });
  const restart = asStr(spec.restartPolicy);
  if (restart !== undefined && !RESTART_POLICIES.includes(restart)) out.push(notSupported(path.child('restartPolicy'), restart, RESTART_POLICIES));
  const dns = asStr(spec.dnsPolicy);
  if (dns !== undefined && !DNS_POLICIES.includes(dns)) out.push(notSupported(path.child('dnsPolicy'), dns, DNS_POLICIES));
  const ads = asNum(spec.activeDeadlineSeconds);
  if (ads !== undefined && (ads < 1 || ads > MAX_INT32)) {
    out.push(invalid(path.child('activeDeadlineSeconds'), ads, `must be between 1 and ${MAX_INT32}, inclusive`));
  }
  const tgps = asNum(spec.terminationGracePeriodSeconds);
  if (tgps !== undefined && tgps < 0) out.push(invalid(path.child('terminationGracePeriodSeconds'), tgps, 'must be greater than or equal to 0'));
  out.push(...validateLabels(spec.nodeSelector, path.child('nodeSelector')));
  for (const f of ['serviceAccountName', 'nodeName']) {
    const v = asStr(spec[f]);
    if (v) out.push(...invalidEach(path.child(f), v, isDNS1123Subdomain(v)));
  }
  for (const f of ['hostname', 'subdomain']) {
    const v = asStr(spec[f]);
    if (v) out.push(...invalidEach(path.child(f), v, isDNS1123Label(v)));
  }
  out.push(...validateTolerations(spec.tolerations, path.child('tolerations')));
  return out;
}

/** ValidatePodTemplateSpec: template labels/annotations and its pod spec. */
export function validatePodTemplate(templateValue: unknown, path: FieldPath): FieldCause[] {
  const t = asObj(templateValue);
  if (!t) return [required(path)];
  const meta = asObj(t.metadata) ?? {};
  return [
    ...validateLabels(meta.labels, path.child('metadata', 'labels')),
    ...validateAnnotations(meta.annotations, path.child('metadata', 'annotations')),
    ...validatePodSpec(t.spec, path.child('spec')),
  ];
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * ValidatePodUpdate's spec rule: only images, activeDeadlineSeconds (set or
 * lowered), tolerations (additions) and terminationGracePeriodSeconds may change.
 */
export function validatePodSpecUpdate(newSpecValue: unknown, oldSpecValue: unknown): FieldCause[] {
  // Status writes and most updates leave the spec alone: nothing to check, nothing to copy.
  if (jsonEqual(newSpecValue, oldSpecValue)) return [];
  const path = FieldPath.root('spec');
  const newSpec: Obj = asObj(newSpecValue) ?? {};
  const oldSpec: Obj = asObj(oldSpecValue) ?? {};
  const out: FieldCause[] = [];
  const newAds = asNum(newSpec.activeDeadlineSeconds);
  const oldAds = asNum(oldSpec.activeDeadlineSeconds);
  if (newAds !== undefined && oldAds !== undefined && newAds > oldAds) {
    out.push(invalid(path.child('activeDeadlineSeconds'), newAds, 'must be less than or equal to previous value'));
  } else if (newAds === undefined && oldAds !== undefined) {
    out.push(invalid(path.child('activeDeadlineSeconds'), null, 'must not update from a positive integer to nil value'));
  }
  const oldTolerations = asArr(oldSpec.tolerations);
  const newTolerations = asArr(newSpec.tolerations);
  const tolerationsOk = oldTolerations.every((o) => newTolerations.some((n) => jsonEqual(n, o)));
  // Compare with the mutable fields carried over from the old spec.
  const mutated: Obj = cloneJson(newSpec);
  for (const list of ['containers', 'initContainers']) {
    const oldList = asArr(oldSpec[list]);
    asArr(mutated[list]).forEach((c, i) => {
      const co = asObj(c);
      const old = asObj(oldList[i]);
      if (co && old) co.image = old.image;
    });
  }
  for (const f of ['activeDeadlineSeconds', 'terminationGracePeriodSeconds']) {
    if (oldSpec[f] === undefined) delete mutated[f];
    else mutated[f] = oldSpec[f];
  }
  if (tolerationsOk) {
    if (oldSpec.tolerations === undefined) delete mutated.tolerations;
    else mutated.tolerations = oldSpec.tolerations;
  }
  if (!jsonEqual(mutated, oldSpec)) out.push(forbidden(path, POD_UPDATE_FORBIDDEN));
  return out;
}
