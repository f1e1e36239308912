/**
 * The server's end of the agents' tunnels (k3s' remotedialer, in spirit):
 * each agent keeps one WebSocket open to `/v1-orch/tunnel`; to reach a
 * node's kubelet the server sends an `open` message on it and the agent
 * dials back `/v1-orch/tunnel/stream?id=…`, one socket per request. A worker
 * behind NAT thus needs no inbound port.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { ApiError } from './errors.js';
import { parseStreamHeader, type StreamRequest, type TunnelOpenMessage } from '../kubelet/streaming-protocol.js';

export const TUNNEL_PATH = '/v1-orch/tunnel';
export const TUNNEL_STREAM_PATH = '/v1-orch/tunnel/stream';

export interface TunnelServerOptions {
  /** How long a node has to dial back and answer a request (default 10 s). */
  openTimeoutMs?: number;
  /** Ping period on tunnel sockets; one missed pong ends the tunnel (default 20 s). */
  pingIntervalMs?: number;
  log?: (msg: string) => void;
}

interface Pending {
  node: string;
  resolve(s: AgentStream): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const OPEN = 1;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A stream socket from a kubelet whose header said ok; later messages are queued until someone listens. */
export class AgentStream {
  private queue: { data: Buffer; binary: boolean }[] = [];
  private consumer?: (data: Buffer, binary: boolean) => void;
  private closeCode?: number;
  private closeListeners: ((code: number) => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, binary: boolean) => {
      const buf = toBuffer(data);
      if (this.consumer) this.consumer(buf, binary);
      else this.queue.push({ data: buf, binary });
    });
    ws.once('close', (code: number) => {
      this.closeCode = code;
      for (const l of this.closeListeners.splice(0)) l(code);
    });
    ws.on('error', () => {});
  }

  /** Delivers queued and future messages to fn, in order. */
  onMessage(fn: (data: Buffer, binary: boolean) => void): void {
    this.consumer = fn;
    for (const m of this.queue.splice(0)) fn(m.data, m.binary);
  }

  /** Called once the kubelet's socket is closed (at once if it already is). */
  onClose(fn: (code: number) => void): void {
    if (this.closeCode !== undefined) fn(this.closeCode);
    else this.closeListeners.push(fn);
  }

  send(data: Buffer, binary = true): void {
    if (this.ws.readyState === OPEN) this.ws.send(data, { binary });
  }

  close(code = 1000): void {
    if (this.ws.readyState === OPEN) this.ws.close(code);
    else if (this.ws.readyState === 0) this.ws.terminate();
  }
}

/** Node name → tunnel session, and the requests waiting for their stream socket. */
export class TunnelServer {
  private readonly sessions = new Map<string, WebSocket>();
  private readonly pending = new Map<string, Pending>();
  private readonly openTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly log: (msg: string) => void;

  constructor(opts: TunnelServerOptions = {}) {
    this.openTimeoutMs = opts.openTimeoutMs ?? 10_000;
    this.pingIntervalMs = opts.pingIntervalMs ?? 20_000;
    this.log = opts.log ?? (() => {});
  }

  /** Whether the node's agent has a tunnel open now. */
  hasTunnel(node: string): boolean {
    return this.sessions.get(node)?.readyState === OPEN;
  }

  /** Nodes with a tunnel open. */
  nodes(): string[] {
    return [...this.sessions.keys()].filter((n) => this.hasTunnel(n));
  }

  /** Takes an agent's tunnel socket; a newer one for the same node replaces the older. */
  attachTunnel(node: string, ws: WebSocket): void {
    const old = this.sessions.get(node);
    if (old && old !== ws) old.close(1012, 'replaced by a newer tunnel');
    this.sessions.set(node, ws);
    this.log(`tunnel from node ${node} connected`);
    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.pingIntervalMs);
    ping.unref();
    ws.on('error', () => {});
    ws.once('close', () => {
      clearInterval(ping);
      if (this.sessions.get(node) !== ws) return;
      this.sessions.delete(node);
      this.log(`tunnel from node ${node} closed`);
      for (const [id, p] of this.pending) {
        if (p.node !== node) continue;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(noTunnel(node));
      }
    });
  }

  /** Throws the Status a client gets when the node's agent has no tunnel open. */
  requireTunnel(node: string): void {
    if (!this.hasTunnel(node)) throw noTunnel(node);
  }

  /** The node a stream id was asked of; undefined when nobody waits for it. */
  streamNode(id: string): string | undefined {
    return this.pending.get(id)?.node;
  }

  /** Takes a stream socket an agent dialled back; false when nobody waits for that id. */
  attachStream(id: string, ws: WebSocket): boolean {
    const p = this.pending.get(id);
    if (!p) {
      ws.close(1008, 'unknown stream id');
      return false;
    }
    this.pending.delete(id);
    let settled = false;
    const onClose = () => {
      if (settled) return;
      settled = true;
      clearTimeout(p.timer);
      p.reject(new ApiError(500, 'InternalError', `the kubelet of node ${p.node} closed the stream before answering`));
    };
    ws.once('close', onClose);
    ws.on('error', () => {});
    ws.once('message', (data: RawData, binary: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(p.timer);
      ws.off('close', onClose);
      const header = binary ? undefined : parseStreamHeader(toBuffer(data).toString('utf8'));
      if (!header) {
        ws.close(1002, 'expected a stream header');
        p.reject(new ApiError(500, 'InternalError', `the kubelet of node ${p.node} sent a malformed stream header`));
      } else if (!header.ok) {
        ws.close(1000);
        p.reject(new ApiError(header.code, header.reason, header.message));
      } else {
        p.resolve(new AgentStream(ws));
      }
    });
    return true;
  }

  /** Asks the node's kubelet to serve req; resolves with its stream once the kubelet accepted it. */
  open(node: string, req: StreamRequest): Promise<AgentStream> {
    const session = this.sessions.get(node);
    if (!session || session.readyState !== OPEN) return Promise.reject(noTunnel(node));
    const id = randomUUID();
    return new Promise<AgentStream>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(new ApiError(500, 'InternalError', `error dialing backend: node ${node} did not open a stream within ${this.openTimeoutMs / 1000}s`));
      }, this.openTimeoutMs);
      this.pending.set(id, { node, resolve, reject, timer });
      const msg: TunnelOpenMessage = { type: 'open', id, request: req };
      session.send(JSON.stringify(msg));
    });
  }

  /** Closes every tunnel (server shutdown). */
  close(): void {
    for (const ws of this.sessions.values()) ws.terminate();
    this.sessions.clear();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ApiError(503, 'ServiceUnavailable', 'the server is shutting down'));
    }
    this.pending.clear();
  }
}

function noTunnel(node: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', `no tunnel to the kubelet of node "${node}": its agent is not connected to the server`);
}
