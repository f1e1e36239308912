/**
 * How pods select nodes, shared by the scheduler, the DaemonSet controller
 * and the taint manager: node selector terms as
 * k8s.io/component-helpers/scheduling/corev1/nodeaffinity matches them, and
 * v1.Toleration.ToleratesTaint.
 */
import type { NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';

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

/** v1.Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}
