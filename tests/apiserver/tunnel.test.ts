import t from 'tap';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { WebSocket, type RawData } from 'ws';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';
import { ProcessRuntime } from '../helpers/process-runtime.js';
import { startTunnel, type TunnelClient } from '../../pkg/agent/tunnel.js';
import { serveStream } from '../../pkg/kubelet/streaming.js';

function toBuffer(d: RawData): Buffer {
  return Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d);
}

function channel(frames: Buffer[], ch: number): string {
  return Buffer.concat(frames.filter((f) => f[0] === ch).map((f) => f.subarray(1))).toString();
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
};

t.test('logs, exec, attach and port-forward through the tunnel', async (t) => {
  const api = await startTestApi();
  const http = createServer(getRequestListener(api.api.app.fetch));
  http.on('upgrade', api.api.handleUpgrade);
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  const port = (http.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const rt = new ProcessRuntime();
  const echo = createTcpServer((s) => s.pipe(s));
  await new Promise<void>((res) => echo.listen(0, '127.0.0.1', res));
  const echoPort = (echo.address() as AddressInfo).port;

  const tunnel: TunnelClient = startTunnel({
    server: base,
    token: TOKEN,
    nodeName: 'n1',
    minBackoffMs: 20,
    maxBackoffMs: 100,
    serve: (req, ws) => serveStream(req, ws, { runtime: rt, findContainer: rt.findContainer }),
  });
  t.teardown(async () => {
    await tunnel.stop();
    api.api.tunnels.close();
    await rt.stopAll();
    await new Promise((r) => echo.close(r));
    await new Promise((r) => http.close(r));
    await api.close();
  });
  await tunnel.waitConnected();
  t.ok(api.api.tunnels.hasTunnel('n1'));

  const pod = (name: string, node: string | undefined, containers: string[], extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { ...(node ? { nodeName: node } : {}), containers: containers.map((c) => ({ name: c, image: 'busybox' })), ...extra },
  });
  for (const p of [
    pod('web', 'n1', ['c']),
    pod('two', 'n1', ['a', 'b'], { initContainers: [{ name: 'i', image: 'busybox' }] }),
    pod('pending', undefined, ['c']),
    pod('elsewhere', 'n2', ['c']),
    pod('hostnet', 'n1', ['c'], { hostNetwork: true }),
  ]) {
    const res = await api.json('POST', '/api/v1/namespaces/default/pods', p);
    t.equal(res.status, 201, `create ${p.metadata.name}`);
  }
  const main = rt.run('default', 'web', 'c', ['sh', '-c', 'echo one; echo two; read x; echo three']);

  /** Exec/attach/portforward as kubectl does: a WebSocket with the bearer token. */
  const stream = (path: string, opts: { protocols?: string[]; token?: string; onOpen?: (ws: WebSocket) => void } = {}) =>
    new Promise<{ status?: number; body?: string; protocol?: string; frames: Buffer[]; code?: number }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts.protocols ?? ['v5.channel.k8s.io'], {
        headers: { authorization: `Bearer ${opts.token ?? TOKEN}` },
      });
      const frames: Buffer[] = [];
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body, frames }));
      });
      ws.on('open', () => opts.onOpen?.(ws));
      ws.on('message', (d) => frames.push(toBuffer(d)));
      ws.on('close', (code) => resolve({ protocol: ws.protocol, frames, code }));
      ws.on('error', (e) => {
        if (!e.message.startsWith('Unexpected server response')) reject(e);
      });
    });
  const execPath = (podName: string, cmd: string[], q = 'stdout=true&stderr=true') =>
    `/api/v1/namespaces/default/pods/${podName}/exec?${cmd.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${q}`;

  t.test('exec: output, exit code, protocol negotiation', async (t) => {
    const r = await stream(execPath('web', ['sh', '-c', 'echo out; echo err >&2; exit 3']), { protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'] });
    t.equal(r.protocol, 'v5.channel.k8s.io');
    t.equal(channel(r.frames, 1), 'out\n');
    t.equal(channel(r.frames, 2), 'err\n');
    t.match(JSON.parse(channel(r.frames, 3)), { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    t.equal(r.code, 1000);
    const v4 = await stream(execPath('web', ['true']), { protocols: ['v4.channel.k8s.io', 'v5.channel.k8s.io'] });
    t.equal(v4.protocol, 'v4.channel.k8s.io', "the client's first supported choice");
    t.same(JSON.parse(channel(v4.frames, 3)), { metadata: {}, status: 'Success' });
  });

  t.test('exec: stdin and resize', async (t) => {
    const r = await stream(execPath('web', ['sh', '-c', 'cat; echo done'], 'stdin=true&stdout=true&stderr=true'), {
      onOpen: (ws) => {
        ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":90,"Height":30}')]));
        ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('input\n')]));
        ws.send(Buffer.from([255, 0]));
      },
    });
    t.equal(channel(r.frames, 1), 'input\ndone\n');
    await until(() => rt.resizes.length > 0);
    t.same(rt.resizes.at(-1), { id: main, width: 90, height: 30 });
  });

  t.test('logs: plain, tail, timestamps, follow until the container ends', async (t) => {
    const get = (q: string) => api.call('GET', `/api/v1/namespaces/default/pods/web/log${q}`);
    await until(() => rt.findContainer('default', 'web', 'c') !== undefined);
    let res = await get('');
    t.equal(res.status, 200);
    t.match(res.headers.get('content-type'), /^text\/plain/);
    t.equal(await res.text(), 'one\ntwo\n');
    t.equal(await (await get('?tailLines=1')).text(), 'two\n');
    t.match(await (await get('?timestamps=true&tailLines=1')).text(), /^\S+Z two\n$/);
    res = await get('?follow=true&container=c');
    const reader = res.body!.getReader();
    let text = '';
    const dec = new TextDecoder();
    while (text !== 'one\ntwo\n') text += dec.decode((await reader.read()).value);
    rt.writeStdin(main, 'go\n');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    t.equal(text, 'one\ntwo\nthree\n', 'the follow ends with the container');
    t.equal((await get('?previous=true')).status, 400);
    t.equal((await get('?tailLines=-1')).status, 400);
  });

  t.test('attach', async (t) => {
    const id = rt.run('default', 'hostnet', 'c', ['sh', '-c', 'read x; echo attached $x']);
    const r = await stream('/api/v1/namespaces/default/pods/hostnet/attach?container=c&stdin=true&stdout=true&stderr=true', {
      onOpen: (ws) => ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('yes\n')])),
    });
    t.equal(channel(r.frames, 1), 'attached yes\n');
    t.equal(await rt.exited(id), 0);
  });

  t.test('port-forward (v4.channel.k8s.io, hostNetwork → 127.0.0.1)', async (t) => {
    const got: Buffer[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/namespaces/default/pods/hostnet/portforward?ports=${echoPort}`, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        got.push(toBuffer(d));
        if (got.length === 2) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('echo me')]));
        if (channel(got.slice(2), 0) === 'echo me') resolve();
      });
      ws.on('error', reject);
    });
    t.equal(ws.protocol, 'v4.channel.k8s.io');
    t.equal(got[0].readUInt16LE(1), echoPort);
    ws.close();
  });

  t.test('errors as Status', async (t) => {
    const cases: { name: string; path: string; code: number; message: RegExp; token?: string }[] = [
      { name: 'unknown pod', path: execPath('nope', ['true']), code: 404, message: /^pods "nope" not found$/ },
      { name: 'not scheduled', path: execPath('pending', ['true']), code: 400, message: /^pod pending does not have a host assigned$/ },
      { name: 'node without tunnel', path: execPath('elsewhere', ['true']), code: 503, message: /no tunnel to the kubelet of node "n2"/ },
      {
        name: 'several containers, none named',
        path: execPath('two', ['true']),
        code: 400,
        message: /^a container name must be specified for pod two, choose one of: \[a b\] or one of the init containers: \[i\]$/,
      },
      { name: 'container unknown to the kubelet', path: execPath('two', ['true'], 'container=a&stdout=true'), code: 404, message: /^container not found \("a"\)$/ },
      { name: 'bad credential', path: execPath('web', ['true']), code: 401, message: /^Unauthorized$/, token: 'wrong' },
    ];
    for (const c of cases) {
      const r = await stream(c.path, { token: c.token });
      t.equal(r.status, c.code, `${c.name}: code`);
      const body = JSON.parse(r.body ?? '{}');
      t.equal(body.kind, 'Status', `${c.name}: a Status`);
      t.match(body.message, c.message, `${c.name}: message`);
    }
    const logs = await api.json('GET', '/api/v1/namespaces/default/pods/nope/log');
    t.equal(logs.status, 404);
    const noTunnel = await api.json('GET', '/api/v1/namespaces/default/pods/elsewhere/log');
    t.equal(noTunnel.status, 503);
    t.match(noTunnel.body.message, /no tunnel to the kubelet of node "n2": its agent is not connected/);
    const noUpgrade = await api.json('GET', execPath('web', ['true']));
    t.equal(noUpgrade.status, 400);
    t.equal(noUpgrade.body.message, 'Upgrade request required');
  });

  t.test('a SPDY upgrade gets a clear HTTP error', async (t) => {
    const res = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}${execPath('web', ['true'])}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, connection: 'Upgrade', upgrade: 'SPDY/3.1' },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    t.equal(res.status, 400);
    t.match(JSON.parse(res.body).message, /WebSockets only/);
  });

  t.test('the agent reconnects after the server drops its tunnel', async (t) => {
    api.api.tunnels.close();
    t.notOk(api.api.tunnels.hasTunnel('n1'));
    await until(() => api.api.tunnels.hasTunnel('n1'));
    const r = await stream(execPath('web', ['echo', 'back']));
    t.equal(channel(r.frames, 1), 'back\n');
  });
});

t.test('a tunnel needs a credential the server accepts for that node', async (t) => {
  const api = await startTestApi();
  const http = createServer(getRequestListener(api.api.app.fetch));
  http.on('upgrade', api.api.handleUpgrade);
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  const port = (http.address() as AddressInfo).port;
  const logs: string[] = [];
  const tunnel = startTunnel({
    server: `http://127.0.0.1:${port}`,
    token: 'wrong',
    nodeName: 'n1',
    minBackoffMs: 10_000,
    log: (m) => logs.push(m),
    serve: async () => {},
  });
  await until(() => logs.length > 0);
  t.match(logs[0], /refused the tunnel: HTTP 401/);
  t.notOk(api.api.tunnels.hasTunnel('n1'));
  await tunnel.stop();
  await new Promise((r) => http.close(r));
  await api.close();
});
