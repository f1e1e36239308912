/**
 * Stream plumbing for the Docker runtime: Docker multiplexes stdout and
 * stderr of a container without a tty on one connection (8-byte frame
 * headers: stream type, 3 zero bytes, big-endian length), and reports
 * progress of pulls/loads/events as JSON lines.
 */

import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';

/**
 * Parses Docker's multiplexed frames; calls `emit(stream, payload)` with
 * stream 1 (stdout) or 2 (stderr) for each complete frame.
 */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly emit: (stream: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) return;
      const type = this.buf[0] ?? 1;
      const payload = this.buf.subarray(8, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.emit(type === 2 ? 2 : 1, payload);
    }
  }
}

/** One Readable of a multiplexed stream's payloads, stdout and stderr interleaved as written. */
export function demuxInterleaved(src: Readable, limitBytes?: number): Readable {
  let left = limitBytes ?? Infinity;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      parser.push(chunk);
      cb();
    },
  });
  const parser = new FrameParser((_s, payload) => {
    if (left <= 0) return;
    const part = payload.length > left ? payload.subarray(0, left) : payload;
    left -= part.length;
    out.push(part);
    if (left <= 0) {
      out.end();
      src.destroy();
    }
  });
  pipeInto(src, out);
  return out;
}

/** A raw (tty) stream, cut after limitBytes. */
export function limitRaw(src: Readable, limitBytes?: number): Readable {
  let left = limitBytes ?? Infinity;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (left > 0) {
        const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= part.length;
        this.push(part);
        if (left <= 0) {
          this.end();
          src.destroy();
        }
      }
      cb();
    },
  });
  pipeInto(src, out);
  return out;
}

/** Splits a multiplexed stream into separate stdout and stderr Readables. */
export function demuxSplit(src: Readable): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const parser = new FrameParser((s, payload) => (s === 2 ? stderr : stdout).write(payload));
  src.on('data', (c: Buffer) => parser.push(c));
  const finish = () => {
    stdout.end();
    stderr.end();
  };
  src.on('end', finish);
  src.on('close', finish);
  src.on('error', finish);
  return { stdout, stderr };
}

/** Pipes src into out, ending out (without an error) when src ends, closes or fails. */
function pipeInto(src: Readable, out: Transform): void {
  src.on('data', (c: Buffer) => {
    if (!out.writableEnded) out.write(c);
  });
  const finish = () => {
    if (!out.writableEnded) out.end();
  };
  src.on('end', finish);
  src.on('close', finish);
  src.on('error', finish);
  // The reader went away (e.g. kubectl logs -f interrupted): stop Docker's stream.
  out.on('close', () => src.destroy());
}

/** Calls onLine with each parsed JSON object of a JSON-lines stream. */
export function onJsonLines(src: Readable, onLine: (obj: unknown) => void): void {
  let buf = '';
  src.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) {
        try {
          onLine(JSON.parse(line));
        } catch {
          // Not JSON (should not happen with Docker): skip the line.
        }
      }
    }
  });
}

/** Reads a JSON-lines progress stream to its end; rejects on the first `{error}` line or after idleMs of silence. */
export function followProgress(src: Readable, idleMs: number, onLine?: (obj: Record<string, unknown>) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (err) {
        src.destroy();
        reject(err);
      } else resolve();
    };
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`no progress from the Docker daemon for ${idleMs} ms`)), idleMs);
    };
    arm();
    src.on('data', arm);
    onJsonLines(src, (obj) => {
      if (!isRecord(obj)) return;
      const e = obj['error'] ?? (isRecord(obj['errorDetail']) ? obj['errorDetail']['message'] : undefined);
      if (typeof e === 'string') finish(new Error(e));
      else onLine?.(obj);
    });
    src.on('end', () => finish());
    src.on('close', () => finish());
    src.on('error', (err: Error) => finish(err));
  });
}

/** Whether v is a plain object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
