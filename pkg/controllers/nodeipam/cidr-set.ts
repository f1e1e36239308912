/**
 * The pod CIDR allocator of the node IPAM controller, after Kubernetes'
 * cidrset: the cluster CIDR cut into equal subnets, a used set, and a
 * rotating start point so a freed subnet is not handed out again at once
 * (routes to it may still linger on other nodes). IPv4 only.
 */

/** A malformed or unusable CIDR or mask size. */
export class InvalidCidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCidrError';
  }
}

/** Parses dotted-quad IPv4 to a 32-bit unsigned number. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

/** Formats a 32-bit unsigned number as dotted-quad IPv4. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses 'a.b.c.d/n' to its (masked) base address and prefix length. */
export function parseCidr(s: string): { base: number; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) return undefined;
  const ip = parseIPv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { base: Math.floor(ip / size) * size, prefix };
}

/** Subnets of `maskSize` bits carved out of a cluster CIDR. */
export class CidrSet {
  readonly base: number;
  readonly prefix: number;
  /** Number of subnets. */
  readonly capacity: number;
  private readonly subnetSize: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(
    clusterCidr: string,
    readonly maskSize: number,
  ) {
    const c = parseCidr(clusterCidr);
    if (!c) throw new InvalidCidrError(`invalid cluster CIDR ${JSON.stringify(clusterCidr)} (an IPv4 CIDR such as 10.42.0.0/16 is expected)`);
    if (!Number.isInteger(maskSize) || maskSize < c.prefix || maskSize > 32) {
      throw new InvalidCidrError(`node CIDR mask size ${maskSize} must be between the cluster CIDR's prefix length ${c.prefix} and 32`);
    }
    if (maskSize - c.prefix > 16) throw new InvalidCidrError(`node CIDR mask size ${maskSize} is more than 16 bits longer than the cluster CIDR's ${c.prefix}`);
    this.base = c.base;
    this.prefix = c.prefix;
    this.subnetSize = 2 ** (32 - maskSize);
    this.capacity = 2 ** (maskSize - c.prefix);
  }

  /** Index of a subnet of this set, or undefined if `cidr` is not exactly one. */
  indexOf(cidr: string): number | undefined {
    const c = parseCidr(cidr);
    if (!c || c.prefix !== this.maskSize) return undefined;
    const off = c.base - this.base;
    if (off < 0 || off % this.subnetSize !== 0) return undefined;
    const i = off / this.subnetSize;
    return i < this.capacity ? i : undefined;
  }

  /** The subnet with index `i`. */
  cidrAt(i: number): string {
    return `${formatIPv4(this.base + i * this.subnetSize)}/${this.maskSize}`;
  }

  /** Marks a subnet used (e.g. one found on a node at start); false if it is not one of ours. */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  /** Frees a subnet. */
  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  /** True when the subnet is taken. */
  isUsed(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used.has(i);
  }

  /** Subnets taken. */
  get usedCount(): number {
    return this.used.size;
  }

  /** Takes the next free subnet after the last one handed out; undefined when all are taken. */
  allocate(): string | undefined {
    for (let k = 0; k < this.capacity; k++) {
      const i = (this.next + k) % this.capacity;
      if (!this.used.has(i)) {
        this.used.add(i);
        this.next = (i + 1) % this.capacity;
        return this.cidrAt(i);
      }
    }
    return undefined;
  }
}
