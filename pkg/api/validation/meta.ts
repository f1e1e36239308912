/**
 * ObjectMeta, label, annotation and label-selector rules
 * (k8s.io/apimachinery/pkg/api/validation and .../apis/meta/v1/validation).
 */
import { jsonEqual } from '../object.js';
import { asArr, asObj, asStr, type Obj } from './json.js';
import { duplicate, FieldPath, forbidden, invalid, invalidEach, required, tooLong, type FieldCause } from './field.js';
import { isDNS1123Label, isQualifiedName, isValidLabelValue } from './names.js';

/** Annotations may total at most 256 KiB (keys plus values). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** Label maps: qualified-name keys and label values. */
export function validateLabels(v: unknown, path: FieldPath): FieldCause[] {
  const m = asObj(v);
  if (!m) return [];
  const out: FieldCause[] = [];
  for (const [k, val] of Object.entries(m)) {
    out.push(...invalidEach(path, k, isQualifiedName(k)));
    if (typeof val === 'string') out.push(...invalidEach(path, val, isValidLabelValue(val)));
  }
  return out;
}

/** Annotation maps: qualified-name keys (case-insensitive) and a total size limit. */
export function validateAnnotations(v: unknown, path: FieldPath): FieldCause[] {
  const m = asObj(v);
  if (!m) return [];
  const out: FieldCause[] = [];
  let size = 0;
  for (const [k, val] of Object.entries(m)) {
    out.push(...invalidEach(path, k, isQualifiedName(k.toLowerCase())));
    size += Buffer.byteLength(k) + (typeof val === 'string' ? Buffer.byteLength(val) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

/** A metav1.LabelSelector: valid keys, values and operators. */
export function validateLabelSelector(v: unknown, path: FieldPath): FieldCause[] {
  const sel = asObj(v);
  if (!sel) return [];
  const out = validateLabels(sel.matchLabels, path.child('matchLabels'));
  asArr(sel.matchExpressions).forEach((item, i) => {
    const expr = asObj(item);
    if (!expr) return;
    const p = path.child('matchExpressions').index(i);
    const values = asArr(expr.values);
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) out.push(required(p.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) out.push(forbidden(p.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        out.push(invalid(p.child('operator'), expr.operator, 'not a valid selector operator'));
    }
    const key = asStr(expr.key);
    if (key !== undefined) out.push(...invalidEach(p.child('key'), key, isQualifiedName(key)));
  });
  return out;
}

/** True when the selector selects nothing-in-particular (no labels, no expressions). */
export function selectorIsEmpty(v: unknown): boolean {
  const sel = asObj(v);
  return !sel || (Object.keys(asObj(sel.matchLabels) ?? {}).length === 0 && asArr(sel.matchExpressions).length === 0);
}

/** Whether a metav1.LabelSelector matches a label set. */
export function selectorMatches(v: unknown, labelsValue: unknown): boolean {
  const sel = asObj(v);
  if (!sel) return false;
  const labels = asObj(labelsValue) ?? {};
  for (const [k, want] of Object.entries(asObj(sel.matchLabels) ?? {})) if (labels[k] !== want) return false;
  for (const item of asArr(sel.matchExpressions)) {
    const expr = asObj(item);
    const key = asStr(expr?.key);
    if (!expr || key === undefined) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const values = asArr(expr.values);
    const ok =
      expr.operator === 'In' ? has && values.includes(labels[key])
      : expr.operator === 'NotIn' ? !has || !values.includes(labels[key])
      : expr.operator === 'Exists' ? has
      : expr.operator === 'DoesNotExist' ? !has
      : false;
    if (!ok) return false;
  }
  return true;
}

export interface MetaRules {
  /** Format check of metadata.name for this kind. */
  nameCheck: (name: string) => string[];
  namespaced: boolean;
}

/** ValidateObjectMeta: name, namespace, labels, annotations, owner references, finalizers. */
export function validateObjectMeta(metaValue: unknown, rules: MetaRules, path = FieldPath.root('metadata')): FieldCause[] {
  const meta: Obj = asObj(metaValue) ?? {};
  const out: FieldCause[] = [];
  const name = asStr(meta.name) ?? '';
  if (name === '') out.push(required(path.child('name'), 'name or generateName is required'));
  else out.push(...invalidEach(path.child('name'), name, rules.nameCheck(name)));
  if (rules.namespaced) {
    const ns = asStr(meta.namespace) ?? '';
    if (ns === '') out.push(required(path.child('namespace')));
    else out.push(...invalidEach(path.child('namespace'), ns, isDNS1123Label(ns)));
  }
  out.push(...validateLabels(meta.labels, path.child('labels')));
  out.push(...validateAnnotations(meta.annotations, path.child('annotations')));
  out.push(...validateOwnerReferences(meta.ownerReferences, path.child('ownerReferences')));
  const seen = new Set<string>();
  asArr(meta.finalizers).forEach((f, i) => {
    if (typeof f !== 'string') return;
    const p = path.child('finalizers').index(i);
    out.push(...invalidEach(p, f, isQualifiedName(f)));
    if (seen.has(f)) out.push(duplicate(p, f));
    seen.add(f);
  });
  return out;
}

function validateOwnerReferences(v: unknown, path: FieldPath): FieldCause[] {
  const out: FieldCause[] = [];
  const controllers: string[] = [];
  asArr(v).forEach((item, i) => {
    const ref = asObj(item);
    if (!ref) return;
    const p = path.index(i);
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) if (!asStr(ref[f])) out.push(required(p.child(f)));
    if (ref.controller === true) controllers.push(`${String(ref.kind)}/${String(ref.name)}`);
  });
  if (controllers.length > 1) {
    out.push(invalid(path, v, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(' and ')}`));
  }
  return out;
}

/** ValidateObjectMetaUpdate: name, namespace and uid never change. */
export function validateObjectMetaUpdate(newMeta: unknown, oldMeta: unknown, path = FieldPath.root('metadata')): FieldCause[] {
  const n = asObj(newMeta) ?? {};
  const o = asObj(oldMeta) ?? {};
  const out: FieldCause[] = [];
  for (const f of ['name', 'namespace', 'uid']) {
    if (n[f] !== undefined && o[f] !== undefined && !jsonEqual(n[f], o[f])) out.push(invalid(path.child(f), n[f], 'field is immutable'));
  }
  return out;
}
