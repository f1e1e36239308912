/**
 * resource.Quantity parsing as k8s.io/apimachinery does it, exact: the
 * number is kept as a BigInt mantissa with decimal and binary exponents so
 * "0.1" CPU is 100 millicores, not 100.00000000000001 rounded up to 101.
 */

/** A string that is not a Kubernetes quantity. */
export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

interface ParsedQuantity {
  mantissa: bigint;
  /** Power of ten applied to the mantissa. */
  exp10: number;
  /** Power of two applied to the mantissa (binary SI suffixes). */
  exp2: number;
}

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

function parse(s: string): ParsedQuantity {
  const m = QUANTITY_RE.exec(s.trim());
  if (!m) throw new QuantityError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  const [, sign, num, suffix = ''] = m;
  const [intPart, fracPart = ''] = num.split('.');
  let mantissa = BigInt((intPart || '0') + fracPart);
  if (sign === '-') mantissa = -mantissa;
  let exp10 = -fracPart.length;
  let exp2 = 0;
  if (suffix in BINARY_SUFFIX) exp2 = BINARY_SUFFIX[suffix];
  else if (suffix in DECIMAL_SUFFIX) exp10 += DECIMAL_SUFFIX[suffix];
  else if (suffix !== '') exp10 += Number(suffix.slice(1));
  return { mantissa, exp10, exp2 };
}

/** ceil(a / b) for b > 0, as Quantity.Value()/MilliValue() round up. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b > 0n ? q + 1n : q;
}

function scaled(p: ParsedQuantity, scale10: number): number {
  let v = p.mantissa * (1n << BigInt(p.exp2));
  const e = p.exp10 + scale10;
  if (e >= 0) v *= 10n ** BigInt(e);
  else v = ceilDiv(v, 10n ** BigInt(-e));
  return Number(v);
}

// Pods of one Deployment repeat the same few strings ("100m", "128Mi"); a
// bounded memo keeps parsing off the hot path without growing without limit.
const MEMO_LIMIT = 4096;
const memo = new Map<string, ParsedQuantity>();

function parseMemo(s: string): ParsedQuantity {
  let p = memo.get(s);
  if (p === undefined) {
    p = parse(s);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(s, p);
  }
  return p;
}

/** Quantity.Value(): the quantity in whole units, rounded up. Throws QuantityError. */
export function quantityValue(q: string | number): number {
  return scaled(parseMemo(String(q)), 0);
}

/** Quantity.MilliValue(): the quantity in thousandths, rounded up (CPU in millicores). Throws QuantityError. */
export function quantityMilliValue(q: string | number): number {
  return scaled(parseMemo(String(q)), 3);
}

/** True when `s` parses as a quantity. */
export function isQuantity(s: string): boolean {
  try {
    parseMemo(s);
    return true;
  } catch (e) {
    if (e instanceof QuantityError) return false;
    throw e;
  }
}
