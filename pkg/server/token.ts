// Join token and admin credential.
//
// The join token uses k3s' format, K10<sha256 of the CA PEM>::server:<secret>,
// so an agent given only the token can check that the server it reaches
// presents the CA the token was cut for before trusting anything it says.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { serverPaths, writeFileAtomic } from './datadir.js';

/** A token that does not parse, or whose CA hash does not match the cluster CA. */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** A parsed join token; caHash is absent for a bare secret. */
export interface ParsedToken {
  caHash?: string;
  username?: string;
  secret: string;
}

/** Hex sha256 of a CA bundle PEM exactly as served (the hash inside a K10 token). */
export function caHash(pem: string): string {
  return createHash('sha256').update(pem).digest('hex');
}

const K10 = /^K10([0-9a-f]{64})::([^:]+):(.+)$/;

/** Parses a full K10 token or a bare secret; throws TokenError for a malformed K10 token. */
export function parseToken(token: string): ParsedToken {
  const t = token.trim();
  if (t === '') throw new TokenError('token is empty');
  // Like k3s: only a K10 prefix with a "::" separator claims to be a full token.
  if (!(t.startsWith('K10') && t.includes('::'))) return { secret: t };
  const m = K10.exec(t);
  if (!m) throw new TokenError('invalid token: expected K10<64 hex digits>::<user>:<secret> or a bare secret');
  return { caHash: m[1] ?? '', username: m[2] ?? '', secret: m[3] ?? '' };
}

/** Formats the full join token for a CA and secret. */
export function formatToken(caPem: string, secret: string, username = 'server'): string {
  return `K10${caHash(caPem)}::${username}:${secret}`;
}

function randomSecret(): string {
  return randomBytes(16).toString('hex');
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Options of ensureServerToken. */
export interface ServerTokenOptions {
  dataDir: string;
  /** Server CA PEM, as served to agents. */
  caPem: string;
  /** --token: a bare secret or a full K10 token for this cluster's CA. */
  token?: string;
}

/** The join token in use. */
export interface ServerToken {
  token: string;
  secret: string;
}

/** Resolves the join token (from --token, the stored token, or a new secret) and writes <dataDir>/server/{token,node-token} with mode 0600. */
export async function ensureServerToken(opts: ServerTokenOptions): Promise<ServerToken> {
  const paths = serverPaths(opts.dataDir);
  const expected = caHash(opts.caPem);
  let secret: string;
  if (opts.token !== undefined) {
    const parsed = parseToken(opts.token);
    if (parsed.caHash !== undefined && parsed.caHash !== expected) {
      throw new TokenError(
        `--token was issued for a different CA (hash ${parsed.caHash}) than this server's (${expected}); pass the bare secret or the token from ${paths.token}`,
      );
    }
    secret = parsed.secret;
  } else {
    const stored = await readOptional(paths.token);
    // A stored token always comes from us; if the CA was recreated its hash is
    // stale but the secret is still the one agents were given.
    secret = stored ? parseToken(stored).secret : randomSecret();
  }
  const token = formatToken(opts.caPem, secret);
  await mkdir(dirname(paths.token), { recursive: true, mode: 0o700 });
  await writeFileAtomic(paths.token, token + '\n', 0o600);
  await writeFileAtomic(paths.nodeToken, token + '\n', 0o600);
  return { token, secret };
}

/** Credentials the server authenticates clients with. */
export interface Credentials {
  /** Bearer token of the admin user (written into the kubeconfig). */
  adminToken: string;
}

/** Reads <dataDir>/server/cred/admin.token, creating it (0600, random) on first start. */
export async function loadOrCreateAdminToken(dataDir: string): Promise<string> {
  const path = serverPaths(dataDir).adminToken;
  const stored = await readOptional(path);
  if (stored) return stored;
  const token = randomBytes(32).toString('base64url');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, token + '\n', 0o600);
  return token;
}

/** Loads or creates every server credential. */
export async function loadCredentials(dataDir: string): Promise<Credentials> {
  return { adminToken: await loadOrCreateAdminToken(dataDir) };
}

/**
 * Whether an Authorization header carries `Bearer <expected>`, constant-time
 * in the token; the expected digest is computed once, as the API server asks
 * on every request.
 */
export function bearerChecker(expected: string): (header: string | undefined | null) => boolean {
  // Comparing digests keeps the comparison length-independent.
  const want = createHash('sha256').update(expected).digest();
  return (header) => {
    if (!header || expected === '') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1] ?? '').digest(), want);
  };
}
