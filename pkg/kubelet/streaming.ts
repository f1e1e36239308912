/**
 * The kubelet's side of logs, exec, attach and port-forward: serves one
 * StreamRequest on one WebSocket the agent dialled to the server. Exec and
 * attach speak the Kubernetes channel framing (v5.channel.k8s.io down to
 * channel.k8s.io, as the server negotiated with the client), so the server
 * only relays frames; logs are raw bytes; port-forward is the
 * v4.channel.k8s.io port-forward framing.
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import { KubeletLookupError } from './kubelet.js';
import type { ContainerRuntime, LogOptions, StreamSession } from './runtime/types.js';
import { CHANNEL, exitStatus, frame, statusIsJson, supportsClose, type StreamHeader, type StreamRequest } from './streaming-protocol.js';

export type { StreamRequest } from './streaming-protocol.js';

/** A container the kubelet knows for a pod. */
export interface ContainerRef {
  id: string;
  name: string;
}

/** Where a pod can be reached from its node. */
export interface PodAddress {
  ip?: string;
  hostNetwork: boolean;
}

export interface StreamDeps {
  runtime: ContainerRuntime;
  /** The pod's container (current, or the one before it with previous); undefined when there is none. */
  findContainer(namespace: string, pod: string, container?: string, previous?: boolean): ContainerRef | undefined | Promise<ContainerRef | undefined>;
  /** The pod's IP as the kubelet knows it (port-forward); falls back to what the server sent. */
  podAddress?(namespace: string, pod: string): PodAddress | undefined | Promise<PodAddress | undefined>;
  /** Opens a TCP connection (tests may redirect it); default net.connect. */
  dial?(host: string, port: number): Socket;
}

// Above this many bytes queued on the socket we stop reading the source.
const HIGH_WATER = 1 << 20;
const OPEN = 1;

class StreamFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function sendHeader(ws: WebSocket, h: StreamHeader): void {
  ws.send(JSON.stringify(h));
}

/** Sends while honouring backpressure: pauses `source` until the socket drains. */
function pump(ws: WebSocket, source: Readable, wrap: (chunk: Buffer) => Buffer): void {
  source.on('data', (chunk: Buffer | string) => {
    if (ws.readyState !== OPEN) return;
    ws.send(wrap(typeof chunk === 'string' ? Buffer.from(chunk) : chunk), () => {
      if (source.isPaused() && ws.bufferedAmount < HIGH_WATER / 2) source.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER) source.pause();
  });
}

/** Resolves when a readable has ended or was destroyed. */
function ended(r: Readable | undefined): Promise<void> {
  if (!r || r.readableEnded || r.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    r.once('end', resolve);
    r.once('close', resolve);
    r.once('error', () => resolve());
  });
}

/** Serves one request on a stream socket; resolves when the stream is over. */
export async function serveStream(req: StreamRequest, ws: WebSocket, deps: StreamDeps): Promise<void> {
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  try {
    if (req.kind === 'log') await serveLogs(req, ws, deps);
    else if (req.kind === 'portforward') await servePortForward(req, ws, deps);
    else await serveExec(req, ws, deps);
  } catch (e) {
    const f =
      e instanceof StreamFailure
        ? e
        : e instanceof KubeletLookupError
          ? new StreamFailure(e.code, e.reason, e.message)
          : new StreamFailure(500, 'InternalError', e instanceof Error ? e.message : String(e));
    if (ws.readyState === OPEN) {
      sendHeader(ws, { ok: false, code: f.code, reason: f.reason, message: f.message });
      ws.close(1000);
    }
  }
  await closed;
}

async function serveLogs(req: StreamRequest, ws: WebSocket, deps: StreamDeps): Promise<void> {
  const o = req.log ?? { follow: false, previous: false, timestamps: false };
  const name = req.container ?? '';
  const ref = await deps.findContainer(req.namespace, req.pod, req.container, o.previous);
  if (!ref) {
    throw o.previous
      ? new StreamFailure(400, 'BadRequest', `previous terminated container "${name}" in pod "${req.pod}" not found`)
      : new StreamFailure(400, 'BadRequest', `container "${name}" in pod "${req.pod}" is waiting to start: ContainerCreating`);
  }
  const opts: LogOptions = {
    follow: o.follow && !o.previous,
    timestamps: o.timestamps,
    tailLines: o.tailLines,
    sinceSeconds: o.sinceSeconds,
    sinceTime: o.sinceTime ? new Date(o.sinceTime) : undefined,
    limitBytes: o.limitBytes,
  };
  const stream = await deps.runtime.logs(ref.id, opts);
  sendHeader(ws, { ok: true });
  ws.once('close', () => stream.destroy());
  // The runtime may ignore limitBytes: cut here too.
  let left = o.limitBytes ?? Infinity;
  pump(ws, stream, (chunk) => {
    const out = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= out.length;
    if (left <= 0) setImmediate(() => stream.destroy());
    return out;
  });
  await ended(stream);
  if (ws.readyState === OPEN) ws.close(1000);
}

async function serveExec(req: StreamRequest, ws: WebSocket, deps: StreamDeps): Promise<void> {
  const name = req.container ?? '';
  const ref = await deps.findContainer(req.namespace, req.pod, req.container, false);
  if (!ref) throw new StreamFailure(404, 'NotFound', `container not found ("${name}")`);
  const opts = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr && !req.tty, tty: req.tty };
  let session: StreamSession;
  if (req.kind === 'exec') {
    if (!req.command || req.command.length === 0) throw new StreamFailure(400, 'BadRequest', 'you must specify at least 1 command');
    session = await deps.runtime.exec(ref.id, req.command, opts);
  } else {
    session = await deps.runtime.attach(ref.id, opts);
  }
  sendHeader(ws, { ok: true });
  // As the kubelet does: an empty frame on the lowest writable channel tells the client the stream is up.
  ws.send(frame(opts.stdout ? CHANNEL.stdout : opts.stderr ? CHANNEL.stderr : CHANNEL.error));

  ws.on('message', (data: RawData) => {
    const buf = toBuffer(data);
    if (buf.length === 0) return;
    const ch = buf[0];
    if (ch === CHANNEL.stdin) {
      if (buf.length > 1) session.stdin?.write(buf.subarray(1));
    } else if (ch === CHANNEL.resize) {
      const size = parseResize(buf.subarray(1));
      if (size) session.resize(size.width, size.height).catch(() => {});
    } else if (ch === CHANNEL.close && supportsClose(req.protocol) && buf[1] === CHANNEL.stdin) {
      session.stdin?.end();
    }
  });
  session.stdin?.on('error', () => {});
  let clientGone = false;
  ws.once('close', () => {
    clientGone = true;
    session.close();
  });
  if (session.stdout) pump(ws, session.stdout, (c) => frame(CHANNEL.stdout, c));
  if (session.stderr) pump(ws, session.stderr, (c) => frame(CHANNEL.stderr, c));

  const exitCode = await session.done;
  // Attach ends in Success whatever the exit code, as the kubelet's ServeAttach: `kubectl run -i`
  // takes the code from the pod's status, and a failure here makes it fall back to streaming logs.
  const code = req.kind === 'exec' ? exitCode : 0;
  await Promise.all([ended(session.stdout), ended(session.stderr)]);
  if (clientGone || ws.readyState !== OPEN) return;
  if (statusIsJson(req.protocol)) {
    ws.send(frame(CHANNEL.error, JSON.stringify(exitStatus(code, req.kind === 'exec' ? req.command : undefined))));
  } else if (code !== 0) {
    const st = exitStatus(code, req.command);
    ws.send(frame(CHANNEL.error, String(st.message)));
  }
  ws.close(1000);
}

function parseResize(b: Buffer): { width: number; height: number } | undefined {
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    if (typeof v !== 'object' || v === null) return undefined;
    const w = 'Width' in v ? v.Width : undefined;
    const h = 'Height' in v ? v.Height : undefined;
    return typeof w === 'number' && typeof h === 'number' ? { width: w, height: h } : undefined;
  } catch {
    return undefined;
  }
}

async function servePortForward(req: StreamRequest, ws: WebSocket, deps: StreamDeps): Promise<void> {
  const ports = req.ports ?? [];
  if (ports.length === 0) throw new StreamFailure(400, 'BadRequest', 'query parameter "ports" is required');
  const known = deps.podAddress ? await deps.podAddress(req.namespace, req.pod) : undefined;
  const addr: PodAddress = known ?? { ip: req.podIP, hostNetwork: req.hostNetwork === true };
  const host = addr.hostNetwork ? '127.0.0.1' : addr.ip;
  if (!host) throw new StreamFailure(500, 'InternalError', `pod "${req.pod}" has no IP address yet`);
  const dial = deps.dial ?? ((h: string, p: number) => connect({ host: h, port: p }));
  sendHeader(ws, { ok: true });

  let open = ports.length;
  const sockets = ports.map((port, i) => {
    const data = 2 * i;
    const errCh = data + 1;
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    ws.send(frame(data, portBytes));
    ws.send(frame(errCh, portBytes));
    const s = dial(host, port);
    pump(ws, s, (c) => frame(data, c));
    s.on('error', (e) => {
      if (ws.readyState === OPEN) {
        ws.send(frame(errCh, `error forwarding port ${port} to pod ${req.pod}, uid ${req.podUid ?? ''}: ${e.message}`));
      }
    });
    s.once('close', () => {
      open -= 1;
      if (open === 0 && ws.readyState === OPEN) ws.close(1000);
    });
    return s;
  });
  ws.on('message', (raw: RawData) => {
    const buf = toBuffer(raw);
    if (buf.length < 2) return;
    const ch = buf[0];
    if (ch % 2 === 0 && ch / 2 < sockets.length) sockets[ch / 2].write(buf.subarray(1));
  });
  ws.once('close', () => {
    for (const s of sockets) s.destroy();
  });
}
