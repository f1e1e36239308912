/**
 * Node credentials: what an agent gets in exchange for the join secret.
 *
 * Like k3s, each node keeps a random node password; the first join under a
 * name stores a hash of it in the Secret `<node>.node-password.orch` in
 * kube-system, so a second machine cannot take over the name. The
 * credential itself is a random bearer token per node whose sha256 sits in
 * the same Secret: the server checks it on every request with one hash and
 * one map lookup, and a restart loads the map back from the store.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { Client } from '../client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.js';
import { Informer } from '../client/informer.js';
import { isDNS1123Subdomain } from '../api/validation/names.js';

export const NODE_PASSWORD_NAMESPACE = 'kube-system';
export const NODE_PASSWORD_SECRET_TYPE = 'orch.io/node-password';
const SUFFIX = '.node-password.orch';

/** The Secret holding a node's password hash and credential hash. */
export function nodePasswordSecretName(nodeName: string): string {
  return `${nodeName}${SUFFIX}`;
}

/** A join the server refuses; `code` is the HTTP status to answer with. */
export class NodeJoinError extends Error {
  constructor(
    readonly code: 400 | 403,
    message: string,
  ) {
    super(message);
    this.name = 'NodeJoinError';
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

function scrypt(password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hashes a node password as `scrypt$N$r$p$<salt b64>$<hash b64>`. */
export async function hashNodePassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether a password matches a hash made by hashNodePassword (false for anything malformed). */
export async function verifyNodePassword(password: string, encoded: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(encoded);
  if (!m) return false;
  const want = Buffer.from(m[5], 'base64');
  const got = await scrypt(password, Buffer.from(m[4], 'base64'), want.length, { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) });
  return got.length === want.length && timingSafeEqual(got, want);
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function fromB64(s: string | undefined): string | undefined {
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

/** The node name, password hash and credential hash a Secret of ours holds; undefined for anything else. */
function readSecret(s: Secret): { nodeName: string; passwordHash: string; credentialHash?: string } | undefined {
  const name = s.metadata?.name ?? '';
  if (s.type !== NODE_PASSWORD_SECRET_TYPE || !name.endsWith(SUFFIX)) return undefined;
  const passwordHash = fromB64(s.data?.hash);
  if (!passwordHash) return undefined;
  return { nodeName: name.slice(0, -SUFFIX.length), passwordHash, credentialHash: fromB64(s.data?.credential) };
}

function takenMessage(nodeName: string): string {
  return (
    `node name ${JSON.stringify(nodeName)} is already taken by another machine (its node password differs); ` +
    `start this agent with another --node-name, or, if that machine is gone, delete its password with ` +
    `\`kubectl -n ${NODE_PASSWORD_NAMESPACE} delete secret ${nodePasswordSecretName(nodeName)}\` and join again`
  );
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Issues and checks node credentials. `start` loads the stored ones and
 * follows changes (a deleted Secret revokes its node's credential).
 */
export class NodeCredentials {
  /** credential sha256 hex → node name. */
  private readonly byHash = new Map<string, string>();
  /** node name → credential sha256 hex, to drop a node's previous credential. */
  private readonly byNode = new Map<string, string>();
  private client: Client | undefined;
  private informer: Informer<Secret> | undefined;

  /** The node a `Bearer <credential>` header belongs to, or undefined. */
  authenticate(header: string | undefined | null): string | undefined {
    if (!header || this.byHash.size === 0) return undefined;
    const m = BEARER.exec(header);
    return m ? this.byHash.get(sha256Hex(m[1] ?? '')) : undefined;
  }

  /** Loads the stored credentials through `client` (admin, in-process) and keeps them in sync; resolves once loaded. */
  async start(client: Client): Promise<void> {
    this.client = client;
    const informer = new Informer<Secret>(client.resource('secrets'), {
      namespace: NODE_PASSWORD_NAMESPACE,
      fieldSelector: `type=${NODE_PASSWORD_SECRET_TYPE}`,
    });
    informer.addEventHandler({
      onAdd: (s) => this.remember(s),
      onUpdate: (_o, s) => this.remember(s),
      onDelete: (s) => {
        const r = readSecret(s);
        if (r) this.set(r.nodeName, undefined);
      },
    });
    this.informer = informer;
    informer.start();
    await informer.waitForSync();
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }

  private remember(s: Secret): void {
    const r = readSecret(s);
    if (r) this.set(r.nodeName, r.credentialHash);
  }

  private set(nodeName: string, credentialHash: string | undefined): void {
    const old = this.byNode.get(nodeName);
    if (old !== undefined) this.byHash.delete(old);
    if (credentialHash === undefined) {
      this.byNode.delete(nodeName);
      return;
    }
    this.byNode.set(nodeName, credentialHash);
    this.byHash.set(credentialHash, nodeName);
  }

  /**
   * Issues a fresh credential for `nodeName` when `nodePassword` is the one
   * first seen for that name (storing it when the name is new); throws
   * NodeJoinError(403) when another password holds the name. The node's
   * previous credential stops working.
   */
  async join(nodeName: string, nodePassword: string): Promise<string> {
    const client = this.client;
    if (!client) throw new Error('NodeCredentials.join before start');
    const nameProblems = isDNS1123Subdomain(nodePasswordSecretName(nodeName));
    if (nodeName === '' || nameProblems.length > 0) throw new NodeJoinError(400, `invalid node name ${JSON.stringify(nodeName)}: ${nameProblems.join('; ')}`);
    if (nodePassword.length < 16) throw new NodeJoinError(400, 'node password must be at least 16 characters');
    const secrets = client.resource('secrets').namespace(NODE_PASSWORD_NAMESPACE);
    const name = nodePasswordSecretName(nodeName);
    const credential = randomBytes(32).toString('base64url');
    const credentialHash = sha256Hex(credential);
    // Two tries: a concurrent join of the same node may win the create or the update.
    for (let attempt = 0; attempt < 3; attempt++) {
      let current: Secret | undefined;
      try {
        current = await secrets.get(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      try {
        if (current === undefined) {
          await secrets.create({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name, namespace: NODE_PASSWORD_NAMESPACE, labels: { 'orch.io/node': nodeName.slice(0, 63) } },
            type: NODE_PASSWORD_SECRET_TYPE,
            data: { hash: b64(await hashNodePassword(nodePassword)), credential: b64(credentialHash) },
          });
        } else {
          const stored = readSecret(current);
          if (!stored || !(await verifyNodePassword(nodePassword, stored.passwordHash))) throw new NodeJoinError(403, takenMessage(nodeName));
          await secrets.update({ ...current, data: { ...current.data, credential: b64(credentialHash) } });
        }
      } catch (e) {
        if (isAlreadyExists(e) || isConflict(e)) continue;
        throw e;
      }
      // Written through at once: the agent's next request must not race the informer.
      this.set(nodeName, credentialHash);
      return credential;
    }
    throw new Error(`node ${nodeName}: concurrent joins kept conflicting; try again`);
  }
}
