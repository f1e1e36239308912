/**
 * Forwarding to the node's resolvers: the client's query bytes go out with an
 * id of our own on a fresh connected UDP socket (a random source port per
 * query, and ICMP "port unreachable" fails over at once instead of waiting
 * for the timeout), over TCP when the client used TCP or the UDP answer came
 * back truncated; upstreams are tried in order until one answers.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';

export interface Upstream {
  address: string;
  port: number;
}

export interface ForwardOptions {
  upstreams: Upstream[];
  /** Per-upstream, per-attempt timeout (default 2000 ms). */
  timeoutMs?: number;
}

/** The question section's bytes of a message (from offset 12 to the end of the first question). */
function questionBytes(msg: Buffer): Buffer | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  let off = 12;
  while (off < msg.length) {
    const len = msg[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    if ((len & 0xc0) !== 0) return undefined; // a query's question never uses compression
    off += len + 1;
  }
  off += 4;
  return off <= msg.length ? msg.subarray(12, off) : undefined;
}

/** Whether `answer` answers `query`: same id and, ignoring case, the same question. */
function matches(query: Buffer, answer: Buffer): boolean {
  if (answer.length < 12 || answer.readUInt16BE(0) !== query.readUInt16BE(0)) return false;
  if ((answer[2]! & 0x80) === 0) return false;
  const q = questionBytes(query);
  const a = answer.readUInt16BE(4) === 1 ? answer.subarray(12, 12 + (q?.length ?? 0)) : undefined;
  return q !== undefined && a !== undefined && a.length === q.length && a.toString('latin1').toLowerCase() === q.toString('latin1').toLowerCase();
}

type Finish = (err: Error | undefined, msg?: Buffer) => void;

/**
 * One query/answer exchange: settles once — on the answer, an error, the
 * timeout or the abort — and then closes what `open` opened (open returns
 * how to close it).
 */
function exchange(timeoutMessage: string, timeoutMs: number, signal: AbortSignal, open: (finish: Finish) => () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    let close = (): void => {};
    const finish: Finish = (err, msg) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      close();
      if (err) reject(err);
      else if (msg) resolve(msg);
    };
    const onAbort = (): void => finish(new Error('aborted'));
    const timer = setTimeout(() => finish(new Error(timeoutMessage)), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    close = open(finish);
  });
}

function udpExchange(up: Upstream, query: Buffer, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return exchange(`timeout from ${up.address}:${up.port}`, timeoutMs, signal, (finish) => {
    const sock = createSocket(isIPv6(up.address) ? 'udp6' : 'udp4');
    sock.on('error', (e) => finish(e));
    // Anything that is not the answer (a spoof, a stray) is ignored while we wait.
    sock.on('message', (msg) => {
      if (matches(query, msg)) finish(undefined, msg);
    });
    sock.connect(up.port, up.address, () => {
      sock.send(query, (e) => {
        if (e) finish(e);
      });
    });
    return () => sock.close();
  });
}

function tcpExchange(up: Upstream, query: Buffer, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
  return exchange(`tcp timeout from ${up.address}:${up.port}`, timeoutMs, signal, (finish) => {
    const sock = connect({ host: up.address, port: up.port });
    let buf: Buffer = Buffer.alloc(0);
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`tcp connection to ${up.address}:${up.port} closed early`)));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) return;
        const msg = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        if (matches(query, msg)) return finish(undefined, Buffer.from(msg));
      }
    });
    return () => sock.destroy();
  });
}

export interface ForwardResult {
  /** The fullest answer got (over TCP after a truncated UDP one). */
  answer: Buffer;
  /** The truncated UDP answer, when a TCP retry replaced it: what a UDP client gets if the full one is too big for it. */
  udpAnswer?: Buffer;
}

/** Sends queries to the upstreams in order. */
export class Forwarder {
  private readonly upstreams: Upstream[];
  private readonly timeoutMs: number;
  private readonly abort = new AbortController();
  /** Failed exchanges (timeouts, refusals), for stats. */
  errors = 0;

  constructor(opts: ForwardOptions) {
    this.upstreams = opts.upstreams;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Aborts every exchange in flight. */
  close(): void {
    this.abort.abort();
  }

  /**
   * Forwards one query (its bytes as the client sent them) and returns the
   * answer with the client's id restored, or undefined when every upstream failed.
   */
  async forward(clientQuery: Buffer, tcp: boolean): Promise<ForwardResult | undefined> {
    const clientId = clientQuery.readUInt16BE(0);
    const query = Buffer.from(clientQuery);
    query.writeUInt16BE(randomInt(0, 0x10000), 0);
    for (const up of this.upstreams) {
      if (this.abort.signal.aborted) return undefined;
      try {
        const withId = (b: Buffer): Buffer => {
          const out = Buffer.from(b);
          out.writeUInt16BE(clientId, 0);
          return out;
        };
        if (tcp) return { answer: withId(await tcpExchange(up, query, this.timeoutMs, this.abort.signal)) };
        const answer = await udpExchange(up, query, this.timeoutMs, this.abort.signal);
        if ((answer[2]! & 0x02) === 0) return { answer: withId(answer) };
        try {
          return { answer: withId(await tcpExchange(up, query, this.timeoutMs, this.abort.signal)), udpAnswer: withId(answer) };
        } catch {
          // Keep the truncated answer: the client will retry over TCP itself.
          return { answer: withId(answer) };
        }
      } catch {
        this.errors++;
      }
    }
    return undefined;
  }
}
