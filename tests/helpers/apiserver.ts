/**
 * An in-process API server for tests: memory or SQLite store, the cluster's
 * built-in objects, and a `call` that goes through the hono app (no socket).
 */
import type { MetricsRegistry } from '../../pkg/util/metrics.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../../embedded-store/memory.js';
import { SqliteBackend } from '../../embedded-store/sqlite.js';
import type { Backend } from '../../embedded-store/types.js';
import { createApiServer, type ApiServer } from '../../pkg/apiserver/app.js';
import { bootstrapObjects } from '../../pkg/server/bootstrap.js';
import type { DefaultTolerationOptions } from '../../pkg/apiserver/admission/default-tolerations.js';

export const TOKEN = 'test-admin-token';

export interface TestApi {
  api: ApiServer;
  backend: Backend;
  /** Sends a request with the admin token; JSON bodies are serialised. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Same, parsing the JSON answer. */
  json<T = Record<string, any>>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestApi(
  opts: { sqlite?: boolean; bookmarkIntervalMs?: number; defaultTolerations?: DefaultTolerationOptions; metrics?: MetricsRegistry } = {},
): Promise<TestApi> {
  let dir: string | undefined;
  let backend: Backend;
  if (opts.sqlite) {
    dir = mkdtempSync(join(tmpdir(), 'orch-api-'));
    backend = SqliteBackend.open(join(dir, 'state.db'));
  } else {
    backend = new MemoryBackend();
  }
  const api = createApiServer({
    backend,
    authenticate: (h) => h === `Bearer ${TOKEN}`,
    serverAddress: '127.0.0.1:6443',
    caBundle: 'CA',
    serviceCidr: '10.43.0.0/16',
    nodePortRange: '30000-32767',
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    defaultTolerations: opts.defaultTolerations,
    metrics: opts.metrics,
  });
  await bootstrapObjects(api, { advertiseAddress: '127.0.0.1', port: 6443, serviceCidr: '10.43.0.0/16' });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    return Promise.resolve(api.app.request(path, init));
  };
  return {
    api,
    backend,
    call,
    async json(method, path, body, headers) {
      const res = await call(method, path, body, headers);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async close() {
      await backend.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
