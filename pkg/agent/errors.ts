/** Agent failures as one-line messages that name the cause. */

/** A failure the operator can act on; `message` is the whole story, one line. */
export class AgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_SOCKET: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EPIPE: 'connection closed',
};

/** The errno-like code of a network error (looking through `cause` and AggregateError). */
export function networkCode(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; depth++) {
    if ('code' in cur && typeof cur.code === 'string' && cur.code !== '') return cur.code;
    if (cur instanceof AggregateError && cur.errors.length > 0) return networkCode(cur.errors[0]);
    cur = cur.cause;
  }
  return undefined;
}

/** Whether `e` means the server could not be reached (worth retrying later). */
export function isUnreachable(e: unknown): boolean {
  const code = networkCode(e);
  return code !== undefined && code in REASONS;
}

/** "cannot reach https://…: connection refused" (or the TLS reason, or the raw message). */
export function describeNetworkError(server: string, e: unknown): string {
  const code = networkCode(e);
  const reason = code ? (REASONS[code] ?? (code.startsWith('ERR_TLS') || /CERT|SIGNATURE/.test(code) ? `TLS: ${code}` : code)) : e instanceof Error ? e.message : String(e);
  return `cannot reach ${server}: ${reason}`;
}
