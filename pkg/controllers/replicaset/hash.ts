/**
 * Template hashes for pod-template-hash (Deployment) and
 * controller-revision-hash (DaemonSet), after controller.ComputeHash:
 * FNV-32a of the template, then the collision count as 8 little-endian
 * bytes, printed in decimal and mapped through rand.SafeEncodeString.
 *
 * Difference from Kubernetes: Go hashes go-spew's `%#v` dump of the typed
 * struct, which cannot be reproduced from JSON; we hash the canonical JSON
 * (keys sorted, empty values dropped) instead. Values therefore differ from
 * a real cluster's for the same template, but have the same shape (up to
 * 10 characters from the same alphabet), are stable, and change exactly when
 * the template does.
 */

/** FNV-1a, 32 bits, over bytes. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: maps each character onto an alphabet without vowels or ambiguous digits. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[(ch.codePointAt(0) ?? 0) % ALPHANUMS.length];
  return out;
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

/**
 * JSON with sorted keys and null/empty maps and lists dropped, so that
 * semantically equal templates (nil vs empty, key order) serialise alike.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(normalise(v)) ?? 'null';
}

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    const entries: [string, unknown][] = Object.entries(v);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [k, child] of entries) {
      const n = normalise(child);
      if (!isEmpty(n)) out[k] = n;
    }
    return out;
  }
  return v;
}

/** The hash of a pod template with an optional collision count (controller.ComputeHash). */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  const enc = new TextEncoder();
  let h = fnv32a(enc.encode(canonicalJson(template)));
  if (collisionCount !== undefined && collisionCount !== null) {
    const extra = new Uint8Array(8);
    new DataView(extra.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(extra, h);
  }
  return safeEncodeString(String(h));
}
