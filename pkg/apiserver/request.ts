/**
 * Turns a request path into what it addresses: a discovery document or a
 * resource (collection, object, subresource), as Kubernetes' RequestInfo does.
 */
import { findResource, type ResourceType } from '../api/registry.js';

export type PathTarget =
  | { type: 'discovery'; doc: 'api' | 'apis' }
  | { type: 'discovery'; doc: 'group'; group: string }
  | { type: 'discovery'; doc: 'resources'; group: string; version: string }
  | ResourceTarget;

export interface ResourceTarget {
  type: 'resource';
  resource: ResourceType;
  /** Namespace from the path (namespaced resources only; absent = all namespaces). */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Parses /api/... and /apis/... paths; undefined when nothing lives there. */
export function parsePath(pathname: string): PathTarget | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { type: 'discovery', doc: 'api' };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { type: 'discovery', doc: 'apis' };
    group = parts[1];
    if (parts.length === 2) return { type: 'discovery', doc: 'group', group };
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return { type: 'discovery', doc: 'resources', group, version };
  let decoded: string[];
  try {
    decoded = rest.map((p) => decodeURIComponent(p));
  } catch {
    // A malformed %-escape (URIError) names nothing that could exist.
    return undefined;
  }
  return resolveResource(group, version, decoded);
}

function resolveResource(group: string, version: string, rest: string[]): ResourceTarget | undefined {
  // /namespaces/{ns}/{plural}/... addresses a namespaced resource, unless the
  // segment after {ns} is a subresource of namespaces (status, finalize).
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = findResource(group, version, rest[2]);
    if (inner && inner.namespaced) {
      if (rest.length > 5) return undefined;
      return withNameAndSub({ type: 'resource', resource: inner, namespace: rest[1] }, rest.slice(3));
    }
  }
  const r = findResource(group, version, rest[0]);
  if (!r) return undefined;
  if (rest.length > 3) return undefined;
  return withNameAndSub({ type: 'resource', resource: r }, rest.slice(1));
}

function withNameAndSub(t: ResourceTarget, rest: string[]): ResourceTarget | undefined {
  if (rest.length >= 1) t.name = rest[0];
  if (rest.length === 2) {
    if (!t.resource.subresources.includes(rest[1])) return undefined;
    t.subresource = rest[1];
  }
  return t;
}
