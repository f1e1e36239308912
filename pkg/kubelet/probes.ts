/**
 * Liveness, readiness and startup probes (exec, httpGet, tcpSocket), each on
 * its own timer per container as the kubelet's prober workers: results
 * flip after failureThreshold / successThreshold consecutive outcomes, and a
 * flip asks the pod's worker to sync.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.js';
import type { ContainerInfo, ContainerRuntime } from './runtime/types.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: Container;
  /** Where httpGet/tcpSocket go (pod IP; 127.0.0.1 for hostNetwork pods). */
  host: string;
}

export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

function resolvePort(port: number | string | undefined, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true, output: '' } : { ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, output: `Get "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ ok: false, output: `Get "${url.href}": ${e.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (o: ProbeOutcome): void => {
      sock.destroy();
      resolve(o);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` }));
    sock.once('connect', () => done({ ok: true, output: '' }));
    sock.once('error', (e) => done({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

/** Runs one probe once. */
export async function runProbe(probe: Probe, t: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    const cmd = probe.exec.command ?? [];
    try {
      const r = await t.runtime.execSync(t.containerId, cmd, timeoutMs);
      if (r.timedOut) return { ok: false, output: `command ${JSON.stringify(cmd.join(' '))} timed out` };
      return { ok: r.exitCode === 0, output: r.output.trim() };
    } catch (e) {
      return { ok: false, output: e instanceof Error ? e.message : String(e) };
    }
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = resolvePort(g.port, t.container);
    if (port === undefined) return { ok: false, output: `unknown port ${JSON.stringify(g.port)}` };
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const host = g.host || t.host;
    const path = g.path ?? '/';
    const url = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path.startsWith('/') ? path : `/${path}`}`);
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
    for (const h of g.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
    return httpProbe(url, headers, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, t.container);
    if (port === undefined) return { ok: false, output: `unknown port ${JSON.stringify(probe.tcpSocket.port)}` };
    return tcpProbe(probe.tcpSocket.host || t.host, port, timeoutMs);
  }
  return { ok: false, output: 'probe has no handler this kubelet supports (exec, httpGet, tcpSocket)' };
}

interface Worker {
  kind: ProbeKind;
  podUid: string;
  containerId: string;
  /** Current result: undefined until the first threshold is met (startup/readiness count as failing). */
  result: boolean | undefined;
  successes: number;
  failures: number;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

export interface ProbeManagerOptions {
  runtime: ContainerRuntime;
  /** A result changed: the pod should sync. */
  onChange(podUid: string): void;
  /** A probe attempt failed (event Unhealthy). */
  onFailure(pod: Pod, container: Container, kind: ProbeKind, output: string): void;
}

const LABEL: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** The probe message of an Unhealthy event. */
export function unhealthyMessage(kind: ProbeKind, output: string): string {
  return `${LABEL[kind]} probe failed: ${output}`;
}

/** Probe workers of every running container of the node. */
export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  private readonly pods = new Map<string, Pod>();

  constructor(private readonly opts: ProbeManagerOptions) {}

  /** Starts workers for the pod's running containers with probes and stops those of containers gone. */
  syncPod(pod: Pod, running: ContainerInfo[], host: string): void {
    const uid = pod.metadata?.uid ?? '';
    this.pods.set(uid, pod);
    const live = new Set<string>();
    for (const info of running) {
      if (info.type !== 'container' || info.kind === 'init' || info.state !== 'running') continue;
      const c = pod.spec?.containers.find((x) => x.name === info.name);
      if (!c) continue;
      const probes: [ProbeKind, Probe | undefined][] = [
        ['startup', c.startupProbe],
        ['liveness', c.livenessProbe],
        ['readiness', c.readinessProbe],
      ];
      for (const [kind, probe] of probes) {
        if (!probe) continue;
        const key = `${info.id}/${kind}`;
        live.add(key);
        if (!this.workers.has(key)) this.startWorker(key, kind, pod, c, probe, info, host);
      }
    }
    for (const [key, w] of this.workers) if (w.podUid === uid && !live.has(key)) this.stopWorker(key);
  }

  /** Stops the pod's workers. */
  removePod(uid: string): void {
    this.pods.delete(uid);
    for (const [key, w] of this.workers) if (w.podUid === uid) this.stopWorker(key);
  }

  /** Readiness of a container: undefined without a readiness probe. */
  readiness(containerId: string): boolean | undefined {
    const w = this.workers.get(`${containerId}/readiness`);
    return w ? w.result === true : undefined;
  }

  /** Whether a container's readiness probe has not come to a result yet (e.g. just adopted after a restart). */
  readinessPending(containerId: string): boolean {
    const w = this.workers.get(`${containerId}/readiness`);
    return w !== undefined && w.result === undefined;
  }

  /** Whether the startup probe passed: undefined without one. */
  startup(containerId: string): boolean | undefined {
    const w = this.workers.get(`${containerId}/startup`);
    return w ? w.result === true : undefined;
  }

  /** Containers of the pod whose liveness or startup probe failed. */
  unhealthy(uid: string): Map<string, 'liveness' | 'startup'> {
    const out = new Map<string, 'liveness' | 'startup'>();
    for (const w of this.workers.values()) {
      if (w.podUid !== uid || w.result !== false) continue;
      if (w.kind === 'liveness' || w.kind === 'startup') out.set(w.containerId, w.kind);
    }
    return out;
  }

  /** Stops every worker. */
  stop(): void {
    for (const key of [...this.workers.keys()]) this.stopWorker(key);
  }

  private stopWorker(key: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.workers.delete(key);
  }

  private startWorker(key: string, kind: ProbeKind, pod: Pod, c: Container, probe: Probe, info: ContainerInfo, host: string): void {
    const uid = pod.metadata?.uid ?? '';
    // Liveness starts out healthy; readiness and startup start out failing, as in Kubernetes.
    const w: Worker = { kind, podUid: uid, containerId: info.id, result: kind === 'liveness' ? true : undefined, successes: 0, failures: 0, stopped: false };
    this.workers.set(key, w);
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    const startedMs = (info.startedAt ?? info.createdAt).getTime();
    const initialMs = (probe.initialDelaySeconds ?? 0) * 1000;
    const successThreshold = kind === 'readiness' ? Math.max(1, probe.successThreshold ?? 1) : 1;
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    const tick = async (): Promise<void> => {
      if (w.stopped) return;
      const startupKey = `${info.id}/startup`;
      const startupPending = kind !== 'startup' && this.workers.has(startupKey) && this.workers.get(startupKey)?.result !== true;
      if (!startupPending) {
        const current = this.pods.get(uid) ?? pod;
        const out = await runProbe(probe, { runtime: this.opts.runtime, containerId: info.id, container: c, host });
        if (w.stopped) return;
        const before = w.result;
        if (out.ok) {
          w.failures = 0;
          w.successes++;
          if (w.successes >= successThreshold) w.result = true;
        } else {
          w.successes = 0;
          w.failures++;
          this.opts.onFailure(current, c, kind, out.output);
          if (w.failures >= failureThreshold) w.result = false;
        }
        if (w.result !== before) this.opts.onChange(uid);
        // A failed liveness/startup probe ends with the container; a passed startup probe is done.
        if ((kind !== 'readiness' && w.result === false) || (kind === 'startup' && w.result === true)) return;
      }
      w.timer = setTimeout(run, periodMs);
    };
    const run = (): void => {
      tick().catch(() => undefined);
    };
    w.timer = setTimeout(run, Math.max(0, startedMs + initialMs - Date.now()));
  }
}
