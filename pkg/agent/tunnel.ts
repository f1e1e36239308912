/**
 * The agent's end of the tunnel: keeps a WebSocket open to the server's
 * `/v1-orch/tunnel` with the node credential, reconnecting with back-off;
 * for each `open` message it dials `/v1-orch/tunnel/stream?id=…` and hands
 * that socket to the kubelet's stream server. The worker needs no inbound port.
 */
import { WebSocket, type ClientOptions } from 'ws';
import { parseTunnelMessage, type StreamRequest } from '../kubelet/streaming-protocol.js';

export interface TunnelClientOptions {
  /** The server's base URL, https://host:port. */
  server: string;
  /** Bearer credential of the node (a function: read again on each reconnect, after a rejoin renewed it). */
  token: string | (() => string);
  nodeName: string;
  /** CA bundle (PEM) the server's certificate must chain to. */
  caPem?: string;
  /** Serves one request on its stream socket (pkg/kubelet/streaming.ts serveStream). */
  serve(req: StreamRequest, ws: WebSocket): Promise<void>;
  /** First and largest reconnect delay (defaults 500 ms and 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The server pings every 20 s; with no ping or message for this long the tunnel is presumed dead (default 60 s). */
  idleTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface TunnelClient {
  /** Whether the tunnel socket is open now. */
  connected(): boolean;
  /** Resolves once the tunnel is open (at once if it is). */
  waitConnected(): Promise<void>;
  /** Closes the tunnel and stops reconnecting; open streams are closed too. */
  stop(): Promise<void>;
}

function wsBase(server: string): string {
  return server.replace(/\/+$/, '').replace(/^http(s?):/, 'ws$1:');
}

/** Starts the tunnel client; it connects in the background and keeps reconnecting until stopped. */
export function startTunnel(opts: TunnelClientOptions): TunnelClient {
  const log = opts.log ?? (() => {});
  const minDelay = opts.minBackoffMs ?? 500;
  const maxDelay = opts.maxBackoffMs ?? 30_000;
  const idleTimeout = opts.idleTimeoutMs ?? 60_000;
  const base = wsBase(opts.server);
  const given = opts.token;
  const token = typeof given === 'function' ? given : (): string => given;
  const wsOptions = (): ClientOptions => ({
    headers: { authorization: `Bearer ${token()}` },
    ...(opts.caPem ? { ca: opts.caPem } : {}),
    perMessageDeflate: false,
  });
  let stopped = false;
  let delay = minDelay;
  let current: WebSocket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];
  const streams = new Set<WebSocket>();

  function openStream(id: string, req: StreamRequest): void {
    const ws = new WebSocket(`${base}/v1-orch/tunnel/stream?id=${encodeURIComponent(id)}`, wsOptions());
    streams.add(ws);
    ws.once('close', () => streams.delete(ws));
    ws.on('error', (e) => log(`tunnel stream ${id}: ${e.message}`));
    ws.once('open', () => {
      opts.serve(req, ws).catch((e: unknown) => {
        log(`tunnel stream ${id}: ${e instanceof Error ? e.message : String(e)}`);
        ws.terminate();
      });
    });
  }

  function scheduleReconnect(): void {
    if (stopped || retry) return;
    const wait = delay;
    delay = Math.min(delay * 2, maxDelay);
    retry = setTimeout(() => {
      retry = undefined;
      connect();
    }, wait);
  }

  function connect(): void {
    if (stopped) return;
    const ws = new WebSocket(`${base}/v1-orch/tunnel?node=${encodeURIComponent(opts.nodeName)}`, wsOptions());
    current = ws;
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        log('tunnel: no word from the server, reconnecting');
        ws.terminate();
      }, idleTimeout);
    };
    ws.on('unexpected-response', (_req, res) => {
      log(`tunnel: the server refused the tunnel: HTTP ${res.statusCode ?? '?'}`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (e) => log(`tunnel: ${e.message}`));
    ws.once('open', () => {
      delay = minDelay;
      touch();
      log(`tunnel to ${opts.server} open`);
      for (const w of waiters.splice(0)) w();
    });
    ws.on('ping', touch);
    ws.on('message', (data, isBinary) => {
      touch();
      if (isBinary) return;
      const msg = parseTunnelMessage(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
      if (msg) openStream(msg.id, msg.request);
      else log('tunnel: ignoring an unknown message');
    });
    ws.once('close', () => {
      if (idle) clearTimeout(idle);
      if (current === ws) current = undefined;
      scheduleReconnect();
    });
  }

  connect();
  return {
    connected: () => current?.readyState === WebSocket.OPEN,
    waitConnected() {
      if (current?.readyState === WebSocket.OPEN) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      waiters = [];
      const all = [...streams, ...(current ? [current] : [])];
      await Promise.all(
        all.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === WebSocket.CLOSED) return resolve();
              ws.once('close', () => resolve());
              ws.terminate();
            }),
        ),
      );
    },
  };
}
