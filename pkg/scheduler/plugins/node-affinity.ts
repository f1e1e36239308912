/**
 * NodeAffinity: spec.nodeSelector and the required node affinity
 * (nodeSelectorTerms ORed; within a term matchExpressions and matchFields
 * ANDed), as k8s.io/component-helpers/scheduling/corev1/nodeaffinity matches them.
 */
import type { NodeSelectorRequirement, NodeSelectorTerm } from 'kubernetes-types/core/v1.js';
import { FITS, unfit, type FilterResult, type NodeInfo, type Plugin, type PodInfo } from '../types.js';

export const NAME = 'NodeAffinity';
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

// Label values compared with Gt/Lt must be base-10 int64s, as strconv.ParseInt(v, 10, 64).
const INT_RE = /^[+-]?\d+$/;

function parseInt64(s: string): bigint | undefined {
  return INT_RE.test(s) ? BigInt(s) : undefined;
}

/** One matchExpressions requirement against node labels; an invalid requirement matches nothing. */
export function matchesExpression(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return values.length > 0 && value !== undefined && values.includes(value);
    case 'NotIn':
      return values.length > 0 && (value === undefined || !values.includes(value));
    case 'Exists':
      return values.length === 0 && has;
    case 'DoesNotExist':
      return values.length === 0 && !has;
    case 'Gt':
    case 'Lt': {
      if (values.length !== 1 || value === undefined) return false;
      const want = parseInt64(values[0]);
      const got = parseInt64(value);
      if (want === undefined || got === undefined) return false;
      return req.operator === 'Gt' ? got > want : got < want;
    }
    default:
      return false;
  }
}

/** One matchFields requirement: only metadata.name with In/NotIn and a single value is valid. */
export function matchesField(req: NodeSelectorRequirement, nodeName: string): boolean {
  if (req.key !== 'metadata.name' || req.values?.length !== 1) return false;
  if (req.operator === 'In') return nodeName === req.values[0];
  if (req.operator === 'NotIn') return nodeName !== req.values[0];
  return false;
}

/** A term matches when it has at least one requirement and all of them match. */
export function matchesTerm(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  return exprs.every((r) => matchesExpression(r, labels)) && fields.every((r) => matchesField(r, nodeName));
}

/** True when the node satisfies the nodeSelector and (if any) one of the required terms. */
export function fits(
  nodeSelector: readonly [string, string][],
  requiredTerms: readonly NodeSelectorTerm[] | undefined,
  labels: Record<string, string>,
  nodeName: string,
): boolean {
  for (const [k, v] of nodeSelector) if (labels[k] !== v) return false;
  if (requiredTerms === undefined) return true;
  return requiredTerms.some((t) => matchesTerm(t, labels, nodeName));
}

/** Builds the NodeAffinity filter. */
export function nodeAffinity(): Plugin {
  return {
    name: NAME,
    filter(pod: PodInfo, node: NodeInfo): FilterResult {
      return fits(pod.nodeSelector, pod.requiredNodeTerms, node.labels, node.name) ? FITS : unfit(ERR_REASON_POD);
    },
  };
}
