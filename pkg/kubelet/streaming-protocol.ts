/**
 * What the API server and a kubelet say to each other over the agent's
 * tunnel, and the Kubernetes channel framing (`*.channel.k8s.io`) both sides
 * share. Kept free of server and runtime code so either side can import it.
 *
 * Per stream: the server sends a StreamRequest on the agent's control socket;
 * the agent dials a stream socket; the kubelet's first message there is a
 * text StreamHeader (ok, or the error the server answers the client with);
 * after it come binary messages: raw log bytes for `log`, channel frames
 * (first byte = channel) for exec/attach/portforward, relayed unchanged.
 */

/** Exec/attach subprotocols, newest first (the server picks the client's first supported one). */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
/** Port-forward WebSocket subprotocols. */
export const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io'] as const;

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Options of a log request (query parameters of pods/log). */
export interface LogRequestOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  /** RFC 3339. */
  sinceTime?: string;
  limitBytes?: number;
}

/** One streaming request, as the server hands it to a node's kubelet. */
export interface StreamRequest {
  kind: 'log' | 'exec' | 'attach' | 'portforward';
  namespace: string;
  pod: string;
  podUid?: string;
  /** Container name, already defaulted and validated by the server (unset for portforward). */
  container?: string;
  /** exec only. */
  command?: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  /** Negotiated WebSocket subprotocol for exec/attach/portforward ('' when the client offered none). */
  protocol: string;
  log?: LogRequestOptions;
  /** portforward: the pod's ports, and where the server saw the pod (the kubelet may know better). */
  ports?: number[];
  podIP?: string;
  hostNetwork?: boolean;
}

/** The kubelet's first message on a stream socket. */
export type StreamHeader = { ok: true } | { ok: false; code: number; reason: string; message: string };

/** Control message on the tunnel socket, server → agent. */
export interface TunnelOpenMessage {
  type: 'open';
  id: string;
  request: StreamRequest;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function parseLogOptions(v: unknown): LogRequestOptions | undefined {
  if (!isRecord(v)) return undefined;
  return {
    follow: v.follow === true,
    previous: v.previous === true,
    timestamps: v.timestamps === true,
    tailLines: optNumber(v.tailLines),
    sinceSeconds: optNumber(v.sinceSeconds),
    sinceTime: typeof v.sinceTime === 'string' ? v.sinceTime : undefined,
    limitBytes: optNumber(v.limitBytes),
  };
}

/** Validates a StreamRequest received as JSON; undefined when malformed. */
export function parseStreamRequest(v: unknown): StreamRequest | undefined {
  if (!isRecord(v)) return undefined;
  const kind = v.kind;
  if (kind !== 'log' && kind !== 'exec' && kind !== 'attach' && kind !== 'portforward') return undefined;
  if (typeof v.namespace !== 'string' || typeof v.pod !== 'string') return undefined;
  const strings = (a: unknown): string[] | undefined => (Array.isArray(a) && a.every((s) => typeof s === 'string') ? a : undefined);
  const ports = Array.isArray(v.ports) && v.ports.every((p) => Number.isInteger(p)) ? v.ports.map(Number) : undefined;
  return {
    kind,
    namespace: v.namespace,
    pod: v.pod,
    podUid: typeof v.podUid === 'string' ? v.podUid : undefined,
    container: typeof v.container === 'string' ? v.container : undefined,
    command: strings(v.command),
    stdin: v.stdin === true,
    stdout: v.stdout === true,
    stderr: v.stderr === true,
    tty: v.tty === true,
    protocol: typeof v.protocol === 'string' ? v.protocol : '',
    log: parseLogOptions(v.log),
    ports,
    podIP: typeof v.podIP === 'string' ? v.podIP : undefined,
    hostNetwork: v.hostNetwork === true,
  };
}

/** Parses a control message from the server; undefined when it is not one we know. */
export function parseTunnelMessage(text: string): TunnelOpenMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || v.type !== 'open' || typeof v.id !== 'string') return undefined;
  const request = parseStreamRequest(v.request);
  return request ? { type: 'open', id: v.id, request } : undefined;
}

/** Parses the kubelet's header message; undefined when malformed. */
export function parseStreamHeader(text: string): StreamHeader | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  if (v.ok === true) return { ok: true };
  if (v.ok === false && typeof v.code === 'number' && typeof v.reason === 'string' && typeof v.message === 'string') {
    return { ok: false, code: v.code, reason: v.reason, message: v.message };
  }
  return undefined;
}

/** A channel frame: the channel byte then the data. */
export function frame(channel: number, data: Uint8Array | string = new Uint8Array(0)): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  out.set(body, 1);
  return out;
}

/** Whether the protocol carries a JSON Status on the error channel (v4+) rather than plain text. */
export function statusIsJson(protocol: string): boolean {
  return protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
}

/** Whether the protocol has the close-stream frame (0xFF <channel>). */
export function supportsClose(protocol: string): boolean {
  return protocol === 'v5.channel.k8s.io';
}

/** The Status an exec/attach ends with on the error channel (v4+). */
export function exitStatus(exitCode: number, command?: string[]): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  const what = command ? `error executing command [${command.join(' ')}], exit code ${exitCode}` : `exit code ${exitCode}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${what}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}
