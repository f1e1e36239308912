/**
 * POST /v1-orch/node-credential: an agent trades the cluster's join secret
 * (never the admin token) and its node password for a node credential.
 * The route authenticates on its own, so the API's bearer check skips it.
 */
import type { Hono } from 'hono';
import { errors } from './errors.js';
import { requestBody } from './body.js';

export const NODE_CREDENTIAL_PATH = '/v1-orch/node-credential';

/** What the route needs from the server. */
export interface NodeJoinService {
  /** Whether the Authorization header carries the join secret. */
  checkJoinSecret(authorization: string | undefined): boolean;
  /** Issues a credential; throws an error with `code` 400 or 403 and an operator-facing message when refused. */
  join(nodeName: string, nodePassword: string): Promise<string>;
}

/** The answer of a successful join. */
export interface NodeCredentialResponse {
  nodeName: string;
  credential: string;
}

function hasCode(e: unknown): e is Error & { code: number } {
  return e instanceof Error && 'code' in e && (e.code === 400 || e.code === 403);
}

/** Mounts the node-credential route. */
export function registerNodeJoin(app: Hono, svc: NodeJoinService): void {
  app.post(NODE_CREDENTIAL_PATH, async (c) => {
    if (!svc.checkJoinSecret(c.req.header('authorization'))) throw errors.unauthorized();
    let body: unknown;
    try {
      body = JSON.parse(await requestBody(c));
    } catch {
      throw errors.badRequest('body must be JSON: {"nodeName": "...", "nodePassword": "..."}');
    }
    const nodeName = typeof body === 'object' && body !== null && 'nodeName' in body ? body.nodeName : undefined;
    const nodePassword = typeof body === 'object' && body !== null && 'nodePassword' in body ? body.nodePassword : undefined;
    if (typeof nodeName !== 'string' || typeof nodePassword !== 'string') {
      throw errors.badRequest('body must be JSON: {"nodeName": "...", "nodePassword": "..."}');
    }
    let credential: string;
    try {
      credential = await svc.join(nodeName, nodePassword);
    } catch (e) {
      if (hasCode(e)) throw e.code === 403 ? errors.forbidden(e.message) : errors.badRequest(e.message);
      throw e;
    }
    const out: NodeCredentialResponse = { nodeName, credential };
    return c.json(out);
  });
}
