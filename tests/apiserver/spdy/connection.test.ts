import t, { type Test } from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket, createWebSocketStream } from 'ws';
import { SpdyConnection, type SpdyStream } from '../../../pkg/apiserver/spdy/connection.js';
import { FrameDecoder, GOAWAY_STATUS, RST_STATUS, SETTING, encodeFrame, type Frame } from '../../../pkg/apiserver/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor, headerValue, spdyHeaders } from '../../../pkg/apiserver/spdy/headers.js';
import { spdyOverWebSocket } from '../../../pkg/apiserver/spdy/upgrade.js';
import { waitFor } from '../../helpers/wait.js';

/** Two ends of a loopback TCP connection. */
async function socketPair(t: Test): Promise<[Socket, Socket]> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const client = connect({ host: '127.0.0.1', port });
  const server = await accepted;
  srv.close();
  t.teardown(() => {
    client.destroy();
    server.destroy();
  });
  return [client, server];
}

/** A hand-driven peer: writes raw frames, reads decoded ones. */
class RawPeer {
  readonly frames: Frame[] = [];
  private readonly decoder = new FrameDecoder();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (b: Buffer) => {
      this.frames.push(...this.decoder.push(b));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(f: Frame): void {
    this.socket.write(encodeFrame(f));
  }

  async synStream(streamId: number, headers: Record<string, string>, fin = false): Promise<void> {
    const headerBlock = await this.compressor.compress(spdyHeaders(headers));
    this.send({ type: 'syn_stream', streamId, associatedTo: 0, priority: 0, slot: 0, fin, unidirectional: false, headerBlock });
  }

  inflate(block: Buffer) {
    return this.decompressor.decompress(block);
  }

  /** Waits until some received frame satisfies pred. */
  async waitFor(pred: (fs: Frame[]) => boolean): Promise<void> {
    while (!pred(this.frames)) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Round trip a PING: everything the peer queued before answering it has arrived after this. */
  async sync(id: number): Promise<void> {
    this.send({ type: 'ping', id });
    await this.waitFor((fs) => fs.some((f) => f.type === 'ping' && f.id === id));
  }

  dataBytes(streamId: number): number {
    return this.frames.reduce((n, f) => n + (f.type === 'data' && f.streamId === streamId ? f.data.length : 0), 0);
  }

  close(): void {
    this.compressor.close();
    this.decompressor.close();
  }
}

function readAll(s: SpdyStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.once('end', () => resolve(Buffer.concat(got)));
    s.once('error', reject);
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A server that echoes every stream back, FIN included. */
function echoServer(conn: SpdyConnection): void {
  conn.on('stream', (s: SpdyStream) => {
    s.reply(spdyHeaders({ echoed: headerValue(s.headers, 'name') ?? '' }));
    s.pipe(s);
  });
}

t.test('streams: open, reply, data both ways, FIN both ways', async (t) => {
  const [a, b] = await socketPair(t);
  const client = new SpdyConnection(a, { role: 'client' });
  const server = new SpdyConnection(b, { role: 'server' });
  echoServer(server);

  const results = await Promise.all(
    ['one', 'two', 'three'].map(async (name) => {
      const s = client.openStream(spdyHeaders({ name }));
      t.equal(s.id % 2, 1, 'client streams are odd');
      const reply = await s.waitReply();
      t.equal(headerValue(reply, 'echoed'), name, 'the reply carries headers (through the shared zlib context)');
      s.end(`payload of ${name}`);
      return (await readAll(s)).toString();
    }),
  );
  t.same(results, ['payload of one', 'payload of two', 'payload of three']);
  await new Promise((r) => setImmediate(r));
  t.equal(client.streamCount, 0, 'finished streams are forgotten');
  t.equal(server.streamCount, 0);

  await client.ping();
  t.pass('a ping is echoed');
  const closed = client.closed;
  server.close();
  await closed;
  t.ok(client.isClosed, 'the server closing ends the client too');
});

t.test('big transfers with flow control enforced both ways', async (t) => {
  const [a, b] = await socketPair(t);
  const client = new SpdyConnection(a, { role: 'client', enforceSendWindow: true });
  const server = new SpdyConnection(b, { role: 'server', enforceSendWindow: true });
  echoServer(server);
  // 4 MiB each way needs ~64 window refills: it only finishes if both sides send WINDOW_UPDATEs as they read.
  const big = randomBytes(4 * 1024 * 1024);
  const s = client.openStream(spdyHeaders({ name: 'big' }));
  const back = readAll(s);
  s.end(big);
  t.equal(sha(await back), sha(big));
  client.destroy();
  server.destroy();
});

t.test('send window: data stops when the peer grants no more, resumes with WINDOW_UPDATE', async (t) => {
  const [a, b] = await socketPair(t);
  const peer = new RawPeer(a);
  t.teardown(() => peer.close());
  const server = new SpdyConnection(b, { role: 'server', enforceSendWindow: true });
  t.teardown(() => server.destroy());
  const streams: SpdyStream[] = [];
  server.on('stream', (s: SpdyStream) => {
    s.reply();
    streams.push(s);
    s.write(randomBytes(200 * 1024));
  });
  await peer.synStream(1, { name: 'x' });
  await peer.waitFor((fs) => fs.some((f) => f.type === 'syn_reply'));
  await peer.sync(1);
  t.equal(peer.dataBytes(1), 65536, 'exactly the initial 64 KiB window');

  peer.send({ type: 'window_update', streamId: 1, delta: 1000 });
  await peer.sync(3);
  t.equal(peer.dataBytes(1), 65536, 'the session window is used up too');
  peer.send({ type: 'window_update', streamId: 0, delta: 5000 });
  await peer.sync(5);
  t.equal(peer.dataBytes(1), 65536 + 1000, 'then the smaller of stream and session window');

  // SETTINGS changes every stream's window by the difference.
  peer.send({ type: 'settings', clear: false, entries: [{ id: SETTING.INITIAL_WINDOW_SIZE, flags: 0, value: 65536 + 3000 }] });
  await peer.sync(7);
  t.equal(peer.dataBytes(1), 65536 + 4000, 'a larger initial window frees the difference');
  t.equal(streams.length, 1);
});

t.test('send window ignored by default, as spdystream peers never grant more', async (t) => {
  const [a, b] = await socketPair(t);
  const peer = new RawPeer(a);
  t.teardown(() => peer.close());
  const server = new SpdyConnection(b, { role: 'server' });
  t.teardown(() => server.destroy());
  server.on('stream', (s: SpdyStream) => {
    s.reply();
    s.end(randomBytes(300 * 1024));
  });
  await peer.synStream(1, { name: 'x' });
  await peer.waitFor((fs) => fs.some((f) => f.type === 'data' && f.fin));
  t.equal(peer.dataBytes(1), 300 * 1024);
});

t.test('receive window: WINDOW_UPDATEs as the reader consumes', async (t) => {
  const [a, b] = await socketPair(t);
  const peer = new RawPeer(a);
  t.teardown(() => peer.close());
  const server = new SpdyConnection(b, { role: 'server' });
  t.teardown(() => server.destroy());
  let received = 0;
  const done = new Promise<void>((resolve) =>
    server.on('stream', (s: SpdyStream) => {
      s.reply();
      s.on('data', (d: Buffer) => (received += d.length));
      s.on('end', () => resolve());
    }),
  );
  await peer.synStream(1, { name: 'x' });
  const total = 1024 * 1024;
  const granted = (id: number) => peer.frames.reduce((n, f) => n + (f.type === 'window_update' && f.streamId === id ? f.delta : 0), 0);
  for (let off = 0; off < total; off += 16 * 1024) peer.send({ type: 'data', streamId: 1, fin: false, data: randomBytes(16 * 1024) });
  // Each window is kept at least half open: at most half of 64 KiB stays unacknowledged
  // once the reader has consumed everything. (The FIN comes after: a finished stream needs no more window.)
  await peer.waitFor(() => received === total && granted(1) >= total - 32 * 1024 && granted(0) >= total - 32 * 1024);
  t.ok(granted(1) >= total - 32 * 1024, `stream window refilled (${granted(1)})`);
  t.ok(granted(0) >= total - 32 * 1024, `session window refilled (${granted(0)})`);
  peer.send({ type: 'data', streamId: 1, fin: true, data: Buffer.alloc(0) });
  await done;
  await peer.sync(1);
  t.equal(received, total);
});

t.test('a slow reader pauses the transport instead of buffering without bound', async (t) => {
  const [a, b] = await socketPair(t);
  const client = new SpdyConnection(a, { role: 'client' });
  const server = new SpdyConnection(b, { role: 'server' });
  t.teardown(() => {
    client.destroy();
    server.destroy();
  });
  const got = new Promise<SpdyStream>((r) => server.on('stream', (s: SpdyStream) => (s.reply(), r(s))));
  const s = client.openStream(spdyHeaders({}));
  const payload = randomBytes(8 * 1024 * 1024);
  s.end(payload);
  const remote = await got;
  // Nobody reads yet: the server stops reading its socket, holding a bounded amount.
  await waitFor(() => b.isPaused(), 15_000, 'the transport to pause');
  t.ok(remote.readableLength < 2 * 1024 * 1024, `buffered ${remote.readableLength} bytes`);
  t.equal(sha(await readAll(remote)), sha(payload), 'and everything arrives once it reads');
});

t.test('PING echo, RST_STREAM, refused and invalid streams, GOAWAY', async (t) => {
  const [a, b] = await socketPair(t);
  const peer = new RawPeer(a);
  t.teardown(() => peer.close());
  const server = new SpdyConnection(b, { role: 'server' });
  const seen: SpdyStream[] = [];
  server.on('stream', (s: SpdyStream) => {
    seen.push(s);
    s.reply();
  });

  await peer.sync(1);
  t.pass('a client PING (odd id) is echoed');
  const serverPing = server.ping();
  await peer.waitFor((fs) => fs.some((f) => f.type === 'ping' && f.id % 2 === 0));
  const p = peer.frames.find((f) => f.type === 'ping' && f.id % 2 === 0);
  if (p?.type === 'ping') peer.send(p);
  await serverPing;
  t.pass('the server PINGs with even ids and resolves on the echo');

  await peer.synStream(1, { name: 'a' });
  await peer.sync(3);
  const closed = new Promise<void>((r) => seen[0].once('close', () => r()));
  peer.send({ type: 'rst_stream', streamId: 1, status: RST_STATUS.CANCEL });
  await closed;
  t.equal(seen[0].resetStatus, RST_STATUS.CANCEL, 'a reset stream closes with its status');

  await peer.synStream(2, { name: 'even' });
  await peer.waitFor((fs) => fs.some((f) => f.type === 'rst_stream' && f.streamId === 2));
  t.match(peer.frames.find((f) => f.type === 'rst_stream' && f.streamId === 2), { status: RST_STATUS.PROTOCOL_ERROR }, 'a client may not use even ids');

  server.goAway();
  await peer.waitFor((fs) => fs.some((f) => f.type === 'goaway'));
  t.match(
    peer.frames.find((f) => f.type === 'goaway'),
    { lastGoodStreamId: 1, status: GOAWAY_STATUS.OK },
    'the last stream it accepted',
  );
  await peer.synStream(5, { name: 'late' });
  await peer.waitFor((fs) => fs.some((f) => f.type === 'rst_stream' && f.streamId === 5));
  t.match(peer.frames.find((f) => f.type === 'rst_stream' && f.streamId === 5), { status: RST_STATUS.REFUSED_STREAM }, 'no new streams after GOAWAY');
  t.equal(seen.length, 1);
  server.destroy();
});

t.test('a frame of another SPDY version ends the session with GOAWAY PROTOCOL_ERROR', async (t) => {
  const [a, b] = await socketPair(t);
  const peer = new RawPeer(a);
  t.teardown(() => peer.close());
  const server = new SpdyConnection(b, { role: 'server' });
  server.on('stream', () => {});
  a.write(Buffer.from('8002000100000000', 'hex'));
  await server.closed;
  await peer.waitFor((fs) => fs.some((f) => f.type === 'goaway'));
  t.match(peer.frames.find((f) => f.type === 'goaway'), { status: GOAWAY_STATUS.PROTOCOL_ERROR });
  t.match(server.error?.message, /unsupported SPDY version/);
});

t.test('SPDY inside WebSocket binary messages', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const serverSide = new Promise<SpdyConnection>((r) => wss.once('connection', (ws) => r(spdyOverWebSocket(ws))));
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((r) => ws.once('open', () => r()));
  const client = new SpdyConnection(createWebSocketStream(ws), { role: 'client' });
  const server = await serverSide;
  echoServer(server);
  const s = client.openStream(spdyHeaders({ name: 'ws' }));
  const data = randomBytes(512 * 1024);
  const back = readAll(s);
  s.end(data);
  t.equal(sha(await back), sha(data));
  client.destroy();
  await server.closed;
  await new Promise<void>((r) => wss.close(() => r()));
});
