/**
 * Transports: how the client reaches the API. In the server process it is
 * the hono app's own `fetch` (no socket); remotely it is HTTPS over an
 * undici pool that trusts the cluster CA. undici types stay in this file.
 */
import { Pool } from 'undici';
import { inProcessRequest } from '../util/in-process-request.js';

export interface TransportRequestOptions {
  body?: string;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** A long-lived body (watch): no body timeout, the caller ends it through `signal`. */
  stream?: boolean;
}

export interface TransportResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The whole body parsed as JSON (undefined for an empty body). */
  json(): Promise<unknown>;
  /**
   * The body as it arrives, one line at a time (no trailing newline, empty
   * lines skipped). Ends quietly when the request's signal aborts.
   */
  lines(): AsyncIterable<string>;
  /** Discards the body without reading it. */
  discard(): Promise<void>;
}

export interface Transport {
  /** Sends one request; `path` includes the query string. Any HTTP status resolves. */
  request(method: string, path: string, opts?: TransportRequestOptions): Promise<TransportResponse>;
  /** Releases connections; in-flight streams are ended. */
  close(): Promise<void>;
}

const DEFAULT_USER_AGENT = 'orch-client/0.1';

function requestHeaders(opts: TransportRequestOptions, token: string | undefined, userAgent: string): Record<string, string> {
  const h: Record<string, string> = { accept: opts.accept ?? 'application/json', 'user-agent': userAgent };
  if (token) h.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) h['content-type'] = opts.contentType ?? 'application/json';
  return h;
}

function parseJsonText(text: string): unknown {
  return text.trim() === '' ? undefined : JSON.parse(text);
}

/** Splits decoded chunks into lines, carrying partial lines over. */
async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of chunks) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== '') yield line;
    }
  }
  buf += decoder.decode();
  if (buf.trim() !== '') yield buf.trim();
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (e instanceof Error && (e.name === 'AbortError' || e.name === 'RequestAbortedError'));
}

/** Reads a WHATWG body stream; cancelling on abort ends the iteration instead of hanging. */
async function* webChunks(body: ReadableStream<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  const onAbort = (): void => {
    reader.cancel().catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) return;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Stopping early (break, abort) must release the server-side stream.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * A web Response as a TransportResponse; `finish` runs once the body is read,
 * discarded or its stream ends (a stream's bookkeeping), `signal` ends lines().
 */
function webResponse(res: Response, signal?: AbortSignal, finish: () => void = () => {}): TransportResponse {
  // Read res.body only when it is streamed: a light Response (@hono/node-server's, in-process)
  // would otherwise build its real Response and stream just to answer text().
  let done = false;
  const end = (): void => {
    done = true;
    finish();
  };
  const text = async (): Promise<string> => {
    try {
      return await res.text();
    } finally {
      end();
    }
  };
  return {
    status: res.status,
    headers: res.headers,
    text,
    async json() {
      return parseJsonText(await text());
    },
    async *lines() {
      const body = res.body;
      if (!body) return end();
      try {
        for await (const line of splitLines(webChunks(body, signal))) yield line;
      } finally {
        end();
      }
    },
    async discard() {
      if (!done) await res.body?.cancel().catch(() => undefined);
      end();
    },
  };
}

/**
 * A transport that calls a fetch handler in-process, e.g. `app.fetch` of the
 * hono app. Requests still carry the bearer token so authentication runs.
 */
export function inProcessTransport(
  fetch: (req: Request) => Response | Promise<Response>,
  token?: string,
  opts: { userAgent?: string } = {},
): Transport {
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  const inflight = new Set<AbortController>();
  return {
    async request(method, path, ro = {}) {
      const url = `http://in-process${path}`;
      const headers = requestHeaders(ro, token, userAgent);
      if (!ro.stream) {
        // An ordinary answer is complete when fetch returns: nothing to release
        // later, so no controller of our own (an AbortSignal is costly to make,
        // and this is every controller's and the scheduler's write path).
        // A caller's signal needs a real Request (the handler may watch it); otherwise the light one.
        const req = ro.signal ? new Request(url, { method, headers, body: ro.body, signal: ro.signal }) : inProcessRequest(url, method, headers, ro.body);
        return webResponse(await fetch(req));
      }
      // One controller per stream so close() can end the ones the caller forgot.
      const ac = new AbortController();
      const signal = ro.signal ? AbortSignal.any([ro.signal, ac.signal]) : ac.signal;
      inflight.add(ac);
      const res = await fetch(new Request(url, { method, headers, body: ro.body, signal }));
      const body = res.body;
      // A stream nobody reads must still be released when the caller aborts, or the
      // server side (a registered watcher) would live on.
      signal.addEventListener(
        'abort',
        () => {
          if (body && !body.locked) body.cancel().catch(() => undefined);
          inflight.delete(ac);
        },
        { once: true },
      );
      return webResponse(res, signal, () => inflight.delete(ac));
    },
    async close() {
      for (const ac of inflight) ac.abort();
      inflight.clear();
    },
  };
}

export interface HttpsTransportOptions {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  /** PEM of the CA that signed the server certificate; nothing else is trusted. */
  ca: string;
  token: string;
  userAgent?: string;
  /** Idle keep-alive sockets are closed after this long (default 30 s). */
  keepAliveTimeoutMs?: number;
  /** Time to wait for response headers (default 60 s). */
  headersTimeoutMs?: number;
  /** Time between body chunks for ordinary (non-stream) requests (default 120 s). */
  bodyTimeoutMs?: number;
}

/** A transport over HTTPS with keep-alive, verifying the server against `ca`. */
export function httpsTransport(o: HttpsTransportOptions): Transport {
  const url = new URL(o.server);
  if (url.protocol !== 'https:') throw new Error(`httpsTransport: server must be https://, got ${o.server}`);
  const userAgent = o.userAgent ?? DEFAULT_USER_AGENT;
  // connections: null → one socket per concurrent request; each watch holds one for its lifetime.
  const pool = new Pool(url.origin, {
    connect: { ca: o.ca, rejectUnauthorized: true },
    connections: null,
    keepAliveTimeout: o.keepAliveTimeoutMs ?? 30_000,
    pipelining: 1,
  });
  return {
    async request(method, path, ro = {}) {
      const res = await pool.request({
        path,
        method,
        headers: requestHeaders(ro, o.token, userAgent),
        body: ro.body,
        signal: ro.signal,
        headersTimeout: o.headersTimeoutMs ?? 60_000,
        bodyTimeout: ro.stream ? 0 : (o.bodyTimeoutMs ?? 120_000),
      });
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (Array.isArray(v)) for (const x of v) headers.append(k, x);
        else if (v !== undefined) headers.set(k, v);
      }
      const body = res.body;
      const signal = ro.signal;
      return {
        status: res.statusCode,
        headers,
        text: () => body.text(),
        async json() {
          return parseJsonText(await body.text());
        },
        async *lines() {
          try {
            for await (const line of splitLines(body)) yield line;
          } catch (e) {
            if (!isAbort(e, signal)) throw e;
          } finally {
            if (!body.destroyed) body.destroy();
          }
        },
        async discard() {
          await body.dump().catch(() => undefined);
        },
      };
    },
    async close() {
      await pool.destroy();
    },
  };
}
