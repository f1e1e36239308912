/**
 * Protobuf wire format reading: varints, length-delimited slices, fixed
 * 32/64-bit values. Every read checks bounds, so truncated input is an error
 * rather than garbage.
 */

/** Malformed protobuf input; the API server answers it with 400 BadRequest. */
export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** A varint's two unsigned 32-bit halves as a signed 64-bit Number (exact up to 2^53). */
export function int64Of([lo, hi]: readonly [number, number]): number {
  if (hi & 0x80000000) return -((~hi >>> 0) * 0x100000000 + (~lo >>> 0) + 1);
  return hi * 0x100000000 + lo;
}

/** A cursor over one message's bytes. */
export class Reader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * A varint as its low and high 32 bits (unsigned). Negative int32/int64
   * arrive as 10-byte two's complement, so the high half matters.
   */
  varint64(): [lo: number, hi: number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated protobuf data: varint runs past the end');
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    throw new ProtobufError('malformed protobuf data: varint longer than 10 bytes');
  }

  /** A varint that must fit in 32 bits unsigned (tags, lengths). */
  uint32(): number {
    const [lo, hi] = this.varint64();
    if (hi !== 0) throw new ProtobufError('malformed protobuf data: length or tag out of range');
    return lo;
  }

  int32(): number {
    return this.varint64()[0] | 0;
  }

  /** int64 as a Number: exact up to 2^53, which covers every field we decode. */
  int64(): number {
    return int64Of(this.varint64());
  }

  bool(): boolean {
    const [lo, hi] = this.varint64();
    return lo !== 0 || hi !== 0;
  }

  /** The extent of a length-delimited field: [start, end) in buf. */
  lenDelimited(): [number, number] {
    const n = this.uint32();
    const start = this.pos;
    if (n > this.end - start) throw new ProtobufError(`truncated protobuf data: field of ${n} bytes, ${this.end - start} left`);
    this.pos = start + n;
    return [start, start + n];
  }

  bytes(): Uint8Array {
    const [s, e] = this.lenDelimited();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  private take(n: number): DataView {
    if (this.end - this.pos < n) throw new ProtobufError(`truncated protobuf data: ${n}-byte fixed value past the end`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return v;
  }

  double(): number {
    return this.take(8).getFloat64(0, true);
  }

  float(): number {
    return this.take(4).getFloat32(0, true);
  }

  /** Skips a field of an unknown number. */
  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint64();
    else if (wireType === WIRE_FIXED64) this.take(8);
    else if (wireType === WIRE_LEN) this.lenDelimited();
    else if (wireType === WIRE_FIXED32) this.take(4);
    else throw new ProtobufError(`malformed protobuf data: unsupported wire type ${wireType}`);
  }

  /** The next field's number and wire type. */
  tag(): [field: number, wireType: number] {
    const t = this.uint32();
    const field = t >>> 3;
    if (field === 0) throw new ProtobufError('malformed protobuf data: field number 0');
    return [field, t & 7];
  }
}
