/**
 * The stock kubectl's logs and exec against `orch server` (a child process),
 * reaching a hollow node's kubelet through the agent tunnel. The node's
 * "containers" are host processes (tests/helpers/process-runtime.ts); the
 * real Docker ones are tested with the kubelet.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startServerProcess } from '../helpers/server-process.js';
import { ProcessRuntime } from '../helpers/process-runtime.js';
import { waitFor } from '../helpers/wait.js';
import { startTunnel } from '../../pkg/agent/tunnel.js';
import { serveStream } from '../../pkg/kubelet/streaming.js';

const NODE = 'hollow-1';

function kubeconfigParts(path: string): { server: string; token: string; caPem: string } {
  const doc: unknown = parse(readFileSync(path, 'utf8'));
  const cfg = doc as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: { token: string } }[] };
  const cluster = cfg.clusters[0].cluster;
  return { server: cluster.server, token: cfg.users[0].user.token, caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString() };
}

t.test('kubectl logs and exec through the tunnel', async (t) => {
  const s = await startServerProcess();
  const rt = new ProcessRuntime();
  const { server, token, caPem } = kubeconfigParts(s.kubeconfig);
  const tunnel = startTunnel({ server, token, caPem, nodeName: NODE, serve: (req, ws) => serveStream(req, ws, { runtime: rt, findContainer: rt.findContainer }) });
  t.teardown(async () => {
    await tunnel.stop();
    await rt.stopAll();
    await s.stop();
  });
  await tunnel.waitConnected();

  await s.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1
kind: Node
metadata: {name: ${NODE}}
---
apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  nodeName: ${NODE}
  containers:
  - {name: c, image: busybox}
---
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  nodeName: ${NODE}
  containers:
  - {name: a, image: busybox}
  - {name: b, image: busybox}
`,
  });
  // port-forward checks the phase client-side; nothing runs the pod here but the test.
  await s.kubectl(['patch', 'pod', 'hello', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running","podIP":"127.0.0.1"}}']);
  const main = rt.run('default', 'hello', 'c', ['sh', '-c', 'echo one; echo two; read x; echo three']);
  rt.run('default', 'duo', 'b', ['sh', '-c', 'echo from b']);

  t.test('exec: stdout, stderr and the exit code', async (t) => {
    const r = await s.kubectl(['exec', 'hello', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { allowFail: true });
    t.equal(r.code, 3);
    t.equal(r.stdout, 'out\n');
    t.match(r.stderr, /^err\n/);
    const ok = await s.kubectl(['exec', 'hello', '-c', 'c', '--', 'echo', 'fine']);
    t.equal(ok.stdout, 'fine\n');
  });

  t.test('exec -i passes stdin and ends at its end', async (t) => {
    const r = await s.kubectl(['exec', '-i', 'hello', '--', 'sh', '-c', 'cat; echo end'], { input: 'piped\nlines\n' });
    t.equal(r.stdout, 'piped\nlines\nend\n');
  });

  t.test('logs, --tail, -c, and a clear error for an unknown pod', async (t) => {
    t.equal((await s.kubectl(['logs', 'hello'])).stdout, 'one\ntwo\n');
    t.equal((await s.kubectl(['logs', 'hello', '--tail=1'])).stdout, 'two\n');
    t.match((await s.kubectl(['logs', 'hello', '--timestamps', '--tail=1'])).stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z two\n$/);
    t.equal((await s.kubectl(['logs', 'duo', '-c', 'b'])).stdout, 'from b\n');
    const missing = await s.kubectl(['logs', 'nope'], { allowFail: true });
    t.equal(missing.code, 1);
    t.match(missing.stderr, 'pods "nope" not found');
    const noexec = await s.kubectl(['exec', 'nope', '--', 'true'], { allowFail: true });
    t.match(noexec.stderr, 'Error from server (NotFound): pods "nope" not found');
  });

  t.test('logs -f follows until the container ends', async (t) => {
    const follow = s.kubectl(['logs', '-f', 'hello']);
    await waitFor(() => rt.followerCount(main) > 0, 15_000, 'kubectl logs -f to connect');
    rt.writeStdin(main, 'go\n');
    const r = await follow;
    t.equal(r.stdout, 'one\ntwo\nthree\n');
    t.equal(r.code, 0);
  });

  t.test('attach -i to the main process', async (t) => {
    await s.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: att}
spec:
  nodeName: ${NODE}
  containers:
  - {name: c, image: busybox, stdin: true}
`,
    });
    await s.kubectl(['patch', 'pod', 'att', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
    const id = rt.run('default', 'att', 'c', ['sh', '-c', 'read x; echo got $x; exit 5']);
    const r = await s.kubectl(['attach', '-i', 'att'], { input: 'hi\n', allowFail: true });
    t.match(r.stdout, 'got hi\n');
    t.equal(await rt.exited(id), 5);
  });
});
