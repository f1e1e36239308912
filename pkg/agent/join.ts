/**
 * Joining: fetch the CA without trusting it, check it against the hash in
 * the token before anything else, then, trusting only that CA, trade the
 * join secret and this node's password for a node credential.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent as UndiciAgent, request } from 'undici';
import { caHash } from '../server/token.js';
import { writeFileAtomic } from '../server/datadir.js';
import type { Transport } from '../client/transport.js';
import { AgentError, describeNetworkError } from './errors.js';

/** Where the agent keeps its state under the data dir. */
export function agentPaths(dataDir: string): { dir: string; nodePassword: string; credential: string; serverCa: string } {
  const dir = join(dataDir, 'agent');
  return { dir, nodePassword: join(dir, 'node-password'), credential: join(dir, 'node-credential.json'), serverCa: join(dir, 'server-ca.crt') };
}

const CA_TIMEOUT_MS = 10_000;

/**
 * GET <server>/cacerts over TLS without verifying the server, and return
 * the PEM only if its sha256 equals `wantHash`. No credential is sent.
 */
export async function fetchTrustedCa(server: string, wantHash: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const timeout = opts.timeoutMs ?? CA_TIMEOUT_MS;
  // Unverified on purpose: the hash check below is what makes this CA trustworthy.
  const insecure = new UndiciAgent({ connect: { rejectUnauthorized: false, timeout }, headersTimeout: timeout, bodyTimeout: timeout });
  let pem: string;
  try {
    const res = await request(new URL('/cacerts', server), { method: 'GET', dispatcher: insecure });
    pem = await res.body.text();
    if (res.statusCode !== 200) throw new AgentError(`${server}/cacerts answered ${res.statusCode}: is this an orch server?`);
  } catch (e) {
    if (e instanceof AgentError) throw e;
    throw new AgentError(describeNetworkError(server, e));
  } finally {
    await insecure.close().catch(() => undefined);
  }
  const got = caHash(pem);
  if (got !== wantHash) {
    throw new AgentError(
      `the CA of ${server} (sha256 ${got}) does not match the token's CA hash (${wantHash}): wrong server, or a token from another cluster`,
    );
  }
  return pem;
}

/** Reads <data-dir>/agent/node-password, creating it (random, 0600) the first time. */
export async function ensureNodePassword(dataDir: string): Promise<string> {
  const p = agentPaths(dataDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  try {
    const stored = (await readFile(p.nodePassword, 'utf8')).trim();
    if (stored !== '') return stored;
  } catch (e) {
    if (!(e instanceof Error && 'code' in e && e.code === 'ENOENT')) throw e;
  }
  const password = randomBytes(32).toString('hex');
  try {
    // 'wx': two agents starting on one data dir must not each write their own.
    await writeFile(p.nodePassword, password + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(p.nodePassword, 0o600);
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'EEXIST') return (await readFile(p.nodePassword, 'utf8')).trim();
    throw e;
  }
  return password;
}

interface StoredCredential {
  nodeName: string;
  credential: string;
}

/** The credential stored for this node name, if any. */
export async function loadCredential(dataDir: string, nodeName: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(agentPaths(dataDir).credential, 'utf8');
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return undefined;
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !('nodeName' in v) || !('credential' in v)) return undefined;
  return v.nodeName === nodeName && typeof v.credential === 'string' ? v.credential : undefined;
}

/** Stores the node credential (0600) so a restarted agent reuses it. */
export async function saveCredential(dataDir: string, nodeName: string, credential: string): Promise<void> {
  const p = agentPaths(dataDir);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  const body: StoredCredential = { nodeName, credential };
  await writeFileAtomic(p.credential, JSON.stringify(body) + '\n', 0o600);
}

/** Forgets the stored credential. */
export async function dropCredential(dataDir: string): Promise<void> {
  await rm(agentPaths(dataDir).credential, { force: true });
}

function statusMessage(text: string): string {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && 'message' in v && typeof v.message === 'string') return v.message;
  } catch {
    // not a Status: fall through
  }
  return text.trim().slice(0, 200);
}

/**
 * POSTs the node name and password to /v1-orch/node-credential through
 * `transport` (which carries the join secret) and returns the credential.
 */
export async function requestCredential(transport: Transport, server: string, nodeName: string, nodePassword: string): Promise<string> {
  let status: number;
  let text: string;
  try {
    const res = await transport.request('POST', '/v1-orch/node-credential', { body: JSON.stringify({ nodeName, nodePassword }) });
    status = res.status;
    text = await res.text();
  } catch (e) {
    throw new AgentError(describeNetworkError(server, e));
  }
  if (status === 401) throw new AgentError(`${server} refused the token (401 Unauthorized): check --token against the server's node-token file`);
  if (status === 403) throw new AgentError(`${server} refused to join node ${nodeName}: ${statusMessage(text)}`);
  if (status === 404) throw new AgentError(`${server} has no node-credential endpoint (404): is this an orch server?`);
  if (status !== 200) throw new AgentError(`${server} refused to join node ${nodeName} (${status}): ${statusMessage(text)}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AgentError(`${server} answered the join with something that is not JSON`);
  }
  if (typeof v !== 'object' || v === null || !('credential' in v) || typeof v.credential !== 'string' || v.credential === '') {
    throw new AgentError(`${server} answered the join without a credential`);
  }
  return v.credential;
}
