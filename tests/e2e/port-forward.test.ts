/**
 * The stock kubectl's port-forward against `orch server` (a child process):
 * SPDY/3.1 tunnelled in a WebSocket (kubectl's default since 1.31) and the
 * plain SPDY upgrade it falls back to, reaching a hollow node's kubelet
 * through the agent tunnel. The pod's "container" is a host process running
 * two small TCP servers on 127.0.0.1 (tests/helpers/process-runtime.ts).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parse } from 'yaml';
import { freePort, startServerProcess } from '../helpers/server-process.js';
import { ProcessRuntime } from '../helpers/process-runtime.js';
import { waitFor } from '../helpers/wait.js';
import { startTunnel } from '../../pkg/agent/tunnel.js';
import { serveStream } from '../../pkg/kubelet/streaming.js';

const NODE = 'hollow-pf';
const MIB = 1024 * 1024;

function kubeconfigParts(path: string): { server: string; token: string; caPem: string } {
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  const cfg = doc as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: { token: string } }[] };
  const cluster = cfg.clusters[0].cluster;
  return { server: cluster.server, token: cfg.users[0].user.token, caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString() };
}

// The pod: port A echoes, port B greets then echoes; both on 127.0.0.1.
const POD_SERVERS = `
const net = require('net');
const [a, b] = process.argv.slice(1).map(Number);
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(a, '127.0.0.1', () => console.log('listening ' + a));
net.createServer((s) => { s.on('error', () => {}); s.write('hello from B\\n'); s.pipe(s); }).listen(b, '127.0.0.1', () => console.log('listening ' + b));
`;

interface Forward {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number>;
  stop(): Promise<number>;
}

/** Runs `kubectl port-forward`, resolving once it says it forwards every given local port. */
async function portForward(kubeconfig: string, args: string[], env: Record<string, string>, locals: number[]): Promise<Forward> {
  const child = spawn('kubectl', ['port-forward', ...args], { env: { ...process.env, ...env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((res) => child.once('exit', (code, signal) => res(code ?? (signal ? 128 : 0))));
  let gone = false;
  child.once('exit', () => (gone = true));
  await waitFor(() => gone || locals.every((l) => out.includes(`Forwarding from 127.0.0.1:${l} ->`)), 30_000, `kubectl port-forward ${args.join(' ')}`);
  if (gone) throw new Error(`kubectl port-forward exited early:\n${out}${err}`);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Connects to a local port, sends payload, and resolves with the first `expect` bytes that come back. */
function exchange(port: number, payload: Buffer, expect: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    let n = 0;
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      got.push(d);
      n += d.length;
      if (n >= expect) {
        s.destroy();
        resolve(Buffer.concat(got).subarray(0, expect));
      }
    });
    s.on('close', () => reject(new Error(`connection closed after ${n} of ${expect} bytes`)));
    s.write(payload);
  });
}

/** Connects and resolves with everything received until the other side closes. */
function untilClosed(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => got.push(d));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.write(payload);
  });
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
async function waitListening(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise<boolean>((res) => {
      const c = connect({ host: '127.0.0.1', port }, () => {
        c.destroy();
        res(true);
      });
      c.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('kubectl port-forward through the tunnel', async (t) => {
  const s = await startServerProcess();
  const rt = new ProcessRuntime();
  const { server, token, caPem } = kubeconfigParts(s.kubeconfig);
  const tunnel = startTunnel({
    server,
    token,
    caPem,
    nodeName: NODE,
    serve: (req, ws) => serveStream(req, ws, { runtime: rt, findContainer: rt.findContainer, podAddress: () => ({ ip: '127.0.0.1', hostNetwork: false }) }),
  });
  t.teardown(async () => {
    await tunnel.stop();
    await rt.stopAll();
    await s.stop();
  });
  await tunnel.waitConnected();

  const [portA, portB, closedPort] = [await freePort(), await freePort(), await freePort()];
  await s.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Node
metadata: {name: ${NODE}}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: ${NODE}
  containers:
  - {name: c, image: busybox}
`,
  });
  // kubectl checks the phase client-side; nothing but this test runs the pod.
  await s.kubectl(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running","podIP":"127.0.0.1"}}']);
  rt.run('default', 'web', 'c', [process.execPath, '-e', POD_SERVERS, String(portA), String(portB)]);
  await waitListening(portA);
  await waitListening(portB);

  const variants: { name: string; env: Record<string, string> }[] = [
    { name: 'SPDY tunnelled in a WebSocket (kubectl default)', env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'true' } },
    { name: 'plain SPDY/3.1 upgrade', env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
  ];
  for (const v of variants) {
    t.test(v.name, async (t) => {
      const [localA, localB] = [await freePort(), await freePort()];
      // -v=4 makes kubectl say which dialer it used (and whether it fell back from the WebSocket one).
      const pf = await portForward(s.kubeconfig, ['-v=4', 'pod/web', `${localA}:${portA}`, `${localB}:${portB}`], v.env, [localA, localB]);
      t.teardown(() => pf.stop());

      t.equal((await exchange(localA, Buffer.from('ping\n'), 5)).toString(), 'ping\n', 'a small echo');

      // 2 MiB each way on both ports at once: far beyond any 64 KiB window.
      const bigA = randomBytes(2 * MIB);
      const bigB = randomBytes(2 * MIB);
      const greet = Buffer.from('hello from B\n');
      const [backA, backB] = await Promise.all([exchange(localA, bigA, bigA.length), exchange(localB, bigB, greet.length + bigB.length)]);
      t.equal(sha(backA), sha(bigA), '2 MiB echoed intact on the first port');
      t.equal(backB.subarray(0, greet.length).toString(), greet.toString(), 'the second port reaches the second server');
      t.equal(sha(backB.subarray(greet.length)), sha(bigB), '2 MiB echoed intact on the second port');

      // Another connection through the same forward, and several at once.
      const again = await Promise.all([1, 2, 3].map((i) => exchange(localA, Buffer.from(`again ${i}\n`), `again ${i}\n`.length)));
      t.same(
        again.map((b) => b.toString()),
        ['again 1\n', 'again 2\n', 'again 3\n'],
      );
      t.match(pf.stdout(), `Handling connection for ${localA}`);
      t.match(pf.stdout(), `Handling connection for ${localB}`);
      if (v.env.KUBECTL_PORT_FORWARD_WEBSOCKETS === 'true') {
        t.match(pf.stderr(), 'tunneling_dialer.go:85] negotiated protocol: portforward.k8s.io', 'the WebSocket tunnel was used');
        t.notMatch(pf.stderr(), /fallback to secondary dialer/, 'without falling back to SPDY');
      } else {
        t.notMatch(pf.stderr(), /tunneling_dialer/, 'no WebSocket attempt');
      }
      t.equal(pf.child.exitCode, null, 'the forward is still running');
    });

    t.test(`${v.name}: a port nobody listens on`, async (t) => {
      const local = await freePort();
      const pf = await portForward(s.kubeconfig, ['pod/web', `${local}:${closedPort}`], v.env, [local]);
      t.teardown(() => pf.stop());
      const got = await untilClosed(local, Buffer.from('anyone?\n'));
      t.equal(got.length, 0, 'the local connection is closed without data');
      // As against Kubernetes: kubectl reports the kubelet's error, then (client-go ≥ 1.27) gives up the connection.
      const code = await pf.exited;
      t.match(pf.stderr(), `an error occurred forwarding ${local} -> ${closedPort}: error forwarding port ${closedPort} to pod web, uid `);
      t.match(pf.stderr(), /ECONNREFUSED/);
      t.match(pf.stderr(), 'error: lost connection to pod');
      t.equal(code, 1);
    });
  }
});
