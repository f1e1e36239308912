/**
 * API errors: one class, one Kubernetes `Status` each. Handlers throw these;
 * the app's error handler turns them into the JSON kubectl prints as
 * `Error from server (Reason): message`.
 */
import type { ResourceType } from '../api/registry.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error that answers the request with a Kubernetes Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** How a resource is named in messages: 'pods' or 'deployments.apps'. */
function qualified(r: Pick<ResourceType, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function details(r: Pick<ResourceType, 'group' | 'plural'>, name: string): StatusDetails {
  const d: StatusDetails = { name, kind: r.plural };
  if (r.group) d.group = r.group;
  return d;
}

export const errors = {
  notFound(r: Pick<ResourceType, 'group' | 'plural'>, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name));
  },
  alreadyExists(r: Pick<ResourceType, 'group' | 'plural'>, name: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name));
  },
  conflict(r: Pick<ResourceType, 'group' | 'plural'>, name: string, why?: string): ApiError {
    const msg = `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${
      why ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`;
    return new ApiError(409, 'Conflict', msg, details(r, name));
  },
  invalid(r: Pick<ResourceType, 'group' | 'kind'>, name: string, causes: StatusCause[]): ApiError {
    const kindName = r.group ? `${r.kind}.${r.group}` : r.kind;
    const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
    const d: StatusDetails = { name, kind: r.kind, causes };
    if (r.group) d.group = r.group;
    return new ApiError(422, 'Invalid', `${kindName} "${name}" is invalid: ${joined}`, d);
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },
  forbidden(message: string): ApiError {
    return new ApiError(403, 'Forbidden', message);
  },
  methodNotSupported(r: Pick<ResourceType, 'group' | 'plural'>, verb: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', `${verb} is not supported on resources of kind "${qualified(r)}"`, {
      kind: r.plural,
      ...(r.group ? { group: r.group } : {}),
    });
  },
  notAcceptable(message: string): ApiError {
    return new ApiError(406, 'NotAcceptable', message);
  },
  unsupportedMediaType(contentType: string): ApiError {
    return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got "${contentType}")`);
  },
  tooLarge(limit: number): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
  },
  expired(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  gone(message: string): ApiError {
    return new ApiError(410, 'Gone', message);
  },
  pathNotFound(): ApiError {
    return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  },
  timeout(message: string): ApiError {
    return new ApiError(504, 'Timeout', message);
  },
  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
};

/** A success Status, as some deletes answer. */
export function successStatus(d?: StatusDetails): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (d) s.details = d;
  return s;
}
