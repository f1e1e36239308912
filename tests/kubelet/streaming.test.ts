import t from 'tap';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { serveStream, type StreamDeps } from '../../pkg/kubelet/streaming.js';
import { KubeletLookupError } from '../../pkg/kubelet/kubelet.js';
import type { StreamRequest } from '../../pkg/kubelet/streaming-protocol.js';
import { ProcessRuntime } from '../helpers/process-runtime.js';

/** A loopback WebSocket server that serves each connection with serveStream and the request registered for its path. */
async function harness(deps: StreamDeps): Promise<{ url: string; requests: Map<string, StreamRequest>; close(): Promise<void> }> {
  const requests = new Map<string, StreamRequest>();
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws, req) => {
    const r = requests.get(req.url ?? '');
    if (r) void serveStream(r, ws, deps);
    else ws.close(1008);
  });
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((res) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.close(() => res());
      }),
  };
}

interface Conversation {
  header: unknown;
  frames: Buffer[];
  closeCode: number;
  ws: WebSocket;
  done: Promise<void>;
}

function toBuffer(d: RawData): Buffer {
  return Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);
}

/** Opens a stream and records the header and every binary frame until close. */
function talk(url: string, onOpen?: (ws: WebSocket) => void): Conversation {
  const ws = new WebSocket(url);
  const conv: Conversation = { header: undefined, frames: [], closeCode: 0, ws, done: Promise.resolve() };
  conv.done = new Promise((resolve, reject) => {
    ws.on('message', (d, binary) => {
      if (!binary) conv.header = JSON.parse(toBuffer(d).toString());
      else conv.frames.push(toBuffer(d));
    });
    ws.once('open', () => onOpen?.(ws));
    ws.once('close', (code) => {
      conv.closeCode = code;
      resolve();
    });
    ws.once('error', reject);
  });
  return conv;
}

function channel(frames: Buffer[], ch: number): string {
  return Buffer.concat(frames.filter((f) => f[0] === ch).map((f) => f.subarray(1))).toString();
}

const base = { namespace: 'default', pod: 'p', container: 'c', stdin: false, stdout: true, stderr: true, tty: false };

t.test('exec', async (t) => {
  const rt = new ProcessRuntime();
  const h = await harness({ runtime: rt, findContainer: rt.findContainer });
  rt.run('default', 'p', 'c', ['sleep', '30']);
  t.teardown(async () => {
    await rt.stopAll();
    await h.close();
  });
  const script = 'echo out; echo err >&2; exit 3';

  t.test('stdout, stderr and a non-zero exit (v5)', async (t) => {
    h.requests.set('/a', { ...base, kind: 'exec', command: ['sh', '-c', script], protocol: 'v5.channel.k8s.io' });
    const c = talk(`${h.url}/a`);
    await c.done;
    t.same(c.header, { ok: true });
    t.same([...c.frames[0]], [1], 'first an empty stdout frame');
    t.equal(channel(c.frames, 1), 'out\n');
    t.equal(channel(c.frames, 2), 'err\n');
    const status = JSON.parse(channel(c.frames, 3));
    t.match(status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    t.equal(c.closeCode, 1000);
  });

  t.test('success status', async (t) => {
    h.requests.set('/b', { ...base, kind: 'exec', command: ['true'], protocol: 'v4.channel.k8s.io' });
    const c = talk(`${h.url}/b`);
    await c.done;
    t.same(JSON.parse(channel(c.frames, 3)), { metadata: {}, status: 'Success' });
  });

  t.test('channel.k8s.io (v1) reports a failure as text', async (t) => {
    h.requests.set('/c', { ...base, kind: 'exec', command: ['sh', '-c', 'exit 2'], protocol: 'channel.k8s.io' });
    const c = talk(`${h.url}/c`);
    await c.done;
    t.match(channel(c.frames, 3), /^command terminated with non-zero exit code: .*exit code 2$/);
  });

  t.test('stdin, closed with the v5 close frame', async (t) => {
    h.requests.set('/d', { ...base, kind: 'exec', stdin: true, command: ['cat'], protocol: 'v5.channel.k8s.io' });
    const c = talk(`${h.url}/d`, (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from('hello ')]));
      ws.send(Buffer.from([0, ...Buffer.from('world')]));
      ws.send(Buffer.from([255, 0]));
    });
    await c.done;
    t.equal(channel(c.frames, 1), 'hello world');
    t.same(JSON.parse(channel(c.frames, 3)).status, 'Success');
  });

  t.test('resize reaches the runtime; a tty has no stderr channel', async (t) => {
    h.requests.set('/e', { ...base, kind: 'exec', stdin: true, tty: true, command: ['sh', '-c', 'read x; echo got $x >&2'], protocol: 'v5.channel.k8s.io' });
    const c = talk(`${h.url}/e`, (ws) => {
      ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 120, Height: 40 }))]));
      ws.send(Buffer.from([0, ...Buffer.from('line\n')]));
    });
    await c.done;
    t.same(rt.resizes.at(-1), { id: 'c1', width: 120, height: 40 });
    t.equal(channel(c.frames, 1), 'got line\n');
    t.equal(channel(c.frames, 2), '');
  });

  t.test('unknown container: an error header', async (t) => {
    h.requests.set('/f', { ...base, container: 'nope', kind: 'exec', command: ['true'], protocol: 'v5.channel.k8s.io' });
    const c = talk(`${h.url}/f`);
    await c.done;
    t.same(c.header, { ok: false, code: 404, reason: 'NotFound', message: 'container not found ("nope")' });
    t.same(c.frames, []);
  });

  t.test('client going away ends the process', async (t) => {
    h.requests.set('/g', { ...base, kind: 'exec', command: ['sleep', '30'], protocol: 'v5.channel.k8s.io' });
    const c = talk(`${h.url}/g`, (ws) => setTimeout(() => ws.close(), 50));
    await c.done;
    t.equal(channel(c.frames, 3), '', 'no status after the client left');
  });
});

t.test('attach to the main process', async (t) => {
  const rt = new ProcessRuntime();
  const h = await harness({ runtime: rt, findContainer: rt.findContainer });
  t.teardown(async () => {
    await rt.stopAll();
    await h.close();
  });
  rt.run('default', 'p', 'c', ['sh', '-c', 'read x; echo hi $x; exit 4']);
  h.requests.set('/a', { ...base, kind: 'attach', stdin: true, protocol: 'v5.channel.k8s.io' });
  const c = talk(`${h.url}/a`, (ws) => ws.send(Buffer.from([0, ...Buffer.from('there\n')])));
  await c.done;
  t.equal(channel(c.frames, 1), 'hi there\n');
  // As the kubelet's ServeAttach: Success when the stream ends, whatever the exit code (kubectl run reads it from the pod).
  t.same(JSON.parse(channel(c.frames, 3)), { metadata: {}, status: 'Success' });
});

t.test('logs', async (t) => {
  const rt = new ProcessRuntime();
  const h = await harness({ runtime: rt, findContainer: rt.findContainer });
  t.teardown(async () => {
    await rt.stopAll();
    await h.close();
  });
  const first = rt.run('default', 'p', 'c', ['sh', '-c', 'echo one; echo two; echo three']);
  await rt.exited(first);
  await rt.exited(rt.run('default', 'p', 'e', ['sh', '-c', 'echo to stderr >&2']));
  const logReq = (log: Partial<NonNullable<StreamRequest['log']>>): StreamRequest => ({
    ...base,
    kind: 'log',
    protocol: '',
    log: { follow: false, previous: false, timestamps: false, ...log },
  });
  const read = async (path: string, r: StreamRequest) => {
    h.requests.set(path, r);
    const c = talk(`${h.url}${path}`);
    await c.done;
    return { header: c.header, text: Buffer.concat(c.frames).toString() };
  };

  t.same(await read('/all', logReq({})), { header: { ok: true }, text: 'one\ntwo\nthree\n' });
  t.equal((await read('/stderr', { ...logReq({}), container: 'e' })).text, 'to stderr\n');
  t.equal((await read('/tail', logReq({ tailLines: 1 }))).text, 'three\n');
  t.equal((await read('/limit', logReq({ limitBytes: 5 }))).text, 'one\nt');
  t.match((await read('/ts', logReq({ timestamps: true, tailLines: 1 }))).text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/);
  t.same((await read('/prev', logReq({ previous: true }))).header, {
    ok: false,
    code: 400,
    reason: 'BadRequest',
    message: 'previous terminated container "c" in pod "p" not found',
  });

  // A second instance: --previous reads the first; -f follows the running one until it ends.
  const second = rt.run('default', 'p', 'c', ['sh', '-c', 'echo a; read x; echo b']);
  t.equal((await read('/prev2', logReq({ previous: true }))).text, 'one\ntwo\nthree\n');
  h.requests.set('/follow', logReq({ follow: true }));
  const c = talk(`${h.url}/follow`);
  while (Buffer.concat(c.frames).toString() !== 'a\n') await new Promise((r) => setTimeout(r, 10));
  // The container is still running: the stream is open; let it finish.
  t.equal(c.closeCode, 0);
  rt.writeStdin(second, 'x\n');
  await c.done;
  t.equal(Buffer.concat(c.frames).toString(), 'a\nb\n');
  t.equal(c.closeCode, 1000);
});

t.test('port-forward', async (t) => {
  const echo = createTcpServer((s) => s.pipe(s));
  await new Promise<void>((res) => echo.listen(0, '127.0.0.1', res));
  const port = (echo.address() as AddressInfo).port;
  const rt = new ProcessRuntime();
  const h = await harness({ runtime: rt, findContainer: rt.findContainer, podAddress: () => ({ ip: '127.0.0.1', hostNetwork: false }) });
  t.teardown(async () => {
    await h.close();
    await new Promise((r) => echo.close(r));
  });
  h.requests.set('/pf', { ...base, container: undefined, kind: 'portforward', protocol: 'v4.channel.k8s.io', ports: [port] });
  const got: Buffer[] = [];
  const ws = new WebSocket(`${h.url}/pf`);
  const portLE = Buffer.alloc(2);
  portLE.writeUInt16LE(port);
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (d, binary) => {
      if (!binary) return;
      const b = toBuffer(d);
      got.push(b);
      if (got.length === 2) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ping')]));
      if (channel(got, 0).endsWith('ping')) resolve();
    });
    ws.once('error', reject);
  });
  t.same(got[0], Buffer.concat([Buffer.from([0]), portLE]), 'data channel starts with the port');
  t.same(got[1], Buffer.concat([Buffer.from([1]), portLE]), 'error channel starts with the port');
  t.equal(channel(got.slice(2), 0), 'ping');
  ws.close();
});

t.test("the kubelet's lookup errors keep their code and reason", async (t) => {
  const cases = [
    new KubeletLookupError(400, 'BadRequest', 'container "c" in pod "p" is waiting to start: ContainerCreating'),
    new KubeletLookupError(404, 'NotFound', 'pods "p" not found'),
  ];
  for (const [i, err] of cases.entries()) {
    const h = await harness({ runtime: new ProcessRuntime(), findContainer: () => Promise.reject(err) });
    for (const kind of ['log', 'exec'] as const) {
      h.requests.set(`/${kind}`, { ...base, kind, command: ['true'], protocol: kind === 'exec' ? 'v5.channel.k8s.io' : '', log: { follow: false, previous: false, timestamps: false } });
      const c = talk(`${h.url}/${kind}`);
      await c.done;
      t.same(c.header, { ok: false, code: err.code, reason: err.reason, message: err.message }, `${kind}, case ${i}`);
    }
    await h.close();
  }
});
