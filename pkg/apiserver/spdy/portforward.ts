/**
 * Port-forward over a SPDY session, as the kubelet serves it
 * (k8s.io/kubelet/pkg/cri/streaming/portforward/httpstream.go): for every
 * forwarded connection the client opens an error stream and a data stream
 * carrying `streamtype`, `port` and `requestid` headers; once both of a
 * request id are there, the pod's port is dialled (here: one kubelet stream
 * through the agent's tunnel, v4.channel.k8s.io framing) and bytes are copied
 * both ways. A failure is written as text on the error stream; both streams
 * are then closed (FIN), never the session — kubectl decides what to do.
 */
import type { WebSocket } from 'ws';
import { frame } from '../../kubelet/streaming-protocol.js';
import { headerValue } from './headers.js';
import type { SpdyConnection, SpdyStream } from './connection.js';

/** The request id, port and stream type headers (k8s.io/api/core/v1 PortForwardRequestIDHeader, PortHeader, StreamType). */
export const HEADER_STREAM_TYPE = 'streamtype';
export const HEADER_PORT = 'port';
export const HEADER_REQUEST_ID = 'requestid';

/** One port's stream to the kubelet, as the tunnel hands it out (AgentStream fits). */
export interface PortStream {
  readonly ws: Pick<WebSocket, 'send' | 'pause' | 'resume' | 'isPaused' | 'bufferedAmount' | 'readyState'>;
  onMessage(fn: (data: Buffer, binary: boolean) => void): void;
  onClose(fn: (code: number) => void): void;
  close(code?: number): void;
}

export interface PortForwardOptions {
  pod: string;
  podUid?: string;
  /** Opens the kubelet's port-forward stream for one port; rejects with the reason it cannot. */
  openPort(port: number): Promise<PortStream>;
  /** How long the second stream of a request may keep us waiting (kubelet default 30 s). */
  streamCreationTimeoutMs?: number;
  /** After the client's FIN on a data stream, how long the pod may still answer (containerd: 1 s). */
  halfCloseGraceMs?: number;
  log?: (msg: string) => void;
}

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: NodeJS.Timeout;
}

// Above this many bytes waiting on the kubelet socket we stop reading the client's stream.
const HIGH_WATER = 1 << 20;

/** Why a stream is refused (then reset), as httpStreamReceived words it; undefined when it is fine. */
export function checkPortForwardStream(s: SpdyStream): string | undefined {
  const port = headerValue(s.headers, HEADER_PORT);
  if (!port) return `"port" header is required`;
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port`;
  if (Number(port) < 1) return `port "${port}" must be > 0`;
  const type = headerValue(s.headers, HEADER_STREAM_TYPE);
  if (!type) return `"streamType" header is required`;
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
  return undefined;
}

/** The request id of a stream; old clients send none, so it is derived from the stream id as the kubelet does. */
function requestIdOf(s: SpdyStream): string {
  const id = headerValue(s.headers, HEADER_REQUEST_ID);
  if (id) return id;
  return String(headerValue(s.headers, HEADER_STREAM_TYPE) === 'error' ? s.id : s.id - 2);
}

/** Serves port-forward requests on a server-side SPDY session until it closes. */
export function servePortForward(conn: SpdyConnection, opts: PortForwardOptions): void {
  const pairs = new Map<string, Pair>();
  const active = new Set<() => void>();
  const timeoutMs = opts.streamCreationTimeoutMs ?? 30_000;
  const graceMs = opts.halfCloseGraceMs ?? 1000;
  const log = opts.log ?? (() => {});

  const printError = (p: Pair, msg: string) => {
    if (p.error && p.error.writable) p.error.write(msg);
  };

  conn.on('stream', (s: SpdyStream) => {
    s.on('error', () => {});
    const bad = checkPortForwardStream(s);
    if (bad) {
      log(`port-forward: stream rejected: ${bad}`);
      s.reset();
      return;
    }
    s.reply();
    const requestId = requestIdOf(s);
    let p = pairs.get(requestId);
    if (!p) {
      const created: Pair = { requestId };
      p = created;
      pairs.set(requestId, created);
      created.timer = setTimeout(() => {
        if (pairs.get(requestId) !== created) return;
        pairs.delete(requestId);
        printError(created, `(conn=spdy, request=${requestId}) timed out waiting for streams`);
        created.error?.end();
        created.data?.reset();
      }, timeoutMs);
      created.timer.unref();
    }
    const type = headerValue(s.headers, HEADER_STREAM_TYPE);
    if ((type === 'error' && p.error) || (type === 'data' && p.data)) {
      printError(p, `error processing stream for request ${requestId}: ${type} stream already assigned`);
      s.reset();
      return;
    }
    if (type === 'error') {
      p.error = s;
      // The client sends nothing on it (kubectl closes its side at once): discard.
      s.resume();
    } else {
      p.data = s;
    }
    if (p.data && p.error) {
      clearTimeout(p.timer);
      pairs.delete(requestId);
      forward(p.data, p.error);
    }
  });

  conn.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    for (const stop of [...active]) stop();
  });

  function forward(data: SpdyStream, errStream: SpdyStream): void {
    const port = Number(headerValue(data.headers, HEADER_PORT));
    let agent: PortStream | undefined;
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      active.delete(finish);
      clearTimeout(grace);
      agent?.close();
      // As the kubelet's deferred Close()s: FIN on the error stream, then on the data stream.
      if (!errStream.destroyed) errStream.end();
      if (!data.destroyed) data.end();
    };
    active.add(finish);
    // The client reset the data stream (kubectl does once the pod side is done) or the session went.
    data.once('close', finish);
    data.once('end', () => {
      // The client will send no more; give the pod a moment to answer, as containerd does.
      grace = setTimeout(finish, graceMs);
      grace.unref();
    });

    opts.openPort(port).then(
      (stream) => {
        if (done) {
          stream.close();
          return;
        }
        agent = stream;
        pipe(stream, data, errStream, finish);
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        if (errStream.writable) errStream.write(`error forwarding port ${port} to pod ${opts.pod}, uid ${opts.podUid ?? ''}: ${msg}`);
        finish();
      },
    );
  }
}

/** Copies both ways between a kubelet port stream and the client's data stream; errors go to the error stream. */
function pipe(agent: PortStream, data: SpdyStream, errStream: SpdyStream, finish: () => void): void {
  // v4.channel.k8s.io: channel 0 data, 1 error; the first frame of each is the port (2 bytes), not payload.
  const seenPrefix = [false, false];
  agent.onMessage((buf, binary) => {
    if (!binary || buf.length === 0) return;
    const ch = buf[0];
    if (ch > 1) return;
    if (!seenPrefix[ch]) {
      seenPrefix[ch] = true;
      return;
    }
    const payload = buf.subarray(1);
    if (payload.length === 0) return;
    if (ch === 0) {
      if (!data.writable) return;
      if (!data.write(payload) && !agent.ws.isPaused) {
        agent.ws.pause();
        data.once('drain', () => agent.ws.resume());
      }
    } else if (errStream.writable) {
      errStream.write(payload);
    }
  });
  agent.onClose(() => finish());

  data.on('data', (chunk: Buffer) => {
    if (agent.ws.readyState !== 1) return;
    agent.ws.send(frame(0, chunk), { binary: true }, () => {
      if (data.isPaused() && agent.ws.bufferedAmount < HIGH_WATER / 2) data.resume();
    });
    if (agent.ws.bufferedAmount > HIGH_WATER) data.pause();
  });
}
