/**
 * core/v1 rules other than Pods (pkg/apis/core/validation): Service,
 * ConfigMap, Secret, Endpoints, and their update rules.
 */
import { jsonEqual } from '../object.js';
import { asArr, asNum, asObj, asStr, type Obj } from './json.js';
import {
  duplicate,
  FieldPath,
  forbidden,
  invalid,
  invalidEach,
  notSupported,
  required,
  tooLong,
  type FieldCause,
} from './field.js';
import { validateLabels } from './meta.js';
import { isConfigMapKey, isDNS1123Label, isDNS1123Subdomain, isIP, isValidPortName, isValidPortNum } from './names.js';
import { PROTOCOLS } from './pod.js';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
/** ConfigMaps and Secrets hold at most 1 MiB. */
export const MAX_DATA_SIZE = 1024 * 1024;

function port(path: FieldPath, v: unknown): FieldCause[] {
  return typeof v === 'number' ? invalidEach(path, v, isValidPortNum(v)) : [];
}

function protocol(path: FieldPath, v: unknown): FieldCause[] {
  const p = asStr(v);
  return p !== undefined && !PROTOCOLS.includes(p) ? [notSupported(path, p, PROTOCOLS)] : [];
}

/** ValidateService: ports, type, cluster IP, selector. */
export function validateServiceSpec(specValue: unknown): FieldCause[] {
  const path = FieldPath.root('spec');
  const s: Obj = asObj(specValue) ?? {};
  const out: FieldCause[] = [];
  const type = asStr(s.type) ?? 'ClusterIP';
  const clusterIP = asStr(s.clusterIP) ?? '';
  const ports = asArr(s.ports);
  if (!SERVICE_TYPES.includes(type)) out.push(notSupported(path.child('type'), type, SERVICE_TYPES));
  if (ports.length === 0 && clusterIP !== 'None' && type !== 'ExternalName') out.push(required(path.child('ports')));
  if (type === 'ExternalName') {
    const ext = asStr(s.externalName) ?? '';
    if (ext === '') out.push(required(path.child('externalName')));
    else out.push(...invalidEach(path.child('externalName'), ext, isDNS1123Subdomain(ext.replace(/\.$/, ''))));
    if (clusterIP !== '') out.push(forbidden(path.child('clusterIP'), 'may not be set for ExternalName services'));
  } else if (clusterIP !== '' && clusterIP !== 'None' && !isIP(clusterIP)) {
    out.push(invalid(path.child('clusterIP'), clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  }
  const names = new Set<string>();
  const requireName = ports.length > 1;
  ports.forEach((item, i) => {
    const sp = asObj(item);
    if (!sp) return;
    const p = path.child('ports').index(i);
    const name = asStr(sp.name) ?? '';
    if (name === '') {
      if (requireName) out.push(required(p.child('name')));
    } else {
      out.push(...invalidEach(p.child('name'), name, isDNS1123Label(name)));
      if (names.has(name)) out.push(duplicate(p.child('name'), name));
      names.add(name);
    }
    if (sp.port === undefined || sp.port === null) out.push(required(p.child('port')));
    else out.push(...port(p.child('port'), sp.port));
    out.push(...protocol(p.child('protocol'), sp.protocol));
    const tp = sp.targetPort;
    if (typeof tp === 'number' && tp !== 0) out.push(...port(p.child('targetPort'), tp));
    else if (typeof tp === 'string') out.push(...invalidEach(p.child('targetPort'), tp, isValidPortName(tp)));
    const np = asNum(sp.nodePort);
    if (np !== undefined && np !== 0) {
      if (type === 'ClusterIP') out.push(forbidden(p.child('nodePort'), "may not be used when `type` is 'ClusterIP'"));
      else out.push(...port(p.child('nodePort'), np));
    }
  });
  const affinity = asStr(s.sessionAffinity);
  if (affinity !== undefined && !SESSION_AFFINITIES.includes(affinity)) {
    out.push(notSupported(path.child('sessionAffinity'), affinity, SESSION_AFFINITIES));
  }
  out.push(...validateLabels(s.selector, path.child('selector')));
  return out;
}

/**
 * ValidateServiceUpdate: a cluster IP once set does not change (unless the
 * service is or becomes ExternalName, or stays headless). An empty new value
 * is not an error: the caller carries the allocated IP over, as Kubernetes does.
 */
export function validateServiceUpdate(newSpecValue: unknown, oldSpecValue: unknown): FieldCause[] {
  const path = FieldPath.root('spec');
  const n: Obj = asObj(newSpecValue) ?? {};
  const o: Obj = asObj(oldSpecValue) ?? {};
  if (n.type === 'ExternalName' || o.type === 'ExternalName') return [];
  const out: FieldCause[] = [];
  const newIP = asStr(n.clusterIP) ?? '';
  const oldIP = asStr(o.clusterIP) ?? '';
  if (oldIP !== '' && newIP !== '' && newIP !== oldIP && !(oldIP === 'None' && newIP === 'None')) {
    out.push(invalid(path.child('clusterIP'), newIP, 'field is immutable'));
  }
  const newIPs = asArr(n.clusterIPs);
  const oldIPs = asArr(o.clusterIPs);
  if (newIPs.length > 0 && newIPs.length === oldIPs.length) {
    oldIPs.forEach((ip, i) => {
      if (ip !== newIPs[i]) out.push(invalid(path.child('clusterIPs').index(i), newIPs, 'may not change once set'));
    });
  }
  return out;
}

/** Data keys (`data[key]`) of a ConfigMap or Secret, and the total size limit. */
function dataKeys(o: Obj, bags: string[], measure: (v: unknown) => number): FieldCause[] {
  const out: FieldCause[] = [];
  let size = 0;
  const seen = new Map<string, string>();
  for (const bag of bags) {
    for (const [k, v] of Object.entries(asObj(o[bag]) ?? {})) {
      const p = FieldPath.root(bag).key(k);
      out.push(...invalidEach(p, k, isConfigMapKey(k)));
      const other = seen.get(k);
      if (other !== undefined && !(bag === 'stringData' && other === 'data')) out.push(invalid(p, k, `duplicate of key present in ${other}`));
      seen.set(k, bag);
      size += measure(v);
    }
  }
  if (size > MAX_DATA_SIZE) out.push(tooLong(FieldPath.root(), MAX_DATA_SIZE));
  return out;
}

/** ValidateConfigMap: keys, data/binaryData overlap, size. */
export function validateConfigMap(o: Obj): FieldCause[] {
  return dataKeys(o, ['data', 'binaryData'], (v) => (typeof v === 'string' ? Buffer.byteLength(v) : 0));
}

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Data keys a Secret of a given type must carry. */
const SECRET_TYPE_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

/** ValidateSecret: keys, base64 data, per-type required keys, size. */
export function validateSecret(o: Obj): FieldCause[] {
  const out = dataKeys(o, ['data', 'stringData'], (v) => (typeof v === 'string' ? Buffer.byteLength(v, 'base64') : 0));
  for (const [k, v] of Object.entries(asObj(o.data) ?? {})) {
    // Never echo secret material back in an error.
    if (typeof v === 'string' && !base64Re.test(v)) out.push(invalid(FieldPath.root('data').key(k), '<secret contents redacted>', 'illegal base64 data'));
  }
  const type = asStr(o.type) ?? 'Opaque';
  const keys = new Set([...Object.keys(asObj(o.data) ?? {}), ...Object.keys(asObj(o.stringData) ?? {})]);
  for (const k of SECRET_TYPE_KEYS[type] ?? []) if (!keys.has(k)) out.push(required(FieldPath.root('data').key(k)));
  if (type === 'kubernetes.io/basic-auth' && !keys.has('username') && !keys.has('password')) {
    out.push(required(FieldPath.root('data').key('username')), required(FieldPath.root('data').key('password')));
  }
  if (type === 'kubernetes.io/service-account-token') {
    const ann = asObj(asObj(o.metadata)?.annotations) ?? {};
    if (!asStr(ann['kubernetes.io/service-account.name'])) {
      out.push(required(FieldPath.root('metadata').child('annotations').key('kubernetes.io/service-account.name')));
    }
  }
  return out;
}

/** The data a Secret ends up with once stringData is folded into data. */
function effectiveSecretData(o: Obj): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(asObj(o.data) ?? {}) };
  for (const [k, v] of Object.entries(asObj(o.stringData) ?? {})) if (typeof v === 'string') out[k] = Buffer.from(v).toString('base64');
  return out;
}

/** ConfigMap/Secret update: nothing changes once `immutable: true`; a Secret's type never changes. */
export function validateDataUpdate(kind: 'ConfigMap' | 'Secret', n: Obj, o: Obj): FieldCause[] {
  const out: FieldCause[] = [];
  if (kind === 'Secret' && (asStr(n.type) ?? 'Opaque') !== (asStr(o.type) ?? 'Opaque')) {
    out.push(invalid(FieldPath.root('type'), n.type ?? 'Opaque', 'field is immutable'));
  }
  if (o.immutable !== true) return out;
  const msg = 'field is immutable when `immutable` is set';
  if (n.immutable !== true) out.push(forbidden(FieldPath.root('immutable'), msg));
  const bags: [string, unknown, unknown][] =
    kind === 'Secret'
      ? [['data', effectiveSecretData(n), effectiveSecretData(o)]]
      : [
          ['data', n.data ?? {}, o.data ?? {}],
          ['binaryData', n.binaryData ?? {}, o.binaryData ?? {}],
        ];
  for (const [field, a, b] of bags) if (!jsonEqual(a, b)) out.push(forbidden(FieldPath.root(field), msg));
  return out;
}

/** ValidateEndpoints: addresses are IPs, ports valid and named when several. */
export function validateEndpoints(o: Obj): FieldCause[] {
  const out: FieldCause[] = [];
  asArr(o.subsets).forEach((item, i) => {
    const subset = asObj(item);
    if (!subset) return;
    const sp = FieldPath.root('subsets').index(i);
    for (const list of ['addresses', 'notReadyAddresses']) {
      asArr(subset[list]).forEach((a, j) => {
        const addr = asObj(a);
        const ip = asStr(addr?.ip) ?? '';
        const p = sp.child(list).index(j).child('ip');
        if (ip === '') out.push(required(p));
        else if (!isIP(ip)) out.push(invalid(p, ip, 'must be a valid IP address'));
      });
    }
    const ports = asArr(subset.ports);
    ports.forEach((pi, j) => {
      const ep = asObj(pi);
      if (!ep) return;
      const p = sp.child('ports').index(j);
      const name = asStr(ep.name) ?? '';
      if (name === '' && ports.length > 1) out.push(required(p.child('name')));
      else if (name !== '') out.push(...invalidEach(p.child('name'), name, isDNS1123Label(name)));
      out.push(...port(p.child('port'), ep.port), ...protocol(p.child('protocol'), ep.protocol));
    });
  });
  return out;
}

/** ValidateLease: positive durations, non-negative transitions. */
export function validateLeaseSpec(specValue: unknown): FieldCause[] {
  const s: Obj = asObj(specValue) ?? {};
  const path = FieldPath.root('spec');
  const out: FieldCause[] = [];
  const d = asNum(s.leaseDurationSeconds);
  if (d !== undefined && d <= 0) out.push(invalid(path.child('leaseDurationSeconds'), d, 'must be greater than 0'));
  const t = asNum(s.leaseTransitions);
  if (t !== undefined && t < 0) out.push(invalid(path.child('leaseTransitions'), t, 'must be greater than or equal to 0'));
  return out;
}
