/**
 * The Docker implementation of the kubelet's container runtime (dockershim's
 * model): a pod is a pause container holding the network and IPC namespaces
 * plus app containers joining them (`container:<sandboxId>`). Everything we
 * create carries LABELS, including the owning node, so several agents can
 * share a daemon and a restarted agent can adopt its containers.
 *
 * dockerode types stay in this file and docker-*.ts.
 */

import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import Docker from 'dockerode';
import {
  ImageError,
  LABELS,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStateName,
  type ExecResult,
  type LogOptions,
  type RuntimeEvent,
  type SandboxSpec,
  type StreamOptions,
  type StreamSession,
} from './types.js';
import { containerLabels, sandboxLabels } from './labels.js';
import { PAUSE_CMD, PAUSE_IMAGE, pauseRootfsTar } from './pause-image.js';
import { demuxInterleaved, demuxSplit, followProgress, isRecord, limitRaw, onJsonLines } from './docker-streams.js';

/** How to reach the Docker daemon. */
export interface DockerRuntimeOptions {
  /** Path of the daemon's unix socket (default /var/run/docker.sock). */
  socketPath?: string;
  /** A DOCKER_HOST-style address: unix:///path or tcp://host:port (wins over socketPath; default $DOCKER_HOST). */
  host?: string;
  /** A pull fails after this long without progress from the daemon (default 60 s). */
  pullIdleTimeoutMs?: number;
}

/** Probe output kept by execSync (the kubelet's limit on exec probe output). */
const MAX_EXEC_OUTPUT = 10 * 1024;
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Creates the Docker runtime. */
export function dockerRuntime(opts: DockerRuntimeOptions = {}): ContainerRuntime {
  return new DockerRuntime(opts);
}

/** dockerode's connection options from ours. */
function connection(opts: DockerRuntimeOptions): Docker.DockerOptions {
  // host: undefined below overrides what docker-modem would read from DOCKER_HOST itself.
  const host = opts.host ?? (opts.socketPath ? undefined : process.env['DOCKER_HOST']);
  if (host) {
    if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length), host: undefined };
    const u = new URL(host.includes('://') ? host : `tcp://${host}`);
    if (u.protocol !== 'tcp:' && u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Error(`unsupported Docker host '${host}' (use unix:///path or tcp://host:port)`);
    }
    return { host: u.hostname, port: u.port || '2375', protocol: u.protocol === 'https:' ? 'https' : 'http' };
  }
  return { socketPath: opts.socketPath ?? '/var/run/docker.sock', host: undefined };
}

/** The HTTP status of a dockerode error, if any. */
function statusOf(err: unknown): number | undefined {
  if (err instanceof Error && 'statusCode' in err && typeof err.statusCode === 'number') return err.statusCode;
  return undefined;
}

/** The daemon's own message of a dockerode error. */
function messageOf(err: unknown): string {
  if (err instanceof Error) {
    if ('json' in err && isRecord(err.json) && typeof err.json['message'] === 'string') return err.json['message'];
    return err.message;
  }
  return String(err);
}

/** A stream dockerode typed as NodeJS.ReadableStream, checked to be a node Readable. */
function asReadable(s: unknown): Readable {
  if (s instanceof Readable) return s;
  throw new Error('Docker returned an unexpected stream object');
}

/** A hijacked connection (socket or HttpDuplex): readable and writable. */
function asDuplex(s: unknown): Readable & Writable {
  if (s instanceof Readable && s instanceof Writable) return s as Readable & Writable; // both checks just made
  throw new Error('Docker returned an unexpected stream object');
}

const IMAGE_REF = new RegExp(
  '^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?' +
    '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*' +
    '(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$',
);

/** Whether ref is a well-formed image reference. */
export function validImageRef(ref: string): boolean {
  return ref.length > 0 && ref.length <= 255 && IMAGE_REF.test(ref);
}

/** Docker container name of a sandbox (dockershim's scheme). */
export function sandboxName(s: { name: string; namespace: string; podUid: string }): string {
  return `k8s_POD_${s.name}_${s.namespace}_${s.podUid}_0`;
}

/** Docker container name of an app container (dockershim's scheme). */
export function containerName(c: { name: string; podName: string; namespace: string; podUid: string; restartCount: number }): string {
  return `k8s_${c.name}_${c.podName}_${c.namespace}_${c.podUid}_${c.restartCount}`;
}

/** Docker's ExtraHosts entries ('name:ip') from /etc/hosts lines ('ip name…'); 'name:ip' entries pass as they are. */
function extraHosts(lines: string[] | undefined): string[] | undefined {
  if (!lines?.length) return undefined;
  const out: string[] = [];
  for (const line of lines) {
    const fields = line.trim().split(/\s+/).filter(Boolean);
    if (fields.length === 1 && fields[0]) out.push(fields[0]);
    else if (fields.length > 1) for (const name of fields.slice(1)) out.push(`${name}:${fields[0]}`);
  }
  return out;
}

function dockerTime(s: string | undefined): Date | undefined {
  if (!s || s === ZERO_TIME || s.startsWith('0001-')) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function stateName(status: string): ContainerStateName {
  switch (status) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'exited':
    case 'dead':
    case 'removing':
      return 'exited';
    default:
      return 'unknown';
  }
}

function intLabel(labels: Record<string, string>, key: string): number {
  const n = Number.parseInt(labels[key] ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/** Our ContainerInfo from Docker's inspect result. */
function toInfo(c: Docker.ContainerInspectInfo): ContainerInfo {
  const labels = c.Config.Labels ?? {};
  const state = stateName(c.State.Status);
  const type = labels[LABELS.type] === 'podsandbox' ? 'podsandbox' : 'container';
  const kind = labels[LABELS.containerKind];
  const info: ContainerInfo = {
    id: c.Id,
    type,
    podUid: labels[LABELS.podUid] ?? '',
    podNamespace: labels[LABELS.podNamespace] ?? '',
    podName: labels[LABELS.podName] ?? '',
    name: labels[LABELS.containerName] ?? (type === 'podsandbox' ? 'POD' : c.Name.replace(/^\//, '')),
    state,
    createdAt: new Date(c.Created),
    image: c.Config.Image,
    imageId: c.Image,
    restartCount: intLabel(labels, LABELS.restartCount),
    specHash: labels[LABELS.specHash] ?? '',
    labels,
  };
  if (kind === 'init' || kind === 'regular') info.kind = kind;
  const startedAt = dockerTime(c.State.StartedAt);
  if (startedAt) info.startedAt = startedAt;
  if (state === 'exited') {
    info.exitCode = c.State.ExitCode;
    info.reason = c.State.OOMKilled ? 'OOMKilled' : c.State.ExitCode === 0 ? 'Completed' : 'Error';
    const finishedAt = dockerTime(c.State.FinishedAt);
    if (finishedAt) info.finishedAt = finishedAt;
  }
  if (c.State.Error) info.message = c.State.Error;
  const ip = Object.values(c.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  if (ip) info.ip = ip;
  return info;
}

/** The Docker runtime. */
export class DockerRuntime implements ContainerRuntime {
  readonly type = 'docker';
  private readonly docker: Docker;
  private readonly pullIdleTimeoutMs: number;
  private pauseImage: Promise<string> | undefined;
  /** Inspect results of listed containers, reused while Docker's listed state is unchanged. */
  private readonly inspectCache = new Map<string, { state: string; info: ContainerInfo }>();
  /**
   * Events seen per container. Docker sends `die` before its listing shows the
   * container exited (the list reads a replica updated later; inspect waits for
   * the container's lock), so an event drops the cached inspect, and an inspect
   * that raced with an event is not cached.
   */
  private readonly eventSeq = new Map<string, number>();

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = new Docker(connection(opts));
    this.pullIdleTimeoutMs = opts.pullIdleTimeoutMs ?? 60_000;
  }

  async version(): Promise<string> {
    const v = await this.docker.version();
    return `docker://${v.Version}`;
  }

  async hasImage(ref: string): Promise<boolean> {
    if (!validImageRef(ref)) return false;
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async pullImage(ref: string): Promise<void> {
    if (!validImageRef(ref)) throw new ImageError('InvalidImageName', `invalid image name "${ref}"`);
    const abort = new AbortController();
    // The daemon answers a pull with a progress stream; an unreachable registry
    // is an HTTP error or an {error} line, normally within milliseconds. The
    // idle timer covers a daemon that hangs on a black-holed registry.
    const timer = setTimeout(() => abort.abort(), this.pullIdleTimeoutMs);
    try {
      const stream = asReadable(await this.docker.pull(ref, { abortSignal: abort.signal }));
      clearTimeout(timer);
      await followProgress(stream, this.pullIdleTimeoutMs);
    } catch (err) {
      const why = abort.signal.aborted ? `no answer from the Docker daemon for ${this.pullIdleTimeoutMs} ms` : messageOf(err);
      throw new ImageError('ErrImagePull', `failed to pull image "${ref}": ${why}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async loadImageArchive(path: string): Promise<string[]> {
    const stream = asReadable(await this.docker.loadImage(createReadStream(path), { quiet: true }));
    const refs: string[] = [];
    await followProgress(stream, this.pullIdleTimeoutMs, (obj) => {
      const line = obj['stream'];
      if (typeof line !== 'string') return;
      const m = /^Loaded image(?: ID)?: (\S+)/.exec(line.trim());
      if (m?.[1]) refs.push(m[1]);
    });
    return refs;
  }

  ensurePauseImage(): Promise<string> {
    // Memoized per runtime so concurrent sandboxes import once; a failure is retried next time.
    this.pauseImage ??= this.buildPauseImage().catch((err: unknown) => {
      this.pauseImage = undefined;
      throw err;
    });
    return this.pauseImage;
  }

  private async buildPauseImage(): Promise<string> {
    if (await this.hasImage(PAUSE_IMAGE)) return PAUSE_IMAGE;
    const [repo, tag] = PAUSE_IMAGE.split(':');
    const tarball = Readable.from([await pauseRootfsTar()]);
    const stream = asReadable(
      await this.docker.importImage(tarball, { repo, tag, changes: `CMD ${JSON.stringify(PAUSE_CMD)}` }),
    );
    await followProgress(stream, this.pullIdleTimeoutMs);
    if (!(await this.hasImage(PAUSE_IMAGE))) throw new Error(`importing ${PAUSE_IMAGE} did not create it`);
    return PAUSE_IMAGE;
  }

  /** Removes a container by name if it exists (a leftover of a crashed attempt). */
  private async removeStale(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).remove({ force: true, v: true });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 404 && code !== 409) throw err;
    }
  }

  /**
   * Creates a named container. A same-named leftover of a crashed attempt
   * is removed only when Docker reports the conflict: removing first cost a
   * (404) call on every start.
   */
  private async createNamed(opts: Docker.ContainerCreateOptions & { name: string }): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(opts);
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      await this.removeStale(opts.name);
      return this.docker.createContainer(opts);
    }
  }

  async runSandbox(spec: SandboxSpec): Promise<{ id: string; ip?: string }> {
    const image = await this.ensurePauseImage();
    const name = sandboxName(spec);
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    if (!spec.hostNetwork) {
      for (const p of spec.portMappings) {
        const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: p.hostIP ?? '', HostPort: String(p.hostPort) });
      }
    }
    const hostConfig: Docker.HostConfig = {
      NetworkMode: spec.hostNetwork ? 'host' : (spec.network ?? 'bridge'),
      // App containers join the sandbox's IPC namespace: Docker only lets them if it is shareable.
      IpcMode: 'shareable',
      PortBindings: bindings,
      RestartPolicy: { Name: 'no' },
      ExtraHosts: extraHosts(spec.extraHosts),
    };
    if (spec.dns) {
      hostConfig.Dns = spec.dns.nameservers;
      hostConfig.DnsSearch = spec.dns.searches;
      hostConfig.DnsOptions = spec.dns.options;
    }
    const created = await this.createNamed({
      name,
      Image: image,
      Cmd: PAUSE_CMD,
      // With host networking the pod has the node's hostname, as in Kubernetes.
      Hostname: spec.hostNetwork ? undefined : spec.hostname,
      ExposedPorts: exposed,
      Labels: sandboxLabels(spec),
      HostConfig: hostConfig,
    });
    try {
      await created.start();
      const info = toInfo(await created.inspect());
      return info.ip && !spec.hostNetwork ? { id: created.id, ip: info.ip } : { id: created.id };
    } catch (err) {
      await this.removeContainer(created.id);
      throw err;
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const name = containerName({ ...spec });
    const r = spec.resources;
    const hostConfig: Docker.HostConfig = {
      NetworkMode: `container:${spec.sandboxId}`,
      IpcMode: `container:${spec.sandboxId}`,
      Binds: spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}:${m.readOnly ? 'ro' : 'rw'}`),
      RestartPolicy: { Name: 'no' },
      Privileged: spec.privileged ?? false,
      // Kubernetes' minimum shares when nothing is requested (BestEffort).
      CpuShares: r.cpuRequestMillis ? Math.max(2, Math.floor((r.cpuRequestMillis * 1024) / 1000)) : 2,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    };
    if (r.memoryBytes) {
      hostConfig.Memory = r.memoryBytes;
      hostConfig.MemorySwap = r.memoryBytes; // no swap beyond the limit
    }
    if (r.cpuMillis) {
      hostConfig.CpuPeriod = 100_000;
      hostConfig.CpuQuota = Math.max(1000, r.cpuMillis * 100);
    }
    const opts: Docker.ContainerCreateOptions = {
      name,
      Image: spec.image,
      Env: spec.env.map((e) => `${e.name}=${e.value}`),
      Tty: spec.tty,
      OpenStdin: spec.stdin,
      StdinOnce: spec.stdinOnce,
      AttachStdin: spec.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Labels: containerLabels(spec),
      HostConfig: hostConfig,
    };
    // Kubernetes semantics map onto Docker's: a set Entrypoint drops the
    // image's CMD; args alone replace only CMD.
    if (spec.command?.length) opts.Entrypoint = spec.command;
    if (spec.args?.length) opts.Cmd = spec.args;
    else if (spec.command?.length) opts.Cmd = [];
    if (spec.workingDir) opts.WorkingDir = spec.workingDir;
    if (spec.runAsUser !== undefined) {
      opts.User = spec.runAsGroup !== undefined ? `${spec.runAsUser}:${spec.runAsGroup}` : String(spec.runAsUser);
    }
    const c = await this.createNamed({ ...opts, name });
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (statusOf(err) === 304) return; // already started
      throw new Error(`starting container ${id.slice(0, 12)}: ${messageOf(err)}`);
    }
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) });
    } catch (err) {
      const code = statusOf(err);
      if (code !== 304 && code !== 404) throw err;
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      const code = statusOf(err);
      // 404: gone already; 409: a removal is already in progress.
      if (code !== 404 && code !== 409) throw err;
    }
    this.inspectCache.delete(id);
  }

  async listContainers(nodeName: string): Promise<ContainerInfo[]> {
    return this.listLabelled([`${LABELS.node}=${nodeName}`], true);
  }

  /** One pod's containers: a pod's sync must not wait on inspecting its neighbours' (Docker locks a container while it starts). */
  async listPodContainers(nodeName: string, podUid: string): Promise<ContainerInfo[]> {
    return this.listLabelled([`${LABELS.node}=${nodeName}`, `${LABELS.podUid}=${podUid}`], false);
  }

  /** Lists by labels, inspecting only containers whose state changed; `complete` lists prune the cache. */
  private async listLabelled(labels: string[], complete: boolean): Promise<ContainerInfo[]> {
    const listed = await this.docker.listContainers({ all: true, filters: { label: labels } });
    const seen = new Set<string>();
    const out = await Promise.all(
      listed.map(async (c): Promise<ContainerInfo | undefined> => {
        seen.add(c.Id);
        // A container's inspect data only changes with its state (we never
        // restart one in place), so list + cached inspect is one call per change.
        const cached = this.inspectCache.get(c.Id);
        if (cached && cached.state === c.State) return cached.info;
        const seq = this.eventSeq.get(c.Id);
        const info = await this.inspectContainer(c.Id);
        if (info && this.eventSeq.get(c.Id) === seq) this.inspectCache.set(c.Id, { state: c.State, info });
        return info;
      }),
    );
    if (complete) {
      for (const id of this.inspectCache.keys()) if (!seen.has(id)) this.inspectCache.delete(id);
      for (const id of this.eventSeq.keys()) if (!seen.has(id)) this.eventSeq.delete(id);
    }
    return out.filter((c): c is ContainerInfo => c !== undefined);
  }

  /** A container's state changed: its next listing inspects it again. */
  private noteEvent(id: string): void {
    this.inspectCache.delete(id);
    this.eventSeq.set(id, (this.eventSeq.get(id) ?? 0) + 1);
  }

  async inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    try {
      return toInfo(await this.docker.getContainer(id).inspect());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Runs a command to completion, collecting up to 10 KiB of output. Docker has
   * no API to kill an exec'd process: at the timeout we stop reading and return
   * timedOut (exit code -1); the process is left to end on its own.
   */
  async execSync(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const exec = await this.docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = asReadable(await exec.start({}));
    const chunks: Buffer[] = [];
    let size = 0;
    const out = demuxInterleaved(stream);
    out.on('data', (c: Buffer) => {
      if (size < MAX_EXEC_OUTPUT) {
        chunks.push(c.subarray(0, MAX_EXEC_OUTPUT - size));
        size += Math.min(c.length, MAX_EXEC_OUTPUT - size);
      }
    });
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      out.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const output = Buffer.concat(chunks).toString('utf8');
    if (!finished) {
      stream.destroy();
      return { exitCode: -1, output, timedOut: true };
    }
    return { exitCode: await this.execExitCode(exec), output, timedOut: false };
  }

  /** The exit code of an exec whose stream ended (Docker may still report it running for a moment). */
  private async execExitCode(exec: Docker.Exec): Promise<number> {
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running) return info.ExitCode ?? -1;
      await new Promise((r) => setTimeout(r, 20));
    }
    return -1;
  }

  async exec(id: string, command: string[], opts: StreamOptions): Promise<StreamSession> {
    const exec = await this.docker.getContainer(id).exec({
      Cmd: command,
      AttachStdin: opts.stdin,
      AttachStdout: opts.stdout,
      AttachStderr: opts.stderr,
      Tty: opts.tty,
    });
    const conn = asDuplex(await exec.start({ hijack: true, stdin: opts.stdin, Tty: opts.tty }));
    const ended = streamEnded(conn);
    return this.session(conn, opts, opts.tty, {
      resize: async (w, h) => {
        if (opts.tty) await ignoreGone(exec.resize({ w, h }));
      },
      done: ended.then(() => this.execExitCode(exec)),
    });
  }

  async attach(id: string, opts: StreamOptions): Promise<StreamSession> {
    const container = this.docker.getContainer(id);
    const info = await container.inspect();
    const tty = info.Config.Tty;
    const abort = new AbortController();
    const conn = asDuplex(
      await container.attach({ stream: true, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, hijack: true }),
    );
    const done = container
      .wait({ abortSignal: abort.signal })
      .then((r: unknown) => (isRecord(r) && typeof r['StatusCode'] === 'number' ? r['StatusCode'] : -1))
      .catch(() => -1);
    return this.session(
      conn,
      opts,
      tty,
      {
        resize: async (w, h) => {
          if (tty) await ignoreGone(container.resize({ w, h }));
        },
        done,
      },
      () => abort.abort(),
    );
  }

  /** A StreamSession over a hijacked connection. */
  private session(
    conn: Readable & Writable,
    opts: StreamOptions,
    tty: boolean,
    parts: { resize: (w: number, h: number) => Promise<void>; done: Promise<number> },
    onClose?: () => void,
  ): StreamSession {
    const s: StreamSession = {
      resize: parts.resize,
      done: parts.done,
      close: () => {
        onClose?.();
        conn.destroy();
      },
    };
    // Ending stdin half-closes the connection: Docker then closes the process' stdin.
    if (opts.stdin) {
      s.stdin = new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          conn.write(chunk, cb);
        },
        final: (cb) => {
          conn.end();
          cb();
        },
      });
    }
    if (tty) {
      if (opts.stdout) s.stdout = conn;
    } else {
      const { stdout, stderr } = demuxSplit(conn);
      if (opts.stdout) s.stdout = stdout;
      else stdout.resume();
      if (opts.stderr) s.stderr = stderr;
      else stderr.resume();
    }
    return s;
  }

  async logs(id: string, opts: LogOptions): Promise<Readable> {
    const container = this.docker.getContainer(id);
    let tty: boolean;
    try {
      tty = (await container.inspect()).Config.Tty;
    } catch (err) {
      if (statusOf(err) === 404) throw new Error(`container ${id} not found`);
      throw err;
    }
    const query: Record<string, string | number | boolean> = {
      follow: opts.follow,
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps,
      tail: opts.tailLines !== undefined ? Math.max(0, opts.tailLines) : 'all',
    };
    const since = opts.sinceTime ? opts.sinceTime.getTime() / 1000 : opts.sinceSeconds ? Date.now() / 1000 - opts.sinceSeconds : undefined;
    if (since !== undefined) query['since'] = since.toFixed(9);
    // Dialled directly so the answer is a stream even without follow (dockerode buffers it then).
    const raw = await new Promise<unknown>((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${encodeURIComponent(id)}/logs?`,
          method: 'GET',
          options: query,
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        },
        (err, data: unknown) => (err ? reject(err) : resolve(data)),
      );
    });
    const stream = asReadable(raw);
    return tty ? limitRaw(stream, opts.limitBytes) : demuxInterleaved(stream, opts.limitBytes);
  }

  watchEvents(nodeName: string, onEvent: (e: RuntimeEvent) => void): () => void {
    let stopped = false;
    let current: Readable | undefined;
    let retry: NodeJS.Timeout | undefined;
    // `since` replays what happened between the call and the subscription
    // (and across reconnects), so no event is lost to the race.
    let since = Date.now() / 1000;
    let backoff = 250;
    const connect = () => {
      if (stopped) return;
      this.docker
        .getEvents({
          since,
          filters: { type: ['container'], event: ['start', 'die', 'oom', 'destroy'], label: [`${LABELS.node}=${nodeName}`] },
        })
        .then((s: unknown) => {
          const stream = asReadable(s);
          if (stopped) {
            stream.destroy();
            return;
          }
          current = stream;
          backoff = 250;
          onJsonLines(stream, (obj) => {
            if (!isRecord(obj)) return;
            const action = obj['Action'] ?? obj['status'];
            const id = obj['id'] ?? (isRecord(obj['Actor']) ? obj['Actor']['ID'] : undefined);
            const attrs = isRecord(obj['Actor']) && isRecord(obj['Actor']['Attributes']) ? obj['Actor']['Attributes'] : {};
            const podUid = attrs[LABELS.podUid];
            const nano = obj['timeNano'];
            if (typeof nano === 'number') since = Math.max(since, nano / 1e9);
            if (typeof id !== 'string' || typeof podUid !== 'string') return;
            if (action === 'start' || action === 'die' || action === 'oom' || action === 'destroy') {
              this.noteEvent(id);
              onEvent({ containerId: id, podUid, action });
            }
          });
          const again = () => {
            if (current === stream) current = undefined;
            schedule();
          };
          stream.on('end', again);
          stream.on('close', again);
          stream.on('error', again);
        })
        .catch(() => schedule());
    };
    const schedule = () => {
      if (stopped || retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, backoff);
      backoff = Math.min(backoff * 2, 10_000);
    };
    connect();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      current?.destroy();
    };
  }
}

/** Awaits p, ignoring the errors of a process or container that has already ended (a resize racing the exit). */
async function ignoreGone(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const code = statusOf(err);
    if (code !== 404 && code !== 409 && code !== 500) throw err;
  }
}

/** Resolves when a stream has ended or closed. */
function streamEnded(s: Readable): Promise<void> {
  return new Promise((resolve) => {
    s.once('end', () => resolve());
    s.once('close', () => resolve());
    s.once('error', () => resolve());
  });
}
