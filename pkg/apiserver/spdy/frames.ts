/**
 * SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 plus the 3.1 session
 * window): encoding and incremental decoding of frames. Header blocks stay
 * compressed bytes here; headers.ts (de)compresses them, because the zlib
 * context is shared by every header block of a connection and direction.
 *
 * Control frame: C=1 | version(15) | type(16) | flags(8) | length(24) | payload
 * Data frame:    C=0 | stream id(31)           | flags(8) | length(24) | payload
 */

export const SPDY_VERSION = 3;
/** The largest payload a frame's 24-bit length can carry. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** The window every stream (and, in 3.1, the session) starts with unless SETTINGS says otherwise. */
export const DEFAULT_WINDOW = 64 * 1024;
/** The largest window a WINDOW_UPDATE may produce. */
export const MAX_WINDOW = 0x7fffffff;

export const FRAME_TYPE = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_CLEAR_SETTINGS = 0x01;

/** RST_STREAM status codes. */
export const RST_STATUS = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

/** GOAWAY status codes. */
export const GOAWAY_STATUS = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

/** SETTINGS ids. */
export const SETTING = {
  UPLOAD_BANDWIDTH: 1,
  DOWNLOAD_BANDWIDTH: 2,
  ROUND_TRIP_TIME: 3,
  MAX_CONCURRENT_STREAMS: 4,
  CURRENT_CWND: 5,
  DOWNLOAD_RETRANS_RATE: 6,
  INITIAL_WINDOW_SIZE: 7,
  CLIENT_CERTIFICATE_VECTOR_SIZE: 8,
} as const;

export interface SettingEntry {
  id: number;
  flags: number;
  value: number;
}

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedTo: number;
      /** 0 (highest) to 7. */
      priority: number;
      slot: number;
      fin: boolean;
      unidirectional: boolean;
      /** Compressed name/value block. */
      headerBlock: Buffer;
    }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: SettingEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame type this module does not know (CREDENTIAL, NOOP…): the spec says ignore it. */
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** A connection-level violation: the peer is sent GOAWAY with PROTOCOL_ERROR. */
export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

const ID_MASK = 0x7fffffff;

function controlHeader(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY frame payload of ${length} bytes is too large`);
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  b.writeUInt32BE(((flags << 24) | length) >>> 0, 4);
  return b;
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([controlHeader(type, flags, payload.length), payload]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

function checkId(id: number, what: string, allowZero: boolean): void {
  if (!Number.isInteger(id) || id < (allowZero ? 0 : 1) || id > ID_MASK) throw new RangeError(`invalid ${what} ${id}`);
}

/** The wire bytes of one frame. */
export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case 'data': {
      checkId(f.streamId, 'stream id', false);
      if (f.data.length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY frame payload of ${f.data.length} bytes is too large`);
      const h = Buffer.allocUnsafe(8);
      h.writeUInt32BE(f.streamId & ID_MASK, 0);
      h.writeUInt32BE((((f.fin ? FLAG_FIN : 0) << 24) | f.data.length) >>> 0, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'syn_stream': {
      checkId(f.streamId, 'stream id', false);
      checkId(f.associatedTo, 'associated stream id', true);
      const fixed = Buffer.allocUnsafe(10);
      fixed.writeUInt32BE(f.streamId & ID_MASK, 0);
      fixed.writeUInt32BE(f.associatedTo & ID_MASK, 4);
      fixed[8] = (f.priority & 0x7) << 5;
      fixed[9] = f.slot & 0xff;
      const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return control(FRAME_TYPE.SYN_STREAM, flags, Buffer.concat([fixed, f.headerBlock]));
    }
    case 'syn_reply':
    case 'headers':
      checkId(f.streamId, 'stream id', false);
      return control(f.type === 'syn_reply' ? FRAME_TYPE.SYN_REPLY : FRAME_TYPE.HEADERS, f.fin ? FLAG_FIN : 0, Buffer.concat([u32s(f.streamId & ID_MASK), f.headerBlock]));
    case 'rst_stream':
      checkId(f.streamId, 'stream id', false);
      return control(FRAME_TYPE.RST_STREAM, 0, u32s(f.streamId & ID_MASK, f.status));
    case 'settings': {
      const body = Buffer.allocUnsafe(4 + 8 * f.entries.length);
      body.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        body.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + 8 * i);
        body.writeUInt32BE(e.value >>> 0, 8 + 8 * i);
      });
      return control(FRAME_TYPE.SETTINGS, f.clear ? FLAG_CLEAR_SETTINGS : 0, body);
    }
    case 'ping':
      return control(FRAME_TYPE.PING, 0, u32s(f.id));
    case 'goaway':
      checkId(f.lastGoodStreamId, 'last good stream id', true);
      return control(FRAME_TYPE.GOAWAY, 0, u32s(f.lastGoodStreamId & ID_MASK, f.status));
    case 'window_update':
      checkId(f.streamId, 'stream id', true);
      if (!Number.isInteger(f.delta) || f.delta < 1 || f.delta > MAX_WINDOW) throw new RangeError(`invalid window delta ${f.delta}`);
      return control(FRAME_TYPE.WINDOW_UPDATE, 0, u32s(f.streamId & ID_MASK, f.delta));
    case 'unknown':
      return control(f.frameType, f.flags, f.payload);
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`${what} frame of ${payload.length} bytes is too short`);
}

function exact(payload: Buffer, n: number, what: string): void {
  if (payload.length !== n) throw new SpdyProtocolError(`${what} frame must carry ${n} bytes, got ${payload.length}`);
}

function decodeControl(type: number, flags: number, p: Buffer): Frame {
  const fin = (flags & FLAG_FIN) !== 0;
  switch (type) {
    case FRAME_TYPE.SYN_STREAM:
      need(p, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & ID_MASK,
        associatedTo: p.readUInt32BE(4) & ID_MASK,
        priority: p[8] >> 5,
        slot: p[9],
        fin,
        unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
        headerBlock: p.subarray(10),
      };
    case FRAME_TYPE.SYN_REPLY:
    case FRAME_TYPE.HEADERS:
      need(p, 4, type === FRAME_TYPE.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS');
      return { type: type === FRAME_TYPE.SYN_REPLY ? 'syn_reply' : 'headers', streamId: p.readUInt32BE(0) & ID_MASK, fin, headerBlock: p.subarray(4) };
    case FRAME_TYPE.RST_STREAM:
      exact(p, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & ID_MASK, status: p.readUInt32BE(4) };
    case FRAME_TYPE.SETTINGS: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      if (p.length !== 4 + 8 * n) throw new SpdyProtocolError(`SETTINGS frame announces ${n} entries in ${p.length} bytes`);
      const entries: SettingEntry[] = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + 8 * i);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + 8 * i) });
      }
      return { type: 'settings', clear: (flags & FLAG_CLEAR_SETTINGS) !== 0, entries };
    }
    case FRAME_TYPE.PING:
      exact(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FRAME_TYPE.GOAWAY:
      // SPDY/2 had no status; accept its 4-byte form too.
      if (p.length !== 8 && p.length !== 4) throw new SpdyProtocolError(`GOAWAY frame must carry 8 bytes, got ${p.length}`);
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & ID_MASK, status: p.length === 8 ? p.readUInt32BE(4) : 0 };
    case FRAME_TYPE.WINDOW_UPDATE:
      exact(p, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: p.readUInt32BE(0) & ID_MASK, delta: p.readUInt32BE(4) & ID_MASK };
    default:
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

/**
 * Incremental decoder: feed it the bytes as they come (a frame may be split
 * across chunks, a chunk may hold several frames); it returns whole frames.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Appends chunk; returns every frame now complete. Throws SpdyProtocolError on malformed input. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 8) {
      const w0 = this.buf.readUInt32BE(off);
      const w1 = this.buf.readUInt32BE(off + 4);
      const length = w1 & 0xffffff;
      const flags = w1 >>> 24;
      if (length > this.maxPayload) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit of ${this.maxPayload}`);
      if (this.buf.length - off < 8 + length) break;
      // Copy: the payload outlives this buffer (queued data, header blocks awaiting inflation).
      const payload = Buffer.from(this.buf.subarray(off + 8, off + 8 + length));
      off += 8 + length;
      if (w0 & 0x80000000) {
        const version = (w0 >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        out.push(decodeControl(w0 & 0xffff, flags, payload));
      } else {
        out.push({ type: 'data', streamId: w0 & ID_MASK, fin: (flags & FLAG_FIN) !== 0, data: payload });
      }
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}
