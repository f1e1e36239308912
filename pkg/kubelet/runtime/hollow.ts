/**
 * An in-memory ContainerRuntime: containers "run" until stopped or until a
 * test makes them exit; pod IPs come from a counter; exec results are
 * scripted per command. Used by the kubelet's unit tests and by hollow nodes
 * in benchmarks. Nothing is executed and nothing touches the host.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  ImageError,
  LABELS,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ExecResult,
  type LogOptions,
  type RuntimeEvent,
  type SandboxSpec,
  type StreamOptions,
  type StreamSession,
} from './types.js';
import { containerLabels, sandboxLabels } from './labels.js';

export interface HollowRuntimeOptions {
  /** Images present from the start (default: none; pulls succeed unless made to fail). */
  images?: string[];
  /** First pod IP octets, e.g. '10.88' (default). */
  ipPrefix?: string;
}

interface HollowContainer {
  info: ContainerInfo;
  nodeName: string;
  logs: string[];
  /** Resolves attach sessions when the container stops. */
  onStop: (() => void)[];
}

type ExecScript = ExecResult | ((containerId: string) => ExecResult);

const PAUSE_IMAGE = 'orch/pause:hollow';

/** The in-memory runtime. */
export class HollowRuntime implements ContainerRuntime {
  readonly type = 'hollow';
  private readonly containers = new Map<string, HollowContainer>();
  private readonly images = new Set<string>();
  private readonly unpullable = new Map<string, string>();
  private readonly execScripts = new Map<string, ExecScript>();
  private readonly listeners = new Set<{ node: string; fn: (e: RuntimeEvent) => void }>();
  private ipCounter = 1;
  private readonly ipPrefix: string;
  /** Every runtime call by name, for tests that assert what was (not) done. */
  readonly calls: { op: string; id?: string; ref?: string }[] = [];

  constructor(opts: HollowRuntimeOptions = {}) {
    for (const i of opts.images ?? []) this.images.add(i);
    this.ipPrefix = opts.ipPrefix ?? '10.88';
  }

  // ---- test hooks ----

  /** Makes a running container exit with `exitCode` (reason e.g. 'OOMKilled'); emits 'die' (and 'oom'). */
  exit(id: string, exitCode: number, reason?: string): void {
    const c = this.containers.get(id);
    if (!c || c.info.state !== 'running') throw new Error(`hollow: container ${id} is not running`);
    this.finish(c, exitCode, reason ?? (exitCode === 0 ? undefined : 'Error'));
    if (reason === 'OOMKilled') this.emit(c, 'oom');
  }

  /** Scripts the result of exec'ing `command` (joined by spaces) in any container; a function gets the container id. */
  setExec(command: string[] | string, result: ExecScript): void {
    this.execScripts.set(Array.isArray(command) ? command.join(' ') : command, result);
  }

  /** Makes pulls of `ref` fail with this message. */
  failPulls(ref: string, message = `pull access denied for ${ref}, repository does not exist or may require 'docker login'`): void {
    this.unpullable.set(ref, message);
  }

  /** Lets pulls of `ref` succeed again. */
  allowPulls(ref: string): void {
    this.unpullable.delete(ref);
  }

  /** Adds a local image. */
  addImage(ref: string): void {
    this.images.add(ref);
  }

  /** Appends output to a container's log. */
  appendLog(id: string, text: string): void {
    this.containers.get(id)?.logs.push(text);
  }

  /** A snapshot of every container (any node). */
  all(): ContainerInfo[] {
    return [...this.containers.values()].map((c) => ({ ...c.info, labels: { ...c.info.labels } }));
  }

  // ---- ContainerRuntime ----

  async version(): Promise<string> {
    return 'hollow://0.1.0';
  }

  async hasImage(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }

  async pullImage(ref: string): Promise<void> {
    this.calls.push({ op: 'pullImage', ref });
    const msg = this.unpullable.get(ref);
    if (msg !== undefined) throw new ImageError('ErrImagePull', msg);
    this.images.add(ref);
  }

  async loadImageArchive(path: string): Promise<string[]> {
    // An archive name stands for the image it holds: "<dir>/busybox_1.tar" → none known; hollow loads nothing.
    this.calls.push({ op: 'loadImageArchive', ref: path });
    return [];
  }

  async ensurePauseImage(): Promise<string> {
    this.images.add(PAUSE_IMAGE);
    return PAUSE_IMAGE;
  }

  async runSandbox(spec: SandboxSpec): Promise<{ id: string; ip?: string }> {
    const id = newId();
    this.calls.push({ op: 'runSandbox', id });
    let ip: string | undefined;
    if (!spec.hostNetwork) {
      const n = this.ipCounter++;
      ip = `${this.ipPrefix}.${(n >> 8) & 255}.${n & 255}`;
    }
    const now = new Date();
    const labels: Record<string, string> = sandboxLabels(spec);
    const c: HollowContainer = {
      nodeName: spec.nodeName,
      logs: [],
      onStop: [],
      info: {
        id,
        type: 'podsandbox',
        podUid: spec.podUid,
        podNamespace: spec.namespace,
        podName: spec.name,
        name: 'POD',
        state: 'running',
        createdAt: now,
        startedAt: now,
        image: PAUSE_IMAGE,
        imageId: imageId(PAUSE_IMAGE),
        restartCount: 0,
        specHash: '',
        ip,
        labels,
      },
    };
    this.containers.set(id, c);
    this.emit(c, 'start');
    return ip === undefined ? { id } : { id, ip };
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const sandbox = this.containers.get(spec.sandboxId);
    if (!sandbox || sandbox.info.type !== 'podsandbox') throw new Error(`hollow: no sandbox ${spec.sandboxId}`);
    if (!this.images.has(spec.image)) throw new Error(`hollow: No such image: ${spec.image}`);
    const id = newId();
    this.calls.push({ op: 'createContainer', id, ref: spec.name });
    const labels: Record<string, string> = containerLabels(spec);
    this.containers.set(id, {
      nodeName: spec.nodeName,
      logs: [],
      onStop: [],
      info: {
        id,
        type: 'container',
        podUid: spec.podUid,
        podNamespace: spec.namespace,
        podName: spec.podName,
        name: spec.name,
        kind: spec.kind,
        state: 'created',
        createdAt: new Date(),
        image: spec.image,
        imageId: imageId(spec.image),
        restartCount: spec.restartCount,
        specHash: spec.specHash,
        labels,
      },
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.must(id);
    this.calls.push({ op: 'startContainer', id });
    if (c.info.state === 'running') return;
    if (c.info.state === 'exited') throw new Error(`hollow: container ${id} has exited; create a new one`);
    c.info.state = 'running';
    c.info.startedAt = new Date();
    this.emit(c, 'start');
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    this.calls.push({ op: 'stopContainer', id, ref: String(graceSeconds) });
    if (!c || c.info.state !== 'running') return;
    // The process honours SIGTERM: 128 + 15.
    this.finish(c, 143, 'Error');
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    this.calls.push({ op: 'removeContainer', id });
    if (!c) return;
    if (c.info.state === 'running') this.finish(c, 137, 'Error');
    this.containers.delete(id);
    this.emit(c, 'destroy');
  }

  async listContainers(nodeName: string): Promise<ContainerInfo[]> {
    return [...this.containers.values()].filter((c) => c.nodeName === nodeName).map((c) => snapshot(c.info));
  }

  async listPodContainers(nodeName: string, podUid: string): Promise<ContainerInfo[]> {
    return [...this.containers.values()].filter((c) => c.nodeName === nodeName && c.info.podUid === podUid).map((c) => snapshot(c.info));
  }

  async inspectContainer(id: string): Promise<ContainerInfo | undefined> {
    const c = this.containers.get(id);
    return c ? snapshot(c.info) : undefined;
  }

  async execSync(id: string, command: string[], _timeoutMs: number): Promise<ExecResult> {
    const c = this.must(id);
    if (c.info.state !== 'running') throw new Error(`hollow: container ${id} is not running`);
    return this.runScript(id, command);
  }

  async exec(id: string, command: string[], opts: StreamOptions): Promise<StreamSession> {
    const c = this.must(id);
    if (c.info.state !== 'running') throw new Error(`hollow: container ${id} is not running`);
    const r = this.runScript(id, command);
    const stdout = new PassThrough();
    stdout.end(r.output);
    const session: StreamSession = { stdout, resize: async () => undefined, done: Promise.resolve(r.exitCode), close: () => stdout.destroy() };
    if (opts.stdin) session.stdin = new PassThrough();
    if (opts.stderr && !opts.tty) session.stderr = Readable.from([]);
    return session;
  }

  async attach(id: string, opts: StreamOptions): Promise<StreamSession> {
    const c = this.must(id);
    const stdout = new PassThrough();
    const done = new Promise<number>((resolve) => {
      if (c.info.state !== 'running') return resolve(c.info.exitCode ?? 0);
      c.onStop.push(() => {
        stdout.end();
        resolve(c.info.exitCode ?? 0);
      });
    });
    const session: StreamSession = { stdout, resize: async () => undefined, done, close: () => stdout.end() };
    if (opts.stdin) session.stdin = new PassThrough();
    return session;
  }

  async logs(id: string, opts: LogOptions): Promise<Readable> {
    const c = this.must(id);
    let lines = c.logs.slice();
    if (opts.tailLines !== undefined) lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    // follow: hollow containers write nothing new on their own, so the stream ends with what there is.
    return Readable.from(lines);
  }

  watchEvents(nodeName: string, onEvent: (e: RuntimeEvent) => void): () => void {
    const l = { node: nodeName, fn: onEvent };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  // ---- internals ----

  private must(id: string): HollowContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`hollow: No such container: ${id}`);
    return c;
  }

  private runScript(id: string, command: string[]): ExecResult {
    const s = this.execScripts.get(command.join(' '));
    // Unscripted commands succeed: hollow nodes in benchmarks run exec probes without scripts.
    if (s === undefined) return { exitCode: 0, output: '', timedOut: false };
    return typeof s === 'function' ? s(id) : s;
  }

  private finish(c: HollowContainer, exitCode: number, reason: string | undefined): void {
    c.info.state = 'exited';
    c.info.exitCode = exitCode;
    c.info.finishedAt = new Date();
    if (reason !== undefined) c.info.reason = reason;
    for (const f of c.onStop.splice(0)) f();
    this.emit(c, 'die');
  }

  private emit(c: HollowContainer, action: RuntimeEvent['action']): void {
    const e: RuntimeEvent = { containerId: c.info.id, podUid: c.info.podUid, action };
    for (const l of this.listeners) if (l.node === c.nodeName) queueMicrotask(() => l.fn(e));
  }
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

function imageId(ref: string): string {
  let h = 0;
  for (let i = 0; i < ref.length; i++) h = (h * 31 + ref.charCodeAt(i)) >>> 0;
  return `sha256:${h.toString(16).padStart(8, '0').repeat(8)}`;
}

function snapshot(info: ContainerInfo): ContainerInfo {
  return { ...info, labels: { ...info.labels } };
}
