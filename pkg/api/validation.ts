/**
 * Object validation as the Kubernetes API server does it for the kinds we
 * serve: types (kubernetes-models' ajv validators), metadata, per-kind
 * semantic rules and update rules. Returns StatusCauses; the caller answers
 * 422 Invalid with them (and 400 for `unknownFields` under Strict).
 */
import { apiVersionOf, type ResourceType } from './registry.js';
import type { JsonObject } from './object.js';
import { validateDaemonSetSpec, validateDeploymentSpec, validateReplicaSetSpec, validateSelectorUpdate } from './validation/apps.js';
import {
  validateConfigMap,
  validateDataUpdate,
  validateEndpoints,
  validateLeaseSpec,
  validateSecret,
  validateServiceSpec,
  validateServiceUpdate,
} from './validation/core.js';
import { FieldPath, type FieldCause } from './validation/field.js';
import type { Obj } from './validation/json.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './validation/meta.js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isValidPathSegmentName } from './validation/names.js';
import { validatePodSpec, validatePodSpecUpdate } from './validation/pod.js';
import { validateBinding, validateBindingUpdate, validateRules } from './validation/rbac.js';
import { typeErrors } from './validation/types.js';

export type { FieldCause, CauseReason } from './validation/field.js';
export { unknownFields } from './validation/unknown.js';

export interface ValidateOptions {
  operation: 'create' | 'update';
  /** The stored object, for updates. */
  old?: JsonObject;
}

interface KindRules {
  /** Format of metadata.name; RFC 1123 subdomain unless listed. */
  name?: (name: string) => string[];
  /** Rules on the whole object, on create and update. */
  validate?: (o: Obj) => FieldCause[];
  /** Extra rules comparing an update with the stored object. */
  update?: (n: Obj, o: Obj) => FieldCause[];
}

const rootSpec = FieldPath.root('spec');

/** Per-kind rules, keyed by kind (all our kinds have distinct names). */
const KINDS: Record<string, KindRules> = {
  Namespace: { name: isDNS1123Label },
  Node: {},
  Pod: {
    validate: (o) => validatePodSpec(o.spec, rootSpec),
    update: (n, o) => validatePodSpecUpdate(n.spec, o.spec),
  },
  Service: {
    name: isDNS1035Label,
    validate: (o) => validateServiceSpec(o.spec),
    update: (n, o) => validateServiceUpdate(n.spec, o.spec),
  },
  Endpoints: { validate: validateEndpoints },
  ConfigMap: { validate: validateConfigMap, update: (n, o) => validateDataUpdate('ConfigMap', n, o) },
  Secret: { validate: validateSecret, update: (n, o) => validateDataUpdate('Secret', n, o) },
  ServiceAccount: {},
  Event: {},
  Deployment: { validate: (o) => validateDeploymentSpec(o.spec), update: (n, o) => validateSelectorUpdate(n.spec, o.spec) },
  ReplicaSet: { validate: (o) => validateReplicaSetSpec(o.spec), update: (n, o) => validateSelectorUpdate(n.spec, o.spec) },
  DaemonSet: { validate: (o) => validateDaemonSetSpec(o.spec), update: (n, o) => validateSelectorUpdate(n.spec, o.spec) },
  Lease: { validate: (o) => validateLeaseSpec(o.spec) },
  Role: { name: isValidPathSegmentName, validate: (o) => validateRules(o, true) },
  ClusterRole: { name: isValidPathSegmentName, validate: (o) => validateRules(o, false) },
  RoleBinding: { name: isValidPathSegmentName, validate: (o) => validateBinding(o, true), update: validateBindingUpdate },
  ClusterRoleBinding: { name: isValidPathSegmentName, validate: (o) => validateBinding(o, false), update: validateBindingUpdate },
};

/** Keeps the first cause per field and reason, so a rule and the type check don't both report one problem. */
function dedupe(causes: FieldCause[]): FieldCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const key = `${c.reason}\u0000${c.field}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Validates `obj` (already defaulted, with its final name) as an object of
 * `resource`; on update, also against the stored `old`. Empty when valid.
 */
export function validateObject(resource: ResourceType, obj: JsonObject, opts: ValidateOptions): FieldCause[] {
  const rules = KINDS[resource.kind] ?? {};
  const causes: FieldCause[] = [
    ...validateObjectMeta(obj.metadata, { nameCheck: rules.name ?? isDNS1123Subdomain, namespaced: resource.namespaced }),
    ...(rules.validate?.(obj) ?? []),
  ];
  if (opts.operation === 'update' && opts.old) {
    causes.push(...validateObjectMetaUpdate(obj.metadata, opts.old.metadata), ...(rules.update?.(obj, opts.old) ?? []));
  }
  // The path tells the kind; a body may leave apiVersion/kind out.
  const typed = { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(resource), kind: obj.kind ?? resource.kind };
  causes.push(...typeErrors(resource.schemaName, typed));
  return dedupe(causes);
}
