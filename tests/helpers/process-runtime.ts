/**
 * A ContainerRuntime for streaming tests whose "containers" are host
 * processes (child_process): exec runs the command on the host, a container's
 * main process is spawned by `run`, and its output is kept as log lines with
 * timestamps. Only the streaming methods work; the rest throw.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import type { ContainerRuntime, LogOptions, StreamOptions, StreamSession } from '../../pkg/kubelet/runtime/types.js';
import type { ContainerRef } from '../../pkg/kubelet/streaming.js';

interface LogLine {
  at: Date;
  data: Buffer;
}

interface FakeContainer {
  id: string;
  namespace: string;
  pod: string;
  name: string;
  child: ChildProcess;
  lines: LogLine[];
  running: boolean;
  exited: Promise<number>;
  followers: Set<(l: LogLine) => void>;
}

function ts(d: Date): string {
  return d.toISOString().replace('Z', '000000Z');
}

function notImplemented(): never {
  throw new Error('not implemented by the process runtime');
}

/** Splits a stream into lines (keeping '\n'), calling onLine for each. */
function lineSplitter(onLine: (line: Buffer) => void): { push(b: Buffer): void; end(): void } {
  let rest = Buffer.alloc(0);
  return {
    push(b) {
      rest = Buffer.concat([rest, b]);
      let i: number;
      while ((i = rest.indexOf(10)) >= 0) {
        onLine(rest.subarray(0, i + 1));
        rest = rest.subarray(i + 1);
      }
    },
    end() {
      if (rest.length > 0) onLine(rest);
      rest = Buffer.alloc(0);
    },
  };
}

export class ProcessRuntime implements ContainerRuntime {
  readonly type = 'process';
  readonly resizes: { id: string; width: number; height: number }[] = [];
  private readonly containers = new Map<string, FakeContainer>();
  private readonly byPod = new Map<string, string[]>();
  private seq = 0;

  /** Starts a container whose main process is `command`; returns its id. */
  run(namespace: string, pod: string, name: string, command: string[]): string {
    const id = `c${++this.seq}`;
    const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const c: FakeContainer = {
      id,
      namespace,
      pod,
      name,
      child,
      lines: [],
      running: true,
      exited: new Promise((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 137 : 0)))),
      followers: new Set(),
    };
    const add = (data: Buffer) => {
      const l = { at: new Date(), data };
      c.lines.push(l);
      for (const f of c.followers) f(l);
    };
    const out = lineSplitter(add);
    const err = lineSplitter(add);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.stdin?.on('error', () => {});
    void c.exited.then(() => {
      out.end();
      err.end();
      c.running = false;
      for (const f of c.followers) f({ at: new Date(), data: Buffer.alloc(0) });
    });
    this.containers.set(id, c);
    const key = `${namespace}/${pod}/${name}`;
    this.byPod.set(key, [...(this.byPod.get(key) ?? []), id]);
    return id;
  }

  /** findContainer as the kubelet offers it: the newest container of that name, or the one before with previous. */
  findContainer = (namespace: string, pod: string, container?: string, previous?: boolean): ContainerRef | undefined => {
    const ids = this.byPod.get(`${namespace}/${pod}/${container ?? ''}`) ?? [];
    const id = previous ? ids.at(-2) : ids.at(-1);
    return id ? { id, name: container ?? '' } : undefined;
  };

  /** Resolves with the container's exit code. */
  exited(id: string): Promise<number> {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    return c.exited;
  }

  /** Writes to a container's main process' stdin. */
  writeStdin(id: string, text: string): void {
    this.get(id).child.stdin?.write(text);
  }

  /** How many log readers follow a container now. */
  followerCount(id: string): number {
    return this.get(id).followers.size;
  }

  /** Kills every process still running. */
  stopAll(): Promise<void> {
    const waits = [...this.containers.values()].filter((c) => c.running).map((c) => (c.child.kill('SIGKILL'), c.exited));
    return Promise.all(waits).then(() => undefined);
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`No such container: ${id}`);
    return c;
  }

  async exec(id: string, command: string[], opts: StreamOptions): Promise<StreamSession> {
    this.get(id);
    const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const done = new Promise<number>((resolve) => {
      child.once('error', () => resolve(126));
      child.once('close', (code, signal) => resolve(code ?? (signal ? 137 : 0)));
    });
    if (!opts.stdin) child.stdin?.end();
    child.stdin?.on('error', () => {});
    let stdout: Readable | undefined = opts.stdout ? child.stdout ?? undefined : undefined;
    let stderr: Readable | undefined = opts.stderr ? child.stderr ?? undefined : undefined;
    if (opts.tty) {
      // No pty here: a tty session has one output stream, as Docker's does.
      const merged = new PassThrough();
      let open = 2;
      for (const s of [child.stdout, child.stderr]) {
        s?.on('data', (b: Buffer) => merged.write(b));
        s?.once('end', () => --open === 0 && merged.end());
      }
      stdout = merged;
      stderr = undefined;
    }
    if (!opts.stdout && !opts.tty) child.stdout?.resume();
    if (!stderr && !opts.tty) child.stderr?.resume();
    return {
      stdin: opts.stdin ? child.stdin ?? undefined : undefined,
      stdout,
      stderr,
      resize: async (width, height) => {
        this.resizes.push({ id, width, height });
      },
      done,
      close: () => child.kill('SIGKILL'),
    };
  }

  async attach(id: string, opts: StreamOptions): Promise<StreamSession> {
    const c = this.get(id);
    const stdout = opts.stdout ? new PassThrough() : undefined;
    const stderr = opts.stderr && !opts.tty ? new PassThrough() : undefined;
    const onOut = (b: Buffer) => stdout?.write(b);
    const onErr = (b: Buffer) => (stderr ?? stdout)?.write(b);
    c.child.stdout?.on('data', onOut);
    c.child.stderr?.on('data', onErr);
    const detach = () => {
      c.child.stdout?.off('data', onOut);
      c.child.stderr?.off('data', onErr);
      stdout?.end();
      stderr?.end();
    };
    const done = c.exited.then((code) => {
      detach();
      return code;
    });
    return {
      stdin: opts.stdin ? c.child.stdin ?? undefined : undefined,
      stdout,
      stderr,
      resize: async (width, height) => {
        this.resizes.push({ id, width, height });
      },
      done,
      close: detach,
    };
  }

  async logs(id: string, opts: LogOptions): Promise<Readable> {
    const c = this.get(id);
    const since = opts.sinceTime ?? (opts.sinceSeconds !== undefined ? new Date(Date.now() - opts.sinceSeconds * 1000) : undefined);
    const fmt = (l: LogLine) => (opts.timestamps ? Buffer.concat([Buffer.from(`${ts(l.at)} `), l.data]) : l.data);
    let lines = c.lines.filter((l) => !since || l.at >= since);
    if (opts.tailLines !== undefined) lines = opts.tailLines === 0 ? [] : lines.slice(-opts.tailLines);
    const out = new PassThrough();
    for (const l of lines) out.write(fmt(l));
    if (!opts.follow || !c.running) {
      out.end();
      return out;
    }
    const follower = (l: LogLine) => {
      if (l.data.length > 0) out.write(fmt(l));
      else out.end();
    };
    c.followers.add(follower);
    out.once('close', () => c.followers.delete(follower));
    out.once('finish', () => c.followers.delete(follower));
    return out;
  }

  version = async () => 'process://1';
  hasImage = async () => true;
  pullImage = async () => notImplemented();
  loadImageArchive = async () => notImplemented();
  ensurePauseImage = async () => notImplemented();
  runSandbox = async () => notImplemented();
  createContainer = async () => notImplemented();
  startContainer = async () => notImplemented();
  stopContainer = async () => notImplemented();
  removeContainer = async () => notImplemented();
  listContainers = async () => [];
  listPodContainers = async () => [];
  inspectContainer = async () => undefined;
  execSync = async () => notImplemented();
  watchEvents = () => () => {};
}
