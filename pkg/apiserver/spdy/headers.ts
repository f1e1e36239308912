/**
 * SPDY/3 name/value header blocks and their compression: each direction of a
 * connection has ONE zlib stream, primed with the SPDY/3 dictionary, and every
 * header block is one Z_SYNC_FLUSH-terminated piece of it. Later blocks refer
 * back to earlier ones, so blocks must be (de)compressed in wire order — the
 * codecs below queue their work to guarantee that.
 */
import { createDeflate, createInflate, constants as zc, type Deflate, type Inflate } from 'node:zlib';
import { SpdyProtocolError } from './frames.js';

/** Header names (lower case) to their values; SPDY joins several values of one name with NUL. */
export type SpdyHeaders = Map<string, string[]>;

const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary (spec §2.6.10.1): length-prefixed words, then a literal tail. */
export const SPDY3_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return Buffer.concat([len, Buffer.from(w, 'latin1')]);
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** Builds SpdyHeaders from a plain record (names are lower-cased, as SPDY requires). */
export function spdyHeaders(record: Record<string, string | string[]> = {}): SpdyHeaders {
  const h: SpdyHeaders = new Map();
  for (const [k, v] of Object.entries(record)) h.set(k.toLowerCase(), Array.isArray(v) ? [...v] : [v]);
  return h;
}

/** The first value of a header, looked up case-insensitively; undefined when absent. */
export function headerValue(h: SpdyHeaders, name: string): string | undefined {
  return h.get(name.toLowerCase())?.[0];
}

/** The uncompressed name/value block: count, then (length, name, length, NUL-joined values) per header. */
export function encodeHeaderBlock(h: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(h.size));
  for (const [name, values] of h) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    if (n.length === 0) throw new RangeError('SPDY header names must not be empty');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed block; throws SpdyProtocolError when it is malformed. */
export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const h: SpdyHeaders = new Map();
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new SpdyProtocolError('truncated header block');
    const n = b.readUInt32BE(off);
    off += 4;
    return n;
  };
  const bytes = (n: number): string => {
    if (off + n > b.length) throw new SpdyProtocolError('truncated header block');
    const s = b.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32());
    if (name === '') throw new SpdyProtocolError('empty header name');
    if (name !== name.toLowerCase()) throw new SpdyProtocolError(`header name ${JSON.stringify(name)} is not lower case`);
    if (h.has(name)) throw new SpdyProtocolError(`duplicate header ${JSON.stringify(name)}`);
    h.set(name, bytes(u32()).split('\0'));
  }
  if (off !== b.length) throw new SpdyProtocolError(`${b.length - off} stray bytes after the header block`);
  return h;
}

/** Runs one zlib stream chunk by chunk, each write ending in Z_SYNC_FLUSH, strictly in call order. */
class SyncFlushStream {
  private tail: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private failed?: Error;
  private current?: (e: Error) => void;

  constructor(private readonly z: Deflate | Inflate) {
    // Drain continuously so a large block never stalls on the readable buffer.
    z.on('readable', () => this.drain());
    // A zlib error destroys the stream without calling the pending write back: fail the current call here.
    z.on('error', (e: Error) => {
      this.failed = e;
      this.current?.(e);
    });
  }

  private drain(): void {
    let c: unknown;
    while ((c = this.z.read()) !== null) if (Buffer.isBuffer(c)) this.out.push(c);
  }

  /** The output for exactly this input (everything zlib emits up to the sync flush). */
  process(input: Buffer): Promise<Buffer> {
    const run = () =>
      new Promise<Buffer>((resolve, reject) => {
        if (this.failed) {
          reject(this.failed);
          return;
        }
        this.out = [];
        this.current = reject;
        this.z.write(input, (err) => {
          this.current = undefined;
          if (err || this.failed) {
            reject(err ?? this.failed);
            return;
          }
          // zlib pushes output before calling back, so what is buffered now is all of it.
          this.drain();
          const result = Buffer.concat(this.out);
          this.out = [];
          resolve(result);
        });
      });
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.destroy();
  }
}

/** Compresses header blocks for one direction of a connection. */
export class HeaderCompressor {
  private readonly s = new SyncFlushStream(createDeflate({ dictionary: SPDY3_DICTIONARY, flush: zc.Z_SYNC_FLUSH }));

  /** The compressed block for h; calls resolve in call order and share one zlib context. */
  compress(h: SpdyHeaders): Promise<Buffer> {
    return this.s.process(encodeHeaderBlock(h));
  }

  close(): void {
    this.s.close();
  }
}

/** Decompresses the peer's header blocks; feed them in the order they came off the wire. */
export class HeaderDecompressor {
  private readonly s = new SyncFlushStream(createInflate({ dictionary: SPDY3_DICTIONARY, flush: zc.Z_SYNC_FLUSH }));

  /** The headers in one compressed block; rejects with SpdyProtocolError when it does not inflate or parse. */
  async decompress(block: Buffer): Promise<SpdyHeaders> {
    if (block.length === 0) return new Map();
    let raw: Buffer;
    try {
      raw = await this.s.process(block);
    } catch (e) {
      throw new SpdyProtocolError(`header block does not decompress: ${e instanceof Error ? e.message : String(e)}`);
    }
    return decodeHeaderBlock(raw);
  }

  close(): void {
    this.s.close();
  }
}
