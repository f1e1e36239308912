/**
 * Key ordering and prefix ranges shared by every backend, so that the memory
 * backend sorts and matches exactly like SQLite's BINARY collation (UTF-8
 * byte order, which is Unicode code point order).
 */

/** Compare two keys in code point (= UTF-8 byte) order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// UTF-16 orders surrogates (D800–DFFF) below E000–FFFF, code point order puts
// them (astral characters) above: swap the two bands before comparing.
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** True when `key` lies under `prefix` ('' matches everything). */
export function keyHasPrefix(key: string, prefix: string): boolean {
  return key.startsWith(prefix);
}

/**
 * An exclusive upper bound for keys under `prefix` in a range scan: the
 * prefix followed by the highest code point. (A key continuing with U+10FFFF
 * itself would fall outside; keys are Kubernetes paths, never that.)
 */
export function prefixUpperBound(prefix: string): string {
  return prefix + '\u{10FFFF}';
}
