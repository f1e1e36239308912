/** DNS test helpers: queries over UDP and TCP with dns-packet, and a stub upstream resolver. */
import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet, RecordType } from 'dns-packet';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';

let nextId = 1000;

/** A query packet with a fresh id. */
export function query(name: string, type: RecordType = 'A', extra: Partial<Packet> = {}): Packet {
  nextId = (nextId + 7919) & 0xffff;
  return { id: nextId, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra };
}

/** Sends raw bytes over UDP; resolves with the raw answer, or undefined after `timeoutMs`. */
export function udpRaw(port: number, msg: Buffer, timeoutMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** One query over UDP, decoded. */
export async function udpQuery(port: number, p: Packet): Promise<{ res: DecodedPacket; size: number }> {
  const raw = await udpRaw(port, dnsPacket.encode(p));
  if (!raw) throw new Error(`no UDP answer for ${p.questions?.[0]?.name}`);
  return { res: dnsPacket.decode(raw), size: raw.length };
}

/** Several framed messages on one TCP connection (written at once); resolves with the answers in arrival order. */
export function tcpRaw(port: number, msgs: Buffer[], expect = msgs.length, timeoutMs = 5000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const out: Buffer[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`tcp: ${out.length}/${expect} answers before timeout`));
    }, timeoutMs);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => {
      sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
      if (expect === 0) {
        clearTimeout(timer);
        sock.end();
        resolve(out);
      }
    });
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        out.push(Buffer.from(buf.subarray(2, 2 + n)));
        buf = buf.subarray(2 + n);
      }
      if (out.length >= expect) {
        clearTimeout(timer);
        sock.end();
        resolve(out);
      }
    });
  });
}

/** Queries over one TCP connection, decoded and ordered as asked (matched by id). */
export async function tcpQuery(port: number, ps: Packet[]): Promise<DecodedPacket[]> {
  const raws = await tcpRaw(port, ps.map((p) => dnsPacket.encode(p)));
  const byId = new Map(raws.map((r) => dnsPacket.decode(r)).map((d) => [d.id, d]));
  return ps.map((p) => {
    const d = byId.get(p.id);
    if (!d) throw new Error(`tcp: no answer with id ${p.id}`);
    return d;
  });
}

export const rcodeOf = (p: DecodedPacket): number => (p.flags ?? 0) & 0xf;

/**
 * A stub upstream on 127.0.0.1 (UDP and TCP, same port): A 192.0.2.1 for any
 * name; names starting with "big." get 60 A records, truncated (TC, no
 * answers) over UDP and in full over TCP.
 */
export interface StubUpstream {
  port: number;
  /** Questions seen, as "udp:name" / "tcp:name". */
  seen: string[];
  close(): Promise<void>;
}

function stubAnswer(msg: Buffer, tcp: boolean): Buffer {
  const q = dnsPacket.decode(msg);
  const question = q.questions![0]!;
  const big = question.name.toLowerCase().startsWith('big.');
  const answers =
    question.type !== 'A'
      ? []
      : big
        ? Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, name: question.name, ttl: 30, data: `198.51.100.${i + 1}` }))
        : [{ type: 'A' as const, name: question.name, ttl: 30, data: '192.0.2.1' }];
  const truncate = big && !tcp;
  return dnsPacket.encode({
    id: q.id,
    type: 'response',
    flags: dnsPacket.RECURSION_AVAILABLE | (truncate ? dnsPacket.TRUNCATED_RESPONSE : 0),
    questions: q.questions,
    answers: truncate ? [] : answers,
  });
}

/** Starts the stub upstream. */
export async function startStubUpstream(): Promise<StubUpstream> {
  const seen: string[] = [];
  const udp: UdpSocket = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const port = udp.address().port;
  udp.on('message', (m, rinfo) => {
    seen.push(`udp:${dnsPacket.decode(m).questions?.[0]?.name}`);
    udp.send(stubAnswer(m, false), rinfo.port, rinfo.address);
  });
  const conns = new Set<Socket>();
  const tcp: Server = createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    let buf: Buffer = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        seen.push(`tcp:${dnsPacket.decode(m).questions?.[0]?.name}`);
        const a = stubAnswer(m, true);
        s.write(Buffer.concat([Buffer.from([a.length >> 8, a.length & 0xff]), a]));
      }
    });
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  let closed = false;
  return {
    port,
    seen,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}

/** A UDP port that was free a moment ago (nothing listens: queries to it are refused). */
export async function deadPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A UDP socket that reads queries and never answers (an upstream that times out). */
export async function silentUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.on('message', () => undefined);
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** Polls an async condition until it holds. */
export async function eventually(cond: () => Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
