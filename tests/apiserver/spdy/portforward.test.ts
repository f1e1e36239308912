import t, { type Test } from 'tap';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { SpdyConnection, type SpdyStream } from '../../../pkg/apiserver/spdy/connection.js';
import { spdyHeaders } from '../../../pkg/apiserver/spdy/headers.js';
import { servePortForward, type PortStream } from '../../../pkg/apiserver/spdy/portforward.js';
import { AgentStream } from '../../../pkg/apiserver/tunnel.js';
import { serveStream } from '../../../pkg/kubelet/streaming.js';
import { parseStreamHeader } from '../../../pkg/kubelet/streaming-protocol.js';
import { ProcessRuntime } from '../../helpers/process-runtime.js';
import { waitFor } from '../../helpers/wait.js';

function listen(server: Server | WebSocketServer): Promise<number> {
  return new Promise((resolve) => {
    const done = () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    };
    if (server instanceof WebSocketServer) server.once('listening', done);
    else server.listen(0, '127.0.0.1', done);
  });
}

interface Env {
  client: SpdyConnection;
  echoPort: number;
  closedPort: number;
  /** Sockets the pod's echo server has open now. */
  podSockets: Set<Socket>;
}

/** A pod (TCP echo on 127.0.0.1), a kubelet serving port-forward on WebSockets, and a SPDY session to servePortForward. */
async function setup(t: Test, opts: { failPort?: number; streamCreationTimeoutMs?: number } = {}): Promise<Env> {
  const podSockets = new Set<Socket>();
  const echo = createServer((s) => {
    podSockets.add(s);
    s.on('error', () => {});
    s.once('close', () => podSockets.delete(s));
    s.pipe(s);
  });
  const echoPort = await listen(echo);
  const closed = createServer();
  const closedPort = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));

  const rt = new ProcessRuntime();
  const kubelet = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  const kubeletPort = await listen(kubelet);
  kubelet.on('connection', (ws, req) => {
    const port = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('port'));
    void serveStream(
      { kind: 'portforward', namespace: 'default', pod: 'web', podUid: 'uid-1', ports: [port], stdin: false, stdout: false, stderr: false, tty: false, protocol: 'v4.channel.k8s.io' },
      ws,
      { runtime: rt, findContainer: () => undefined, podAddress: () => ({ ip: '127.0.0.1', hostNetwork: false }) },
    );
  });
  const openPort = (port: number): Promise<PortStream> => {
    if (port === opts.failPort) return Promise.reject(new Error('no tunnel to the kubelet of node "n1"'));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${kubeletPort}/?port=${port}`);
      ws.once('error', reject);
      ws.once('message', (data: RawData) => {
        const h = parseStreamHeader(Buffer.isBuffer(data) ? data.toString() : String(data));
        if (h?.ok) resolve(new AgentStream(ws));
        else reject(new Error(h && !h.ok ? h.message : 'bad header'));
      });
    });
  };

  const pair = createServer();
  const pairPort = await listen(pair);
  const accepted = new Promise<Socket>((r) => pair.once('connection', r));
  const clientSocket = connect({ host: '127.0.0.1', port: pairPort });
  const serverSocket = await accepted;
  const server = new SpdyConnection(serverSocket, { role: 'server' });
  servePortForward(server, { pod: 'web', podUid: 'uid-1', openPort, halfCloseGraceMs: 20, streamCreationTimeoutMs: opts.streamCreationTimeoutMs });
  const client = new SpdyConnection(clientSocket, { role: 'client' });

  t.teardown(async () => {
    client.destroy();
    server.destroy();
    for (const s of podSockets) s.destroy();
    await Promise.all([
      new Promise((r) => echo.close(r)),
      new Promise((r) => pair.close(r)),
      new Promise((r) => kubelet.close(r)),
    ]);
    for (const c of kubelet.clients) c.terminate();
  });
  return { client, echoPort, closedPort, podSockets };
}

function readAll(s: SpdyStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.once('end', () => resolve(got));
    s.once('close', () => resolve(got));
    s.once('error', reject);
  });
}

/** What kubectl does per local connection: an error stream (closed on our side at once), then a data stream. */
function openForward(c: SpdyConnection, port: number, requestId?: string): { error: SpdyStream; data: SpdyStream } {
  const h = (type: string) => spdyHeaders({ streamType: type, port: String(port), ...(requestId === undefined ? {} : { requestID: requestId }) });
  const error = c.openStream(h('error'));
  error.end();
  const data = c.openStream(h('data'));
  return { error, data };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

t.test('a forwarded connection echoes, then both streams end cleanly', async (t) => {
  const env = await setup(t);
  const { error, data } = openForward(env.client, env.echoPort, '0');
  const errText = readAll(error);
  t.same(await data.waitReply(), new Map(), 'accepted with an empty SYN_REPLY');
  const payload = randomBytes(3 * 1024 * 1024).toString('latin1');
  const back = readAll(data);
  data.write(Buffer.from(payload, 'latin1'));
  const echoed = await new Promise<string>((resolve) => {
    let got = '';
    data.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (got.length >= payload.length) resolve(got);
    });
  });
  t.equal(sha(echoed), sha(payload), '3 MiB through the pod and back');
  data.end();
  await back;
  t.equal(await errText, '', 'no error');
  await waitFor(() => env.podSockets.size === 0, 15_000, 'the pod connection to close');
});

t.test('a port nobody listens on: the error on the error stream, the session lives on', async (t) => {
  const env = await setup(t);
  const bad = openForward(env.client, env.closedPort, '0');
  const [err, data] = await Promise.all([readAll(bad.error), readAll(bad.data)]);
  t.match(err, new RegExp(`^error forwarding port ${env.closedPort} to pod web, uid uid-1: connect ECONNREFUSED 127\\.0\\.0\\.1:${env.closedPort}$`));
  t.equal(data, '', 'the data stream just ends');

  const good = openForward(env.client, env.echoPort, '1');
  const back = readAll(good.data);
  good.data.end('still here');
  t.equal(await back, 'still here', 'a later request on the same session works');
  t.equal(await readAll(good.error), '');
});

t.test('the tunnel cannot open the port: said on the error stream', async (t) => {
  const env = await setup(t, { failPort: 4242 });
  const f = openForward(env.client, 4242, '0');
  t.equal(await readAll(f.error), 'error forwarding port 4242 to pod web, uid uid-1: no tunnel to the kubelet of node "n1"');
});

t.test('streams without a request id pair by stream id (old clients)', async (t) => {
  const env = await setup(t);
  const f = openForward(env.client, env.echoPort);
  t.equal(f.error.id + 2, f.data.id);
  const back = readAll(f.data);
  f.data.end('legacy');
  t.equal(await back, 'legacy');
});

t.test('invalid streams are reset, as the kubelet does', async (t) => {
  const env = await setup(t);
  const cases: { name: string; headers: Record<string, string> }[] = [
    { name: 'no port', headers: { streamType: 'data', requestID: '0' } },
    { name: 'port 0', headers: { streamType: 'data', port: '0', requestID: '0' } },
    { name: 'port out of range', headers: { streamType: 'data', port: '70000', requestID: '0' } },
    { name: 'no stream type', headers: { port: '80', requestID: '0' } },
    { name: 'unknown stream type', headers: { streamType: 'video', port: '80', requestID: '0' } },
  ];
  for (const c of cases) {
    const s = env.client.openStream(spdyHeaders(c.headers));
    s.on('error', () => {});
    t.match(await s.waitReply().then(() => 'replied', (e: unknown) => e), { name: 'SpdyStreamResetError', status: 5 }, c.name);
  }
});

t.test('a second stream of the same type for a request is refused and reported', async (t) => {
  const env = await setup(t);
  const h = spdyHeaders({ streamType: 'error', port: String(env.echoPort), requestID: '7' });
  const first = env.client.openStream(h);
  const text = readAll(first);
  await first.waitReply();
  const second = env.client.openStream(h);
  second.on('error', () => {});
  // The kubelet answers it, then only reports the clash; we also reset it so it does not linger.
  const secondClosed = new Promise<void>((r) => second.once('close', () => r()));
  await second.waitReply();
  await secondClosed;
  t.equal(second.resetStatus, 5);
  const data = env.client.openStream(spdyHeaders({ streamType: 'data', port: String(env.echoPort), requestID: '7' }));
  data.end();
  t.match(await text, /^error processing stream for request 7: error stream already assigned/);
});

t.test('a lone stream times out', async (t) => {
  const env = await setup(t, { streamCreationTimeoutMs: 50 });
  const s = env.client.openStream(spdyHeaders({ streamType: 'error', port: '80', requestID: '3' }));
  s.end();
  t.equal(await readAll(s), '(conn=spdy, request=3) timed out waiting for streams');
});

t.test('the session going away closes the pod connections', async (t) => {
  const env = await setup(t);
  const f = openForward(env.client, env.echoPort, '0');
  const back = new Promise<void>((r) => f.data.once('data', () => r()));
  f.data.write('x');
  await back;
  t.equal(env.podSockets.size, 1);
  env.client.destroy();
  await waitFor(() => env.podSockets.size === 0, 15_000, 'the pod connection to close');
  t.pass('closed');
});
