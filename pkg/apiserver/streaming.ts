/**
 * pods/log, pods/exec, pods/attach and pods/portforward: checks the pod and
 * container as Kubernetes' pod REST does, then reaches the kubelet of the
 * pod's node through its agent's tunnel (tunnel.ts) and relays. Also the
 * HTTP upgrade handler for everything WebSocket on the server: the agents'
 * tunnel sockets and the exec/attach/portforward streams of clients.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { findResource, type ResourceType } from '../api/registry.js';
import { isPlainObject, type KubeObject } from '../api/object.js';
import { ApiError, errors } from './errors.js';
import type { Rest } from './rest/rest.js';
import { TUNNEL_PATH, TUNNEL_STREAM_PATH, type AgentStream, type TunnelServer } from './tunnel.js';
import { EXEC_PROTOCOLS, PORTFORWARD_PROTOCOLS, type LogRequestOptions, type StreamRequest } from '../kubelet/streaming-protocol.js';
import { acceptSpdyUpgrade, acceptTunnelUpgrade, isSpdyUpgrade, negotiateStreamProtocol, pickTunnelProtocol, spdyOverWebSocket } from './spdy/upgrade.js';
import { servePortForward } from './spdy/portforward.js';
import type { SpdyConnection } from './spdy/connection.js';

export interface StreamingDeps {
  rest: Rest;
  tunnels: TunnelServer;
  /** Whether the Authorization header is a valid API credential. */
  authenticate(authorization: string | undefined): boolean;
  /** Whether the credential may open the tunnel of `node` (default: authenticate). */
  authorizeTunnel?(authorization: string | undefined, node: string): boolean | Promise<boolean>;
}

type StreamKind = StreamRequest['kind'];

function podsResource(): ResourceType {
  const r = findResource('', 'v1', 'pods');
  if (!r) throw new Error('pods are not registered');
  return r;
}

function containerNames(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((c) => (isPlainObject(c) && typeof c.name === 'string' ? [c.name] : []));
}

function fmtList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

/** The container a request addresses, defaulted and checked as Kubernetes' validateContainer does. */
export function resolveContainer(pod: KubeObject, requested: string | undefined): string {
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  const name = pod.metadata.name ?? '';
  const regular = containerNames(spec.containers);
  const init = containerNames(spec.initContainers);
  const ephemeral = containerNames(spec.ephemeralContainers);
  if (requested) {
    if (![...regular, ...init, ...ephemeral].includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
    return requested;
  }
  if (regular.length === 1) return regular[0];
  if (regular.length === 0) throw errors.badRequest(`the pod ${name} does not have any containers`);
  let msg = `a container name must be specified for pod ${name}, choose one of: ${fmtList(regular)}`;
  if (init.length > 0) msg += ` or one of the init containers: ${fmtList(init)}`;
  if (ephemeral.length > 0) msg += ` or one of the ephemeral containers: ${fmtList(ephemeral)}`;
  throw errors.badRequest(msg);
}

function boolQuery(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function intQuery(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw errors.badRequest(`invalid ${name} parameter: ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min) throw errors.badRequest(`${name}: Invalid value: ${n}: must be greater than ${min === 0 ? 'or equal to 0' : min - 1}`);
  return n;
}

function parseLogQuery(q: URLSearchParams): LogRequestOptions {
  const sinceTime = q.get('sinceTime') || undefined;
  const sinceSeconds = intQuery(q, 'sinceSeconds', 1);
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime))) throw errors.badRequest(`invalid sinceTime parameter: ${JSON.stringify(sinceTime)}`);
  if (sinceTime !== undefined && sinceSeconds !== undefined) throw errors.badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
  return {
    follow: boolQuery(q, 'follow'),
    previous: boolQuery(q, 'previous'),
    timestamps: boolQuery(q, 'timestamps'),
    tailLines: intQuery(q, 'tailLines', 0),
    sinceSeconds,
    sinceTime,
    limitBytes: intQuery(q, 'limitBytes', 1),
  };
}

/** Ports from the query (the WebSocket protocol); SPDY clients name them per stream instead. */
function parsePorts(q: URLSearchParams): number[] {
  const raw = [...q.getAll('ports'), ...q.getAll('port')].flatMap((s) => s.split(','));
  return raw.map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw errors.badRequest(`invalid port "${s}": must be between 1 and 65535, inclusive`);
    return n;
  });
}

/** Everything but the protocol: checks the pod, its node and container, and builds the kubelet's request. */
export async function buildStreamRequest(
  rest: Rest,
  kind: StreamKind,
  namespace: string,
  name: string,
  q: URLSearchParams,
): Promise<{ node: string; request: StreamRequest }> {
  const pod = await rest.get(podsResource(), namespace, name);
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  const status = isPlainObject(pod.status) ? pod.status : {};
  const request: StreamRequest = {
    kind,
    namespace,
    pod: name,
    podUid: pod.metadata.uid,
    stdin: boolQuery(q, 'stdin'),
    stdout: boolQuery(q, 'stdout'),
    stderr: boolQuery(q, 'stderr'),
    tty: boolQuery(q, 'tty'),
    protocol: '',
  };
  if (kind === 'portforward') {
    request.ports = parsePorts(q);
    request.podIP = typeof status.podIP === 'string' ? status.podIP : undefined;
    request.hostNetwork = spec.hostNetwork === true;
  } else {
    request.container = resolveContainer(pod, q.get('container') || undefined);
  }
  if (kind === 'log') request.log = parseLogQuery(q);
  if (kind === 'exec') {
    request.command = q.getAll('command');
    if (request.command.length === 0) throw errors.badRequest('you must specify at least 1 command');
  }
  if (kind === 'exec' || kind === 'attach') {
    if (!request.stdin && !request.stdout && !request.stderr) throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
    const phase = status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      throw errors.badRequest(`cannot ${kind === 'exec' ? 'exec into' : 'attach to'} a container in a completed pod; current phase is ${phase}`);
    }
  }
  const node = typeof spec.nodeName === 'string' ? spec.nodeName : '';
  if (!node) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  return { node, request };
}

/** GET pods/NAME/log: the kubelet's log bytes as chunked text/plain. */
export async function podLogResponse(deps: Pick<StreamingDeps, 'rest' | 'tunnels'>, namespace: string, name: string, q: URLSearchParams, signal?: AbortSignal): Promise<Response> {
  const { node, request } = await buildStreamRequest(deps.rest, 'log', namespace, name, q);
  const stream = await deps.tunnels.open(node, request);
  signal?.addEventListener('abort', () => stream.close(), { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stream.onMessage((data, binary) => {
        if (!binary) return;
        controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        // A slow reader: stop reading the kubelet's socket until it catches up.
        if ((controller.desiredSize ?? 1) <= 0) stream.ws.pause();
      });
      stream.onClose(() => {
        try {
          controller.close();
        } catch {
          // cancelled by the reader
        }
      });
    },
    pull() {
      if (stream.ws.isPaused) stream.ws.resume();
    },
    cancel() {
      stream.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' } });
}

function writeHttpError(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.toStatus());
  socket.end(
    `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A close code we may send on (1005/1006 and friends are reserved). */
function sendableCode(code: number): number {
  return code === 1000 || (code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999) ? code : 1011;
}

/** Relays frames both ways between a client's socket and the kubelet's stream. */
function relay(client: WebSocket, agent: AgentStream): void {
  agent.onMessage((data, binary) => {
    if (client.readyState !== 1) return;
    client.send(data, { binary }, () => {
      if (agent.ws.isPaused && client.bufferedAmount < 1 << 20) agent.ws.resume();
    });
    if (client.bufferedAmount > 4 << 20) agent.ws.pause();
  });
  agent.onClose((code) => {
    if (client.readyState === 1) client.close(sendableCode(code));
  });
  client.on('message', (data: RawData, binary: boolean) => agent.send(toBuffer(data), binary));
  client.on('error', () => {});
  client.once('close', () => agent.close());
}

/** Offered subprotocols, in the client's order. */
function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  const all = Array.isArray(h) ? h.join(',') : (h ?? '');
  return all
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

const POD_STREAM_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)\/?$/;

/** The server's `upgrade` handler: tunnel sockets and exec/attach/portforward; any other upgrade gets an HTTP error. */
export function createUpgradeHandler(deps: StreamingDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const chosen = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // The protocol was picked (and checked) before the upgrade; false answers without one.
    handleProtocols: (_offered: Set<string>, req: IncomingMessage) => chosen.get(req) || false,
  });
  const authorizeTunnel = deps.authorizeTunnel ?? ((auth: string | undefined) => deps.authenticate(auth));

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<WebSocket> =>
    new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));

  async function handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const auth = req.headers.authorization;
    const isWebSocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const path = url.pathname;

    if (path === TUNNEL_PATH || path === TUNNEL_STREAM_PATH) {
      if (!isWebSocket) throw errors.badRequest(`${path} takes a WebSocket upgrade`);
      if (path === TUNNEL_PATH) {
        const node = url.searchParams.get('node') ?? '';
        if (!node) throw errors.badRequest('query parameter "node" is required');
        if (!(await authorizeTunnel(auth, node))) throw errors.unauthorized();
        const ws = await upgrade(req, socket, head);
        deps.tunnels.attachTunnel(node, ws);
        return;
      }
      const id = url.searchParams.get('id') ?? '';
      const node = deps.tunnels.streamNode(id);
      if (node === undefined) throw new ApiError(404, 'NotFound', `no stream ${JSON.stringify(id)} is awaited`);
      if (!(await authorizeTunnel(auth, node))) throw errors.unauthorized();
      const ws = await upgrade(req, socket, head);
      deps.tunnels.attachStream(id, ws);
      return;
    }

    const m = POD_STREAM_PATH.exec(path);
    if (!m) throw errors.badRequest(`the server does not upgrade connections on ${path}`);
    if (!deps.authenticate(auth)) throw errors.unauthorized();
    const kind = m[3] === 'exec' ? 'exec' : m[3] === 'attach' ? 'attach' : 'portforward';
    const { node, request } = await buildStreamRequest(deps.rest, kind, decodeURIComponent(m[1]), decodeURIComponent(m[2]), url.searchParams);
    deps.tunnels.requireTunnel(node);

    // --- SPDY port-forward (kubectl): SPDY inside a WebSocket (kubectl ≥ 1.31), or a plain SPDY/3.1 upgrade. ---
    if (kind === 'portforward') {
      const tunnelProtocol = isWebSocket ? pickTunnelProtocol(offeredProtocols(req)) : undefined;
      if (tunnelProtocol !== undefined || (!isWebSocket && isSpdyUpgrade(req))) {
        let conn: SpdyConnection;
        if (tunnelProtocol !== undefined) {
          conn = spdyOverWebSocket(await acceptTunnelUpgrade(req, socket, head, tunnelProtocol));
        } else {
          conn = acceptSpdyUpgrade(socket, head, negotiateStreamProtocol(req));
        }
        // Each forwarded connection gets its own kubelet stream, for the one port its SPDY streams name.
        servePortForward(conn, {
          pod: request.pod,
          podUid: request.podUid,
          openPort: (port) => deps.tunnels.open(node, { ...request, ports: [port], protocol: PORTFORWARD_PROTOCOLS[0] }),
        });
        return;
      }
    }
    // --- end SPDY port-forward ---

    if (!isWebSocket) {
      throw errors.badRequest(
        kind === 'portforward'
          ? `orch serves port-forward over WebSockets (v4.channel.k8s.io, or SPDY/3.1 tunnelled as SPDY/3.1+portforward.k8s.io) and SPDY/3.1 upgrades; the request asked for a ${req.headers.upgrade ?? 'plain'} upgrade`
          : `orch serves ${kind} over WebSockets only (v5.channel.k8s.io); the request asked for a ${req.headers.upgrade ?? 'plain'} upgrade`,
      );
    }
    const supported: readonly string[] = kind === 'portforward' ? PORTFORWARD_PROTOCOLS : EXEC_PROTOCOLS;
    const offered = offeredProtocols(req);
    let protocol = '';
    if (offered.length > 0) {
      const pick = offered.find((p) => supported.includes(p));
      if (pick === undefined) {
        throw errors.badRequest(`none of the offered subprotocols (${offered.join(', ')}) is supported for ${kind}; supported: ${supported.join(', ')}`);
      }
      protocol = pick;
    }
    request.protocol = protocol;
    if (kind === 'portforward' && (request.ports ?? []).length === 0) throw errors.badRequest('query parameter "ports" is required');
    const agent = await deps.tunnels.open(node, request);
    if (socket.destroyed) {
      agent.close();
      return;
    }
    chosen.set(req, protocol);
    const ws = await upgrade(req, socket, head);
    relay(ws, agent);
  }

  return (req, socket, head) => {
    socket.on('error', () => {});
    handle(req, socket, head).catch((e: unknown) => {
      const err = e instanceof ApiError ? e : errors.internal(e instanceof Error ? e.message : String(e));
      if (!socket.destroyed && socket.writable) writeHttpError(socket, err);
    });
  };
}
