/**
 * Defaulting, as Kubernetes' SetDefaults_* functions do for the kinds we
 * serve, so that what comes back from a create reads like what a real
 * cluster returns (and `kubectl apply` diffs stay stable).
 */
import { isPlainObject, type KubeObject } from './object.js';

type Obj = Record<string, unknown>;

function obj(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isPlainObject(v)) return v;
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function each(list: unknown, fn: (o: Obj) => void): void {
  if (Array.isArray(list)) for (const item of list) if (isPlainObject(item)) fn(item);
}

function imageTag(image: string): string | undefined {
  const lastSlash = image.lastIndexOf('/');
  const tail = image.slice(lastSlash + 1);
  if (tail.includes('@')) return '@digest';
  const colon = tail.indexOf(':');
  return colon >= 0 ? tail.slice(colon + 1) : undefined;
}

function defaultContainer(c: Obj): void {
  if (typeof c.image === 'string') {
    const tag = imageTag(c.image);
    setDefault(c, 'imagePullPolicy', tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent');
  }
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  each(c.ports, (p) => setDefault(p, 'protocol', 'TCP'));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = c[probe];
    if (!isPlainObject(p)) continue;
    setDefault(p, 'timeoutSeconds', 1);
    setDefault(p, 'periodSeconds', 10);
    setDefault(p, 'successThreshold', 1);
    setDefault(p, 'failureThreshold', 3);
    if (isPlainObject(p.httpGet)) {
      setDefault(p.httpGet, 'path', '/');
      setDefault(p.httpGet, 'scheme', 'HTTP');
    }
  }
  each(c.env, (e) => {
    const from = e.valueFrom;
    if (isPlainObject(from) && isPlainObject(from.fieldRef)) setDefault(from.fieldRef, 'apiVersion', 'v1');
  });
}

/** Defaults a PodSpec in place (also used for templates). */
export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  if (spec.serviceAccountName === undefined && typeof spec.serviceAccount === 'string') spec.serviceAccountName = spec.serviceAccount;
  setDefault(spec, 'serviceAccountName', 'default');
  if (spec.serviceAccount === undefined) spec.serviceAccount = spec.serviceAccountName;
  setDefault(spec, 'enableServiceLinks', true);
  each(spec.containers, defaultContainer);
  each(spec.initContainers, defaultContainer);
  each(spec.volumes, (v) => {
    for (const src of ['configMap', 'secret']) {
      if (isPlainObject(v[src])) setDefault(v[src], 'defaultMode', 0o644);
    }
    if (isPlainObject(v.hostPath)) setDefault(v.hostPath, 'type', '');
  });
}

function defaultTemplate(spec: Obj): void {
  const template = obj(spec, 'template');
  defaultPodSpec(obj(template, 'spec'));
}

function intOrPercentDefault(o: Obj, key: string, value: string): void {
  setDefault(o, key, value);
}

const DEFAULTERS: Record<string, (o: KubeObject) => void> = {
  Pod(o) {
    defaultPodSpec(obj(o, 'spec'));
    const status = obj(o, 'status');
    setDefault(status, 'phase', 'Pending');
  },
  Deployment(o) {
    const spec = obj(o, 'spec');
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    const strategy = obj(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = obj(strategy, 'rollingUpdate');
      intOrPercentDefault(ru, 'maxSurge', '25%');
      intOrPercentDefault(ru, 'maxUnavailable', '25%');
    }
    defaultTemplate(spec);
  },
  ReplicaSet(o) {
    const spec = obj(o, 'spec');
    setDefault(spec, 'replicas', 1);
    defaultTemplate(spec);
  },
  DaemonSet(o) {
    const spec = obj(o, 'spec');
    setDefault(spec, 'revisionHistoryLimit', 10);
    const strategy = obj(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const ru = obj(strategy, 'rollingUpdate');
      setDefault(ru, 'maxUnavailable', 1);
      setDefault(ru, 'maxSurge', 0);
    }
    defaultTemplate(spec);
  },
  Service(o) {
    const spec = obj(o, 'spec');
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    if (spec.type !== 'ExternalName') {
      setDefault(spec, 'internalTrafficPolicy', 'Cluster');
      setDefault(spec, 'ipFamilies', ['IPv4']);
      setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    }
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
    each(spec.ports, (p) => {
      setDefault(p, 'protocol', 'TCP');
      setDefault(p, 'targetPort', p.port);
    });
    setDefault(o, 'status', { loadBalancer: {} });
  },
  Secret(o) {
    setDefault(o, 'type', 'Opaque');
    // stringData is write-only: it lands in data, base64-encoded, and wins over data.
    if (isPlainObject(o.stringData)) {
      const data = obj(o, 'data');
      for (const [k, v] of Object.entries(o.stringData)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
      delete o.stringData;
    }
  },
  Namespace(o) {
    const spec = obj(o, 'spec');
    setDefault(spec, 'finalizers', ['kubernetes']);
    const status = obj(o, 'status');
    setDefault(status, 'phase', 'Active');
    const labels = (o.metadata.labels ??= {});
    labels['kubernetes.io/metadata.name'] = o.metadata.name ?? '';
  },
  Node(o) {
    const status = obj(o, 'status');
    if (isPlainObject(status.capacity)) setDefault(status, 'allocatable', status.capacity);
  },
  ServiceAccount() {},
};

/** Applies the kind's defaults in place. */
export function applyDefaults(kind: string, o: KubeObject): void {
  DEFAULTERS[kind]?.(o);
}
