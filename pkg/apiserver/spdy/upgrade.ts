/**
 * The HTTP side of SPDY port-forward: kubectl ≥ 1.31 first asks for a
 * WebSocket whose subprotocol is `SPDY/3.1+portforward.k8s.io` and sends SPDY
 * frames inside binary messages (the apiserver's TunnelingHandler); on an
 * upgrade failure it falls back to `Upgrade: SPDY/3.1` with
 * `X-Stream-Protocol-Version: portforward.k8s.io` (httpstream.Handshake plus
 * spdy.UpgradeResponse on the kubelet).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { ApiError } from '../errors.js';
import { SpdyConnection } from './connection.js';

export const SPDY_31 = 'SPDY/3.1';
export const PORTFORWARD_PROTOCOL_V1 = 'portforward.k8s.io';
/** WebSocket subprotocols that tunnel SPDY: the SPDY protocol name prefixed by this. */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const PORTFORWARD_TUNNEL_PROTOCOL = SPDY_TUNNEL_PREFIX + PORTFORWARD_PROTOCOL_V1;

function headerList(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The SPDY-tunnelling WebSocket subprotocol to answer with, among the offered ones; undefined when none is. */
export function pickTunnelProtocol(offered: readonly string[], spdyProtocols: readonly string[] = [PORTFORWARD_PROTOCOL_V1]): string | undefined {
  return offered.find((p) => p.startsWith(SPDY_TUNNEL_PREFIX) && spdyProtocols.includes(p.slice(SPDY_TUNNEL_PREFIX.length)));
}

/** Whether the request asks for a plain SPDY/3.1 upgrade. */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return headerList(req.headers.upgrade).some((u) => u.toLowerCase() === SPDY_31.toLowerCase());
}

/** X-Stream-Protocol-Version negotiation as httpstream.Handshake does it; throws the ApiError the client gets. */
export function negotiateStreamProtocol(req: IncomingMessage, supported: readonly string[] = [PORTFORWARD_PROTOCOL_V1]): string {
  const raw = req.headers['x-stream-protocol-version'];
  if (raw === undefined) {
    throw new ApiError(400, 'BadRequest', `unable to upgrade: header X-Stream-Protocol-Version does not exist in request with ${Object.keys(req.headers).length} headers`);
  }
  const offered = headerList(raw);
  if (offered.length === 0) throw new ApiError(400, 'BadRequest', 'unable to upgrade: header X-Stream-Protocol-Version is empty');
  const pick = offered.find((p) => supported.includes(p));
  if (pick === undefined) {
    throw new ApiError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`);
  }
  const connection = headerList(req.headers.connection).map((c) => c.toLowerCase());
  if (!connection.includes('upgrade')) throw new ApiError(400, 'BadRequest', 'unable to upgrade: missing upgrade headers in request');
  return pick;
}

/** Answers 101 on an upgraded socket and starts the server's SPDY session on it. */
export function acceptSpdyUpgrade(socket: Duplex, head: Buffer, protocol: string): SpdyConnection {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY_31}\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  return new SpdyConnection(socket, { role: 'server', initialData: head });
}

/**
 * Accepts a WebSocket upgrade answering with the tunnelling subprotocol.
 * ws refuses `SPDY/3.1+portforward.k8s.io` as a subprotocol ('/' is not a
 * token character), so the offer is taken off the request before ws sees it
 * and the answer header is added back on the way out.
 */
export function acceptTunnelUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): Promise<WebSocket> {
  delete req.headers['sec-websocket-protocol'];
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  wss.on('headers', (headers: string[]) => headers.push(`Sec-WebSocket-Protocol: ${protocol}`));
  return new Promise((resolve) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.close();
      resolve(ws);
    }),
  );
}

/** Starts the server's SPDY session inside an accepted WebSocket (binary messages carry the byte stream). */
export function spdyOverWebSocket(ws: WebSocket): SpdyConnection {
  const duplex = createWebSocketStream(ws);
  duplex.on('error', () => {});
  return new SpdyConnection(duplex, { role: 'server' });
}
