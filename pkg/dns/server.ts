/**
 * The agent's DNS server: UDP and TCP (2-byte length framing, several
 * queries per connection) on each listen address; cluster names answered
 * authoritatively from the informer caches (zone.ts), everything else
 * forwarded to the node's resolvers (forward.ts). Wire format by dns-packet.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';
import type { Informer } from '../client/informer.js';
import { ClusterZone, type ZoneResult } from './zone.js';
import { Forwarder, type Upstream } from './forward.js';

export interface ListenAddress {
  address: string;
  port: number;
}

export interface DnsServerOptions {
  /** UDP and TCP on each; port 0 picks a free port, the same for both. */
  listen: ListenAddress[];
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  /** Default 'cluster.local'. */
  clusterDomain?: string;
  /** The node's resolvers (see upstreamsFromResolvConf), tried in order. */
  upstreams: Upstream[];
  log?: (msg: string) => void;
  /** TTL of cluster answers and of their negative answers (default 5). */
  ttlSeconds?: number;
  /** Per upstream attempt (default 2000 ms). */
  forwardTimeoutMs?: number;
  /** Forwarded queries in flight beyond which new ones are REFUSED (default 1000, as CoreDNS's max_concurrent). */
  maxConcurrentForwards?: number;
  /** Idle TCP connections are closed after this (default 10 s). */
  tcpIdleTimeoutMs?: number;
}

export interface DnsStats {
  queries: number;
  /** Answered from the cluster zone. */
  cluster: number;
  forwarded: number;
  nxdomain: number;
  servfail: number;
  formerr: number;
  refused: number;
  /** UDP answers sent with TC set. */
  truncated: number;
  /** Packets dropped unanswered (too short to carry an id, or responses). */
  dropped: number;
  /** Failed exchanges with an upstream (a query may fail over and still be answered). */
  upstreamErrors: number;
}

export interface DnsServer {
  /** Where it listens (ports resolved when 0 was asked). */
  addresses: ListenAddress[];
  stats: DnsStats;
  stop(): Promise<void>;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;

const MIN_UDP = 512;
/** Our own EDNS buffer size (DNS flag day 2020): what local answers may fill over UDP. */
const MAX_UDP = 1232;

function isOpt(a: Answer): a is OptAnswer {
  return a.type === 'OPT';
}

/** The answer we send: flags from the query (RD, opcode), ours (QR, AA, RA), and the rcode. */
function responseFlags(query: DecodedPacket | undefined, rcode: Rcode, authoritative: boolean): number {
  const qflags = query?.flags ?? 0;
  return (
    (qflags & 0x7800) | // opcode
    (qflags & dnsPacket.RECURSION_DESIRED) |
    (qflags & dnsPacket.CHECKING_DISABLED) |
    (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    dnsPacket.RECURSION_AVAILABLE |
    RCODE[rcode]
  );
}

/**
 * Encodes `p`, dropping additionals then trailing answers until it fits in
 * `max` bytes, with TC set when anything was dropped (a binary search: a
 * headless Service may have many endpoints).
 */
function encodeWithin(p: Packet, max: number): { buf: Buffer; truncated: boolean } {
  const full = dnsPacket.encode(p);
  if (full.length <= max) return { buf: full, truncated: false };
  const opt = (p.additionals ?? []).filter(isOpt);
  const answers = p.answers ?? [];
  const base: Packet = { ...p, flags: (p.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, additionals: opt };
  let lo = 0;
  let hi = answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (dnsPacket.encodingLength({ ...base, answers: answers.slice(0, mid) }) <= max) lo = mid;
    else hi = mid - 1;
  }
  let buf = dnsPacket.encode({ ...base, answers: answers.slice(0, lo) });
  if (buf.length > max) buf = dnsPacket.encode({ ...base, answers: [], authorities: [] });
  return { buf, truncated: true };
}

/** Starts the DNS server. */
export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const log = opts.log ?? (() => undefined);
  const stats: DnsStats = {
    queries: 0,
    cluster: 0,
    forwarded: 0,
    nxdomain: 0,
    servfail: 0,
    formerr: 0,
    refused: 0,
    truncated: 0,
    dropped: 0,
    upstreamErrors: 0,
  };
  const zone = new ClusterZone({
    services: opts.services,
    endpoints: opts.endpoints,
    domain: opts.clusterDomain ?? 'cluster.local',
    ttl: opts.ttlSeconds ?? 5,
  });
  const forwarder = new Forwarder({ upstreams: opts.upstreams, timeoutMs: opts.forwardTimeoutMs });
  const maxForwards = opts.maxConcurrentForwards ?? 1000;
  let inflight = 0;

  const count = (rcode: Rcode): void => {
    if (rcode === 'NXDOMAIN') stats.nxdomain++;
    else if (rcode === 'SERVFAIL') stats.servfail++;
    else if (rcode === 'FORMERR') stats.formerr++;
    else if (rcode === 'REFUSED') stats.refused++;
  };

  const simple = (query: DecodedPacket | undefined, id: number, rcode: Rcode, questions: Question[], opt: Answer[]): Buffer => {
    count(rcode);
    return dnsPacket.encode({ id, type: 'response', flags: responseFlags(query, rcode, false), questions, answers: [], authorities: [], additionals: opt });
  };

  /** An ExternalName's target: chased in the zone when it is a cluster name, else asked upstream (best effort). */
  const chase = async (q: Question, target: string): Promise<Answer[]> => {
    const lower = target.toLowerCase();
    if (zone.owns(lower)) return zone.answer({ ...q, name: target }).answers;
    const sub = dnsPacket.encode({ id: randomInt(0, 0x10000), type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: target, type: q.type, class: 'IN' }] });
    const res = await forwarder.forward(sub, false);
    if (!res) return [];
    try {
      return (dnsPacket.decode(res.answer).answers ?? []).filter((a) => !isOpt(a));
    } catch {
      return [];
    }
  };

  const handle = async (msg: Buffer, tcp: boolean): Promise<Buffer | undefined> => {
    // Too short to carry an id, or a response (never answer those: reflection loops).
    if (msg.length < 12 || (msg[2]! & 0x80) !== 0) {
      stats.dropped++;
      return undefined;
    }
    stats.queries++;
    const id = msg.readUInt16BE(0);
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return simple(undefined, id, 'FORMERR', [], []);
    }
    const clientOpt = (query.additionals ?? []).find(isOpt);
    const opt: Answer[] = clientOpt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return simple(query, id, 'NOTIMP', query.questions ?? [], opt);
    const questions = query.questions ?? [];
    if (questions.length !== 1) return simple(query, id, 'FORMERR', questions, opt);
    const q = questions[0]!;
    const name = q.name.toLowerCase().replace(/\.+$/, '');

    if ((q.class ?? 'IN') === 'IN' && zone.owns(name)) {
      stats.cluster++;
      // Before the first list an empty cache would say NXDOMAIN for names that exist: SERVFAIL makes clients retry.
      if (!zone.ready()) return simple(query, id, 'SERVFAIL', questions, opt);
      const res: ZoneResult = zone.answer(q);
      let answers = res.answers;
      if (res.external) answers = [...answers, ...(await chase(q, res.external))];
      count(res.rcode);
      const packet: Packet = {
        id,
        type: 'response',
        flags: responseFlags(query, res.rcode, true),
        questions,
        answers,
        authorities: res.authorities,
        additionals: [...res.additionals, ...opt],
      };
      const max = tcp ? 0xffff : clientOpt ? Math.min(MAX_UDP, Math.max(MIN_UDP, clientOpt.udpPayloadSize)) : MIN_UDP;
      const out = encodeWithin(packet, max);
      if (out.truncated) stats.truncated++;
      return out.buf;
    }

    if (inflight >= maxForwards) return simple(query, id, 'REFUSED', questions, opt);
    stats.forwarded++;
    inflight++;
    try {
      const before = forwarder.errors;
      const res = await forwarder.forward(msg, tcp);
      stats.upstreamErrors += forwarder.errors - before;
      if (!res) return simple(query, id, 'SERVFAIL', questions, opt);
      const limit = clientOpt ? Math.max(MIN_UDP, clientOpt.udpPayloadSize) : MIN_UDP;
      if (!tcp && res.answer.length > limit) {
        stats.truncated++;
        return res.udpAnswer ?? encodeWithin({ id, type: 'response', flags: responseFlags(query, 'NOERROR', false), questions, answers: [], additionals: opt }, 0).buf;
      }
      return res.answer;
    } finally {
      inflight--;
    }
  };

  const safeHandle = async (msg: Buffer, tcp: boolean): Promise<Buffer | undefined> => {
    try {
      return await handle(msg, tcp);
    } catch (e) {
      log(`dns: query failed: ${e instanceof Error ? e.message : String(e)}`);
      if (msg.length < 12) return undefined;
      return simple(undefined, msg.readUInt16BE(0), 'SERVFAIL', [], []);
    }
  };

  const udpSockets: UdpSocket[] = [];
  const tcpServers: TcpServer[] = [];
  const conns = new Set<Socket>();
  const idleMs = opts.tcpIdleTimeoutMs ?? 10_000;
  const addresses: ListenAddress[] = [];

  const onTcp = (sock: Socket): void => {
    conns.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(idleMs, () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        // Answers may go out of order (RFC 7766 pipelining); clients match them by id.
        void safeHandle(msg, true).then((out) => {
          if (!out) return;
          if (sock.destroyed || !sock.writable) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        });
      }
    });
  };

  const bindUdp = (addr: ListenAddress): Promise<UdpSocket> =>
    new Promise((resolve, reject) => {
      const s = createSocket(isIPv6(addr.address) ? 'udp6' : 'udp4');
      s.once('error', reject);
      s.bind(addr.port, addr.address, () => {
        s.off('error', reject);
        s.on('error', (e) => log(`dns: udp ${addr.address}: ${e.message}`));
        s.on('message', (msg, rinfo) => {
          void safeHandle(msg, false).then((out) => {
            if (out) s.send(out, rinfo.port, rinfo.address, () => undefined);
          });
        });
        resolve(s);
      });
    });

  const bindTcp = (addr: ListenAddress): Promise<TcpServer> =>
    new Promise((resolve, reject) => {
      const srv = createServer(onTcp);
      srv.once('error', reject);
      srv.listen({ host: addr.address, port: addr.port }, () => {
        srv.off('error', reject);
        srv.on('error', (e) => log(`dns: tcp ${addr.address}: ${e.message}`));
        resolve(srv);
      });
    });

  const closeUdp = (s: UdpSocket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
  const closeTcp = (s: TcpServer): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

  const stop = async (): Promise<void> => {
    zone.close();
    forwarder.close();
    for (const c of conns) c.destroy();
    await Promise.all([...udpSockets.map(closeUdp), ...tcpServers.map(closeTcp)]);
    udpSockets.length = 0;
    tcpServers.length = 0;
  };

  try {
    for (const addr of opts.listen) {
      // Port 0: the UDP port the kernel picks must also be free for TCP; retry a few times if not.
      for (let attempt = 0; ; attempt++) {
        const udp = await bindUdp(addr);
        const port = udp.address().port;
        try {
          const tcp = await bindTcp({ address: addr.address, port });
          udpSockets.push(udp);
          tcpServers.push(tcp);
          addresses.push({ address: addr.address, port });
          break;
        } catch (e) {
          await closeUdp(udp);
          if (addr.port !== 0 || attempt >= 10) throw e;
        }
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  log(`dns: serving ${opts.clusterDomain ?? 'cluster.local'} on ${addresses.map((a) => `${a.address}:${a.port}`).join(', ')}; upstreams ${opts.upstreams.map((u) => `${u.address}:${u.port}`).join(', ') || 'none'}`);
  return { addresses, stats, stop };
}
