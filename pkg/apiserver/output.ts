/**
 * Response shapes negotiated through Accept: the object or list itself, a
 * meta.k8s.io Table (kubectl get), or PartialObjectMetadata(List).
 */
import { apiVersionOf, groupResourceOf, type ResourceType } from '../api/registry.js';
import type { KubeObject } from '../api/object.js';
import { columnDefinitions, rowCells } from './table.js';
import { errors } from './errors.js';

export type OutputAs = 'object' | 'Table' | 'PartialObjectMetadata';

export interface Negotiated {
  as: OutputAs;
  /** meta.k8s.io version the client asked for (v1 or v1beta1). */
  metaVersion: string;
}

/**
 * Picks the first acceptable representation from an Accept header, as
 * Kubernetes does: Table and PartialObjectMetadata when asked for with
 * g=meta.k8s.io, else JSON. Protobuf alone is refused.
 */
export function negotiate(accept: string | null | undefined): Negotiated {
  if (!accept) return { as: 'object', metaVersion: 'v1' };
  let sawJson = false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    const jsonish = type === 'application/json' || type === '*/*' || type === 'application/*' || type === 'application/yaml';
    if (!jsonish) continue;
    const as = p.get('as');
    if (as === undefined) {
      sawJson = true;
      continue;
    }
    if (p.get('g') !== 'meta.k8s.io') continue;
    const v = p.get('v') ?? 'v1';
    if (v !== 'v1' && v !== 'v1beta1') continue;
    if (as === 'Table') return { as: 'Table', metaVersion: v };
    if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return { as: 'PartialObjectMetadata', metaVersion: v };
  }
  if (sawJson) return { as: 'object', metaVersion: 'v1' };
  throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml');
}

export interface ListMeta {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

function listMetadata(m: ListMeta): Record<string, unknown> {
  const out: Record<string, unknown> = { resourceVersion: m.resourceVersion };
  if (m.continue) out.continue = m.continue;
  if (m.remainingItemCount !== undefined) out.remainingItemCount = m.remainingItemCount;
  return out;
}

/** The kind's List object. */
export function asList(r: ResourceType, items: KubeObject[], meta: ListMeta): Record<string, unknown> {
  return { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: listMetadata(meta), items };
}

function partial(o: KubeObject, metaVersion: string): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${metaVersion}`, metadata: o.metadata };
}

/** PartialObjectMetadata for one object. */
export function asPartial(o: KubeObject, metaVersion: string): Record<string, unknown> {
  return partial(o, metaVersion);
}

/** PartialObjectMetadataList for a list. */
export function asPartialList(items: KubeObject[], meta: ListMeta, metaVersion: string): Record<string, unknown> {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${metaVersion}`,
    metadata: listMetadata(meta),
    items: items.map((o) => partial(o, metaVersion)),
  };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Parses includeObject (default Metadata). */
export function parseIncludeObject(v: string | undefined): IncludeObject {
  if (v === undefined || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw errors.badRequest(`includeObject: Unsupported value: "${v}": supported values: "Metadata", "None", "Object"`);
}

/** A meta.k8s.io Table of `items`; `withColumns` false omits the header (later watch events). */
export function asTable(
  r: ResourceType,
  items: KubeObject[],
  meta: ListMeta | undefined,
  opts: { metaVersion: string; includeObject: IncludeObject; now: Date; withColumns?: boolean },
): Record<string, unknown> {
  const gr = groupResourceOf(r);
  const rows = items.map((o) => {
    const row: Record<string, unknown> = { cells: rowCells(gr, o, opts.now) };
    if (opts.includeObject === 'Object') row.object = { ...o, apiVersion: apiVersionOf(r), kind: r.kind };
    else if (opts.includeObject === 'Metadata') row.object = partial(o, opts.metaVersion);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.metaVersion}`,
    metadata: meta ? listMetadata(meta) : {},
    columnDefinitions: opts.withColumns === false ? null : columnDefinitions(gr),
    rows,
  };
}
