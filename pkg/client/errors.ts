/**
 * API errors as the client sees them: every non-2xx answer becomes an
 * ApiStatusError carrying the server's Status (or one made up from the HTTP
 * status when the body is not a Status).
 */
import type { Status } from 'kubernetes-types/meta/v1.js';

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A request the API answered with a failure Status. */
export class ApiStatusError extends Error {
  readonly code: number;
  readonly reason: string;

  constructor(readonly status: Status) {
    super(status.message ?? `the server responded with status ${status.code ?? 'unknown'}`);
    this.name = 'ApiStatusError';
    this.code = status.code ?? 0;
    this.reason = status.reason ?? REASON_BY_CODE[this.code] ?? 'Unknown';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Narrows a parsed body to a Status when it looks like one. */
export function asStatus(v: unknown): Status | undefined {
  if (!isRecord(v) || v.kind !== 'Status') return undefined;
  const s: Status = { kind: 'Status', apiVersion: 'v1' };
  if (typeof v.status === 'string') s.status = v.status;
  if (typeof v.message === 'string') s.message = v.message;
  if (typeof v.reason === 'string') s.reason = v.reason;
  if (typeof v.code === 'number') s.code = v.code;
  if (isRecord(v.details)) s.details = v.details;
  return s;
}

/** The error for an HTTP answer with `code` and body `text`. */
export function apiErrorFrom(code: number, text: string): ApiStatusError {
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const s = asStatus(parsed);
  if (s) return new ApiStatusError({ ...s, code: s.code ?? code });
  const message = text.trim() || `the server responded with HTTP ${code}`;
  return new ApiStatusError({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: REASON_BY_CODE[code] ?? 'Unknown', message });
}

function has(e: unknown, test: (e: ApiStatusError) => boolean): e is ApiStatusError {
  return e instanceof ApiStatusError && test(e);
}

/** 404 NotFound. */
export function isNotFound(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.code === 404);
}

/** 409 Conflict (a stale resourceVersion or a failed precondition). */
export function isConflict(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.code === 409 && x.reason !== 'AlreadyExists');
}

/** 409 AlreadyExists. */
export function isAlreadyExists(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.reason === 'AlreadyExists');
}

/** 410 Gone / Expired: a resourceVersion or continue token older than the store's history. */
export function isExpired(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.code === 410 || x.reason === 'Expired' || x.reason === 'Gone');
}

/** 422 Invalid. */
export function isInvalid(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.code === 422 || x.reason === 'Invalid');
}

/** 429 TooManyRequests (e.g. an eviction blocked by a disruption budget). */
export function isTooManyRequests(e: unknown): e is ApiStatusError {
  return has(e, (x) => x.code === 429);
}
