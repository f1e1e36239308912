/**
 * rbac.authorization.k8s.io/v1 rules (pkg/apis/rbac/validation): policy
 * rules, role references and subjects, and the immutable roleRef.
 */
import { jsonEqual } from '../object.js';
import { asArr, asObj, asStr, type Obj } from './json.js';
import { FieldPath, invalid, invalidEach, notSupported, required, type FieldCause } from './field.js';
import { validateLabelSelector } from './meta.js';
import { isValidPathSegmentName } from './names.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** ValidatePolicyRule for each of `rules`. */
export function validateRules(o: Obj, namespaced: boolean): FieldCause[] {
  const out: FieldCause[] = [];
  asArr(o.rules).forEach((item, i) => {
    const rule = asObj(item);
    if (!rule) return;
    const p = FieldPath.root('rules').index(i);
    if (asArr(rule.verbs).length === 0) out.push(required(p.child('verbs'), 'verbs must contain at least one value'));
    const urls = asArr(rule.nonResourceURLs);
    if (urls.length > 0) {
      if (namespaced) out.push(invalid(p.child('nonResourceURLs'), urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (asArr(rule.apiGroups).length > 0 || asArr(rule.resources).length > 0 || asArr(rule.resourceNames).length > 0) {
        out.push(invalid(p.child('nonResourceURLs'), urls, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (asArr(rule.apiGroups).length === 0) out.push(required(p.child('apiGroups'), 'resource rules must supply at least one api group'));
    if (asArr(rule.resources).length === 0) out.push(required(p.child('resources'), 'resource rules must supply at least one resource'));
  });
  const agg = asObj(o.aggregationRule);
  if (agg) {
    asArr(agg.clusterRoleSelectors).forEach((sel, i) =>
      out.push(...validateLabelSelector(sel, FieldPath.root('aggregationRule').child('clusterRoleSelectors').index(i))),
    );
  }
  return out;
}

/** ValidateRoleBinding / ValidateClusterRoleBinding: roleRef and subjects. */
export function validateBinding(o: Obj, namespaced: boolean): FieldCause[] {
  const out: FieldCause[] = [];
  const ref: Obj = asObj(o.roleRef) ?? {};
  const rp = FieldPath.root('roleRef');
  if (ref.apiGroup !== RBAC_GROUP) out.push(notSupported(rp.child('apiGroup'), ref.apiGroup ?? '', [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(asStr(ref.kind) ?? '')) out.push(notSupported(rp.child('kind'), ref.kind ?? '', kinds));
  const name = asStr(ref.name) ?? '';
  if (name === '') out.push(required(rp.child('name')));
  else out.push(...invalidEach(rp.child('name'), name, isValidPathSegmentName(name)));
  asArr(o.subjects).forEach((item, i) => {
    const s = asObj(item);
    if (!s) return;
    const p = FieldPath.root('subjects').index(i);
    const sname = asStr(s.name) ?? '';
    if (sname === '') out.push(required(p.child('name')));
    switch (s.kind) {
      case 'ServiceAccount':
        if ((asStr(s.apiGroup) ?? '') !== '') out.push(notSupported(p.child('apiGroup'), s.apiGroup, ['']));
        if (!namespaced && (asStr(s.namespace) ?? '') === '') out.push(required(p.child('namespace')));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== RBAC_GROUP) out.push(notSupported(p.child('apiGroup'), s.apiGroup ?? '', [RBAC_GROUP]));
        break;
      default:
        out.push(notSupported(p.child('kind'), s.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  return out;
}

/** A binding's roleRef never changes. */
export function validateBindingUpdate(n: Obj, o: Obj): FieldCause[] {
  return jsonEqual(n.roleRef, o.roleRef) ? [] : [invalid(FieldPath.root('roleRef'), n.roleRef ?? null, 'cannot change roleRef')];
}
