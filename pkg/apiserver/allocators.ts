// ClusterIP and NodePort allocation with Kubernetes' semantics and messages.
// Pure and synchronous: the apiserver restores the tables from stored
// Services at startup and then allocates/releases under its own write path.
//
// Both allocators work on integer offsets into a range and keep only a Set of
// used offsets, so a /16 costs memory proportional to what is allocated.
// Like Kubernetes (KEP-3070, KEP-3668) the range is split into a small lower
// "static" band, preferred by nobody, and an upper "dynamic" band where
// allocateNext() looks first; explicit requests (clusterIP: 10.43.0.10) are
// therefore unlikely to collide with dynamically assigned ones.

import { isIPv4 } from 'node:net';

/** Base class of every allocator error; `reason` says which kind. */
export class AllocatorError extends Error {
  constructor(
    readonly reason: 'NotInRange' | 'Allocated' | 'Full' | 'InvalidRange',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The requested IP or port lies outside the allocator's range. */
export class NotInRangeError extends AllocatorError {
  constructor(message: string) {
    super('NotInRange', message);
  }
}

/** The requested IP or port is already taken. */
export class AlreadyAllocatedError extends AllocatorError {
  constructor(message: string) {
    super('Allocated', message);
  }
}

/** No free IP or port is left for allocateNext(). */
export class RangeFullError extends AllocatorError {
  constructor(message: string) {
    super('Full', message);
  }
}

/** A CIDR or port-range string does not parse or is unusable. */
export class InvalidRangeError extends AllocatorError {
  constructor(message: string) {
    super('InvalidRange', message);
  }
}

/** Result of restore(): how many entries were taken and which were refused. */
export interface RestoreResult {
  restored: number;
  errors: AllocatorError[];
}

/** Source of randomness in [0, 1); injectable so tests are deterministic. */
export type RandomFn = () => number;

// Kubernetes' calculateRangeOffset: the static band is size/16 clamped to [16, 256].
function staticBandSize(size: number): number {
  const min = 16;
  const max = 256;
  if (size < min) return 0;
  return Math.min(max, Math.max(min, Math.floor(size / 16)));
}

/** Offset bookkeeping shared by both allocators: used set, reserved set, banded search. */
class OffsetTable {
  private readonly used = new Set<number>();
  private readonly band: number;

  constructor(
    readonly size: number,
    private readonly reserved: ReadonlySet<number>,
    private readonly random: RandomFn,
  ) {
    this.band = staticBandSize(size);
  }

  has(offset: number): boolean {
    return this.used.has(offset);
  }

  take(offset: number): void {
    this.used.add(offset);
  }

  free(offset: number): boolean {
    return this.used.delete(offset);
  }

  clear(): void {
    this.used.clear();
  }

  get count(): number {
    return this.used.size;
  }

  /** A free, non-reserved offset, upper band first from a random start; undefined when full. */
  next(): number | undefined {
    return this.scan(this.band, this.size) ?? this.scan(0, this.band);
  }

  // Linear probe from a random point in [lo, hi), wrapping once.
  private scan(lo: number, hi: number): number | undefined {
    const width = hi - lo;
    if (width <= 0) return undefined;
    const start = Math.min(width - 1, Math.floor(this.random() * width));
    for (let i = 0; i < width; i++) {
      const offset = lo + ((start + i) % width);
      if (!this.used.has(offset) && !this.reserved.has(offset)) return offset;
    }
    return undefined;
  }
}

/** A parsed IPv4 CIDR; addresses are unsigned 32-bit integers. */
export interface Ipv4Cidr {
  /** Canonical text, network address masked: "10.43.0.0/16". */
  cidr: string;
  network: number;
  prefix: number;
  /** Number of addresses including network and broadcast. */
  total: number;
}

/** Parses a dotted-quad IPv4 address into an unsigned integer, or undefined. */
export function ipv4ToInt(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

/** Formats an unsigned 32-bit integer as a dotted-quad IPv4 address. */
export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses an IPv4 CIDR ("10.43.0.0/16"); host bits are masked off like Go's net.ParseCIDR. */
export function parseCidr(cidr: string): Ipv4Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const addr = m ? ipv4ToInt(m[1] ?? '') : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new InvalidRangeError(`invalid CIDR "${cidr}": expected an IPv4 CIDR such as 10.43.0.0/16`);
  }
  const total = 2 ** (32 - prefix);
  const network = addr - (addr % total);
  return { cidr: `${intToIpv4(network)}/${prefix}`, network, prefix, total };
}

/** The n-th address of a CIDR counted from its network address: nthAddress("10.43.0.0/16", 10) is "10.43.0.10". */
export function nthAddress(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  if (!Number.isInteger(n) || n < 0 || n >= c.total) {
    throw new InvalidRangeError(`CIDR ${c.cidr} has no address number ${n}`);
  }
  return intToIpv4(c.network + n);
}

/** Options of CidrAllocator. */
export interface CidrAllocatorOptions {
  /**
   * Addresses allocateNext() never hands out; they can still be requested
   * explicitly. Default: the 1st (kubernetes Service) and 10th (cluster DNS)
   * addresses of the range, where they exist.
   */
  reserved?: readonly string[];
  random?: RandomFn;
}

/** ClusterIP allocator over an IPv4 service CIDR; never the network or broadcast address. */
export class CidrAllocator {
  readonly range: Ipv4Cidr;
  private readonly table: OffsetTable;
  // Offset 0 is network+1: the network and broadcast addresses are outside the table.
  private readonly base: number;
  private readonly usable: number;

  constructor(cidr: string, opts: CidrAllocatorOptions = {}) {
    this.range = parseCidr(cidr);
    if (this.range.prefix > 30) {
      throw new InvalidRangeError(`service CIDR ${this.range.cidr} is too small: it needs at least a /30`);
    }
    this.base = this.range.network + 1;
    this.usable = this.range.total - 2;
    const reservedIps = opts.reserved ?? [1, 10].filter((n) => n < this.range.total - 1).map((n) => nthAddress(cidr, n));
    const reserved = new Set<number>();
    for (const ip of reservedIps) {
      const offset = this.offsetOf(ip);
      if (offset !== undefined) reserved.add(offset);
    }
    this.table = new OffsetTable(this.usable, reserved, opts.random ?? Math.random);
  }

  /** Number of assignable addresses (excludes network and broadcast). */
  get size(): number {
    return this.table.size;
  }

  /** Number of addresses currently allocated. */
  get count(): number {
    return this.table.count;
  }

  /** Allocates a free, non-reserved address; throws RangeFullError when none is left. */
  allocateNext(): string {
    const offset = this.table.next();
    if (offset === undefined) throw new RangeFullError('failed to allocate a serviceIP: range is full');
    this.table.take(offset);
    return intToIpv4(this.base + offset);
  }

  /** Allocates a specific address (reserved ones included); throws NotInRangeError or AlreadyAllocatedError. */
  allocate(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset === undefined) {
      throw new NotInRangeError(
        `failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is ${this.range.cidr}`,
      );
    }
    if (this.table.has(offset)) {
      throw new AlreadyAllocatedError(`failed to allocate IP ${ip}: provided IP is already allocated`);
    }
    this.table.take(offset);
  }

  /** Frees an address; returns whether it was allocated. Unknown or out-of-range addresses are a no-op. */
  release(ip: string): boolean {
    const offset = this.offsetOf(ip);
    return offset !== undefined && this.table.free(offset);
  }

  /** Whether the address is currently allocated. */
  isAllocated(ip: string): boolean {
    const offset = this.offsetOf(ip);
    return offset !== undefined && this.table.has(offset);
  }

  /** Whether the address is assignable in this range (not network, broadcast or outside). */
  contains(ip: string): boolean {
    return this.offsetOf(ip) !== undefined;
  }

  /** Rebuilds the table from the ClusterIPs of stored Services; bad or duplicate entries are reported, not thrown. */
  restore(ips: Iterable<string>): RestoreResult {
    this.table.clear();
    return restoreInto(ips, (ip) => this.allocate(ip));
  }

  private offsetOf(ip: string): number | undefined {
    const n = ipv4ToInt(ip);
    if (n === undefined) return undefined;
    const offset = n - this.base;
    return offset >= 0 && offset < this.usable ? offset : undefined;
  }
}

/** An inclusive port range such as 30000-32767. */
export interface PortRange {
  min: number;
  max: number;
}

/** Parses a --service-node-port-range value: "30000-32767", "30000+2767" (base+extra) or a single port. */
export function parsePortRange(value: string): PortRange {
  const s = value.trim();
  const bad = (why: string): InvalidRangeError =>
    new InvalidRangeError(`invalid port range "${value}": ${why}`);
  let min: number;
  let max: number;
  let m: RegExpExecArray | null;
  if ((m = /^(\d+)-(\d+)$/.exec(s))) {
    min = Number(m[1]);
    max = Number(m[2]);
  } else if ((m = /^(\d+)\+(\d+)$/.exec(s))) {
    min = Number(m[1]);
    max = min + Number(m[2]);
  } else if (/^\d+$/.test(s)) {
    min = max = Number(s);
  } else {
    throw bad('expected <min>-<max>, e.g. 30000-32767');
  }
  if (min < 1 || max > 65535) throw bad('ports must be between 1 and 65535');
  if (min > max) throw bad(`the first port ${min} is greater than the last ${max}`);
  return { min, max };
}

/** Options of PortAllocator. */
export interface PortAllocatorOptions {
  random?: RandomFn;
}

/** NodePort allocator over an inclusive port range (default 30000-32767 in Kubernetes). */
export class PortAllocator {
  readonly range: PortRange;
  private readonly table: OffsetTable;

  constructor(range: string | PortRange, opts: PortAllocatorOptions = {}) {
    // Objects go through the same validation as strings.
    this.range = parsePortRange(typeof range === 'string' ? range : `${range.min}-${range.max}`);
    this.table = new OffsetTable(this.range.max - this.range.min + 1, new Set(), opts.random ?? Math.random);
  }

  /** Number of ports in the range. */
  get size(): number {
    return this.table.size;
  }

  /** Number of ports currently allocated. */
  get count(): number {
    return this.table.count;
  }

  /** Allocates a free port; throws RangeFullError when none is left. */
  allocateNext(): number {
    const offset = this.table.next();
    if (offset === undefined) throw new RangeFullError('failed to allocate a nodePort: range is full');
    this.table.take(offset);
    return this.range.min + offset;
  }

  /** Allocates a specific port; throws NotInRangeError or AlreadyAllocatedError with Kubernetes' messages. */
  allocate(port: number): void {
    const offset = this.offsetOf(port);
    if (offset === undefined) {
      throw new NotInRangeError(
        `provided port is not in the valid range. The range of valid ports is ${this.range.min}-${this.range.max}`,
      );
    }
    if (this.table.has(offset)) throw new AlreadyAllocatedError('provided port is already allocated');
    this.table.take(offset);
  }

  /** Frees a port; returns whether it was allocated. */
  release(port: number): boolean {
    const offset = this.offsetOf(port);
    return offset !== undefined && this.table.free(offset);
  }

  /** Whether the port is currently allocated. */
  isAllocated(port: number): boolean {
    const offset = this.offsetOf(port);
    return offset !== undefined && this.table.has(offset);
  }

  /** Whether the port lies within the range. */
  contains(port: number): boolean {
    return this.offsetOf(port) !== undefined;
  }

  /** Rebuilds the table from the NodePorts of stored Services; bad or duplicate entries are reported, not thrown. */
  restore(ports: Iterable<number>): RestoreResult {
    this.table.clear();
    return restoreInto(ports, (p) => this.allocate(p));
  }

  private offsetOf(port: number): number | undefined {
    if (!Number.isInteger(port) || port < this.range.min || port > this.range.max) return undefined;
    return port - this.range.min;
  }
}

function restoreInto<T>(items: Iterable<T>, allocate: (item: T) => void): RestoreResult {
  const result: RestoreResult = { restored: 0, errors: [] };
  for (const item of items) {
    try {
      allocate(item);
      result.restored++;
    } catch (err) {
      if (!(err instanceof AllocatorError)) throw err;
      result.errors.push(err);
    }
  }
  return result;
}
