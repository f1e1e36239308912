/**
 * A container's environment as the kubelet's makeEnvironmentVariables builds
 * it: service links, envFrom, then env in order with $(VAR) expansion,
 * valueFrom fieldRef/resourceFieldRef/configMapKeyRef/secretKeyRef. A missing
 * required source is a CreateContainerConfigError with Kubernetes' message.
 */
import { cpus, totalmem } from 'node:os';
import type { ConfigMap, Container, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';

/** Why a container cannot be configured (the waiting reason CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface EnvContext {
  nodeIP: string;
  podIP?: string;
  /** The ConfigMap, or undefined when it does not exist. */
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Services for service-link variables: the pod's namespace (when enableServiceLinks) and default/kubernetes. */
  services?: Service[];
  /** Node allocatable, for resourceFieldRef without a limit (default: this machine). */
  nodeCpuCores?: number;
  nodeMemoryBytes?: number;
}

/**
 * Expands $(VAR) from `lookup` as Kubernetes does: `$$` is a literal `$`, an
 * undefined $(VAR) stays as written, any other `$` is kept.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close;
    } else {
      out += '$';
    }
  }
  return out;
}

const LABEL_OR_ANNOTATION = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** The value of a downward-API fieldPath of the pod. */
export function podFieldValue(pod: Pod, fieldPath: string, ips: { nodeIP: string; podIP?: string }): string {
  const m = pod.metadata ?? {};
  const la = LABEL_OR_ANNOTATION.exec(fieldPath);
  if (la) return (la[1] === 'labels' ? m.labels : m.annotations)?.[la[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ips.nodeIP;
    case 'status.podIP':
    case 'status.podIPs':
      return pod.spec?.hostNetwork ? ips.nodeIP : (ips.podIP ?? '');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** key="value" lines, sorted, as the downward API writes labels and annotations. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? '')}`)
    .join('\n');
}

/** Parses a quantity ('500m', '1', '64Mi', '1G', '1e3') to a number of base units. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new ContainerConfigError(`invalid quantity ${JSON.stringify(q)}`);
  const n = Number(m[1]);
  const units: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
  };
  const u = units[m[2]];
  if (u === undefined) throw new ContainerConfigError(`invalid quantity ${JSON.stringify(q)}`);
  return n * u;
}

/** resourceFieldRef value: ceil(quantity / divisor); no limit means node allocatable. */
export function resourceFieldValue(c: Container, resource: string, divisor: string | number | undefined, ctx: Pick<EnvContext, 'nodeCpuCores' | 'nodeMemoryBytes'>): string {
  const [kind, name] = resource.split('.');
  const lim = c.resources?.limits?.[name];
  const req = c.resources?.requests?.[name];
  let q: number;
  if (kind === 'limits' || kind === 'requests') {
    const v = kind === 'limits' ? lim : (req ?? lim);
    if (v !== undefined) q = parseQuantity(v);
    else if (kind === 'requests') q = 0;
    else if (name === 'cpu') q = ctx.nodeCpuCores ?? cpus().length;
    else if (name === 'memory') q = ctx.nodeMemoryBytes ?? totalmem();
    else throw new ContainerConfigError(`unsupported container resource : ${JSON.stringify(resource)}`);
  } else {
    throw new ContainerConfigError(`unsupported container resource : ${JSON.stringify(resource)}`);
  }
  const d = divisor === undefined || divisor === '' || divisor === '0' ? 1 : parseQuantity(divisor);
  return String(Math.ceil(q / d - 1e-9));
}

/** Docker-links style variables for services, as Kubernetes' FromServices. */
export function serviceEnv(services: Service[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None' || !s.metadata?.name) continue;
    const name = s.metadata.name.toUpperCase().replace(/-/g, '_');
    const ports = s.spec?.ports ?? [];
    if (ports.length === 0) continue;
    env.set(`${name}_SERVICE_HOST`, ip);
    env.set(`${name}_SERVICE_PORT`, String(ports[0].port));
    for (const p of ports) if (p.name) env.set(`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port));
    const proto0 = (ports[0].protocol ?? 'TCP').toLowerCase();
    env.set(`${name}_PORT`, `${proto0}://${ip}:${ports[0].port}`);
    for (const p of ports) {
      const proto = p.protocol ?? 'TCP';
      const prefix = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
      env.set(prefix, `${proto.toLowerCase()}://${ip}:${p.port}`);
      env.set(`${prefix}_PROTO`, proto.toLowerCase());
      env.set(`${prefix}_PORT`, String(p.port));
      env.set(`${prefix}_ADDR`, ip);
    }
  }
  return env;
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

function secretData(s: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = decode(v);
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

/** Builds the container's environment; throws ContainerConfigError for a missing required source. */
export async function makeEnvironment(pod: Pod, c: Container, ctx: EnvContext): Promise<{ name: string; value: string }[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>();
  const svc = serviceEnv(ctx.services ?? []);
  const cms = new Map<string, ConfigMap>();
  const secrets = new Map<string, Secret>();
  const configMap = async (name: string, optional: boolean): Promise<ConfigMap | undefined> => {
    const cached = cms.get(name);
    if (cached) return cached;
    const cm = await ctx.getConfigMap(ns, name);
    if (!cm) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    cms.set(name, cm);
    return cm;
  };
  const secret = async (name: string, optional: boolean): Promise<Secret | undefined> => {
    const cached = secrets.get(name);
    if (cached) return cached;
    const s = await ctx.getSecret(ns, name);
    if (!s) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    secrets.set(name, s);
    return s;
  };

  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await configMap(from.configMapRef.name ?? '', from.configMapRef.optional === true);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(prefix + k, v);
    } else if (from.secretRef) {
      const s = await secret(from.secretRef.name ?? '', from.secretRef.optional === true);
      if (s) for (const [k, v] of Object.entries(secretData(s))) env.set(prefix + k, v);
    }
  }

  const lookup = (name: string): string | undefined => env.get(name) ?? svc.get(name);
  for (const e of c.env ?? []) {
    let value: string | undefined;
    const from = e.valueFrom;
    if (!from) {
      value = expand(e.value ?? '', lookup);
    } else if (from.fieldRef) {
      value = podFieldValue(pod, from.fieldRef.fieldPath, { nodeIP: ctx.nodeIP, podIP: ctx.podIP });
    } else if (from.resourceFieldRef) {
      const target = from.resourceFieldRef.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === from.resourceFieldRef?.containerName) : c;
      value = resourceFieldValue(target ?? c, from.resourceFieldRef.resource, from.resourceFieldRef.divisor, ctx);
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const optional = ref.optional === true;
      const cm = await configMap(ref.name ?? '', optional);
      if (!cm) continue;
      value = cm.data?.[ref.key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''}`);
      }
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const optional = ref.optional === true;
      const s = await secret(ref.name ?? '', optional);
      if (!s) continue;
      value = secretData(s)[ref.key];
      if (value === undefined) {
        if (optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''}`);
      }
    }
    env.set(e.name, value ?? '');
  }

  const out: { name: string; value: string }[] = [];
  // Service links come first and lose to the container's own variables, as in Kubernetes.
  for (const [name, value] of svc) if (!env.has(name)) out.push({ name, value });
  for (const [name, value] of env) out.push({ name, value });
  return out;
}

/** Expands $(VAR) in command and args with the container's environment. */
export function expandCommand(list: string[] | undefined, env: { name: string; value: string }[]): string[] | undefined {
  if (!list) return undefined;
  const m = new Map(env.map((e) => [e.name, e.value]));
  return list.map((s) => expand(s, (n) => m.get(n)));
}
