import t from 'tap';
import { createServer as createHttp, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcp, type AddressInfo } from 'node:net';
import type { Container, Probe } from 'kubernetes-types/core/v1.js';
import { runProbe } from '../../pkg/kubelet/probes.js';
import { HollowRuntime } from '../../pkg/kubelet/runtime/hollow.js';

t.test('httpGet, tcpSocket and exec probes', async (t) => {
  let seen: IncomingHttpHeaders = {};
  const http = createHttp((req, res) => {
    seen = req.headers;
    const code = req.url === '/ok' ? 200 : req.url === '/redirect' ? 302 : req.url === '/slow' ? 0 : 500;
    if (code === 0) return; // never answers
    res.writeHead(code).end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const tcp = createTcp((s) => s.end());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const closed = createTcp();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  t.teardown(async () => {
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
    await new Promise<void>((r) => tcp.close(() => r()));
  });
  const httpPort = (http.address() as AddressInfo).port;
  const tcpPort = (tcp.address() as AddressInfo).port;

  const runtime = new HollowRuntime({ images: ['x:1'] });
  const sb = await runtime.runSandbox({ podUid: 'u', namespace: 'd', name: 'p', nodeName: 'n', hostname: 'p', hostNetwork: true, portMappings: [] });
  const id = await runtime.createContainer({ podUid: 'u', namespace: 'd', podName: 'p', nodeName: 'n', name: 'c', kind: 'regular', sandboxId: sb.id, hostNetwork: true, image: 'x:1', env: [], mounts: [], tty: false, stdin: false, stdinOnce: false, resources: {}, restartCount: 0, specHash: 'h', terminationGracePeriodSeconds: 1 });
  await runtime.startContainer(id);
  runtime.setExec('fail', { exitCode: 1, output: 'bad things\n', timedOut: false });
  const container: Container = { name: 'c', ports: [{ name: 'web', containerPort: httpPort }] };

  const cases: { name: string; probe: Probe; ok: boolean; output?: string | RegExp }[] = [
    { name: 'http 200', probe: { httpGet: { path: '/ok', port: httpPort } }, ok: true },
    { name: 'http by port name', probe: { httpGet: { path: '/ok', port: 'web' } }, ok: true },
    { name: 'http 302 counts as success', probe: { httpGet: { path: '/redirect', port: httpPort } }, ok: true },
    { name: 'http 500', probe: { httpGet: { path: '/boom', port: httpPort } }, ok: false, output: 'HTTP probe failed with statuscode: 500' },
    { name: 'http timeout', probe: { httpGet: { path: '/slow', port: httpPort }, timeoutSeconds: 1 }, ok: false, output: /context deadline exceeded/ },
    { name: 'http unknown port name', probe: { httpGet: { path: '/', port: 'nope' } }, ok: false, output: 'unknown port "nope"' },
    { name: 'tcp open', probe: { tcpSocket: { port: tcpPort } }, ok: true },
    { name: 'tcp refused', probe: { tcpSocket: { port: closedPort } }, ok: false, output: new RegExp(`^dial tcp 127\\.0\\.0\\.1:${closedPort}: `) },
    { name: 'exec ok', probe: { exec: { command: ['true'] } }, ok: true },
    { name: 'exec fails', probe: { exec: { command: ['fail'] } }, ok: false, output: 'bad things' },
  ];
  for (const c of cases) {
    const out = await runProbe(c.probe, { runtime, containerId: id, container, host: '127.0.0.1' });
    t.equal(out.ok, c.ok, c.name);
    if (c.output !== undefined) t.match(out.output, c.output, `${c.name} output`);
  }
  await runProbe({ httpGet: { path: '/ok', port: httpPort, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, { runtime, containerId: id, container, host: '127.0.0.1' });
  t.equal(seen['x-probe'], 'yes');
  t.equal(seen['user-agent'], 'kube-probe/1.32');
});
