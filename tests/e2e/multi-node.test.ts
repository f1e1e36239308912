/**
 * Two nodes: `orch server` with its embedded agent (root namespace, the main
 * dockerd) and an `orch agent` on a test host (its own network namespace and
 * dockerd, reaching only the server's veth address). Pods spread over both,
 * logs and exec reach the test host's pods through its tunnel, a second
 * machine under the same node name is refused, and when the test host's
 * agent dies its pods are replaced on the server's node.
 */
import t from 'tap';
import { poll } from '../helpers/wait.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { hostLeftovers, run, startTestHost, withBlackholeRoutes } from '../helpers/test-host.js';
import { TEST_IMAGE, testDocker, testNodeName } from '../helpers/docker.js';
import { LABELS } from '../../pkg/kubelet/runtime/types.js';

interface PodView {
  name: string;
  node: string;
  ready: boolean;
  terminating: boolean;
}

async function pods(s: ServerProcess): Promise<PodView[]> {
  const r = await s.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json']);
  const list: unknown = JSON.parse(r.stdout);
  const items = typeof list === 'object' && list !== null && 'items' in list && Array.isArray(list.items) ? (list.items as unknown[]) : [];
  return items.map((raw) => {
    const p = raw as {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string };
      status?: { conditions?: { type: string; status: string }[] };
    };
    return {
      name: p.metadata.name,
      node: p.spec.nodeName ?? '',
      ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      terminating: p.metadata.deletionTimestamp !== undefined,
    };
  });
}

async function nodeReady(s: ServerProcess, node: string): Promise<string> {
  const r = await s.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { allowFail: true });
  return r.stdout.trim();
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${TEST_IMAGE}
        imagePullPolicy: Never
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        command: [sh, -c, 'mkdir -p /tmp/www && echo "$POD_NAME" > /tmp/www/index.html && echo "hello from $POD_NAME" && exec httpd -f -p 8080 -h /tmp/www']
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`;

t.test('a second node joins, runs pods, and loses them to the first when it dies', async (t) => {
  await withBlackholeRoutes(t);
  const host = await startTestHost('mn', { t });
  const nodeA = testNodeName('mn-a');
  const nodeB = `${host.name}-node`;
  const s = await startServerProcess(
    [
      '--tls-san', host.rootIP,
      // The agent renews its Lease every 10 s: a grace period above that, then eviction at once.
      '--node-monitor-grace-period', '15s',
      '--node-monitor-period', '1s',
      '--default-not-ready-toleration-seconds', '1',
      '--default-unreachable-toleration-seconds', '1',
    ],
    undefined,
    { agentNodeName: nodeA, bindAddress: host.rootIP },
  );
  t.teardown(() => s.close());
  const token = readFileSync(join(s.dataDir, 'server', 'node-token'), 'utf8').trim();
  const serverUrl = `https://${host.rootIP}:${s.port}`;

  t.test('the test host reaches nothing but its link', async (t) => {
    const routes = await host.exec(['ip', 'route', 'show']);
    // On-link routes (its veth subnet, its docker0) and the service range towards the root namespace, which
    // blackholes it; no default, no other gateway.
    t.notMatch(routes.stdout, /default/);
    t.same(routes.stdout.split('\n').filter((l) => l.includes('via')).map((l) => l.trim()), [`10.43.0.0/16 via ${host.rootIP} dev eth0`]);
    t.match(routes.stdout, `10.99.${host.slot}.0/24 dev eth0`);
    const out = await host.exec(['ip', 'route', 'get', '192.0.2.1'], { allowFail: true });
    t.not(out.code, 0, 'no route to the outside');
    for (const ip of ['10.42.7.7', '10.43.0.1']) {
      const r = await run('ip', ['route', 'get', ip], { allowFail: true });
      t.not(r.code, 0, `${ip} is blackholed in the root namespace: ${r.stdout}${r.stderr}`);
    }
  });

  const agent = await host.startAgent(serverUrl, token, { nodeName: nodeB });

  t.test('the agent registers its node Ready with the host address and Docker', async (t) => {
    await poll(`${nodeB} Ready`, 30_000, () => nodeReady(s, nodeB), (v) => v === 'True');
    const r = await s.kubectl(['get', 'node', nodeB, '-o', 'json']);
    const node = JSON.parse(r.stdout) as { status: { addresses: { type: string; address: string }[]; nodeInfo: { containerRuntimeVersion: string } } };
    t.same(
      node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address),
      [host.ip],
    );
    t.match(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\/20\./);
    t.equal(await nodeReady(s, nodeA), 'True');
  });

  t.test('a Deployment spreads over both nodes, with real containers on each', async (t) => {
    await s.kubectl(['apply', '-f', '-'], { input: deployment });
    await s.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s']);
    const ps = await pods(s);
    t.equal(ps.length, 4);
    t.ok(ps.every((p) => p.ready));
    const onA = ps.filter((p) => p.node === nodeA).map((p) => p.name).sort();
    const onB = ps.filter((p) => p.node === nodeB).map((p) => p.name).sort();
    t.ok(onA.length > 0 && onB.length > 0, `spread: ${JSON.stringify({ onA, onB })}`);
    t.equal(onA.length + onB.length, 4);

    const running = async (d: ReturnType<typeof testDocker>, node: string) =>
      (await d.listContainers({ filters: { label: [`${LABELS.node}=${node}`, `${LABELS.containerName}=web`] } }))
        .map((c) => c.Labels[LABELS.podName])
        .sort();
    t.same(await running(host.docker, nodeB), onB, "the test host's pods run in its own dockerd");
    t.same(await running(testDocker(), nodeA), onA, "the server node's pods run in the main dockerd");
    t.same(await running(testDocker(), nodeB), [], 'none of the test host pods run in the main dockerd');
  });

  t.test('logs and exec reach a pod on the test host through its tunnel', async (t) => {
    const pod = (await pods(s)).find((p) => p.node === nodeB);
    if (!pod) throw new Error('no pod on the test host');
    const logs = await s.kubectl(['logs', pod.name]);
    t.match(logs.stdout, `hello from ${pod.name}`);
    const r = await s.kubectl(['exec', pod.name, '--', 'sh', '-c', 'timeout 5 wget -qO- http://127.0.0.1:8080/; echo err >&2; exit 3'], { allowFail: true });
    t.equal(r.code, 3);
    t.equal(r.stdout, `${pod.name}\n`);
    t.match(r.stderr, /^err\n/);
    const i = await s.kubectl(['exec', '-i', pod.name, '--', 'cat'], { input: 'through the tunnel\n' });
    t.equal(i.stdout, 'through the tunnel\n');
  });

  t.test('port-forward reaches a pod on the test host through its tunnel', async (t) => {
    const pod = (await pods(s)).find((p) => p.node === nodeB);
    if (!pod) throw new Error('no pod on the test host');
    const pf = spawn('kubectl', ['port-forward', `pod/${pod.name}`, ':8080'], { env: { ...process.env, KUBECONFIG: s.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      pf.kill();
    });
    let out = '';
    pf.stdout.on('data', (d: Buffer) => (out += d.toString()));
    pf.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const port = await poll('port-forward to listen', 15_000, async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], (p) => p !== undefined || pf.exitCode !== null);
    if (port === undefined) throw new Error(`kubectl port-forward exited: ${out}`);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    t.equal(await res.text(), `${pod.name}\n`);
  });

  t.test('a second machine joining under the same node name is refused', async (t) => {
    const otherDir = mkdtempSync(join(tmpdir(), 'orch-mn-other-'));
    t.teardown(() => rmSync(otherDir, { recursive: true, force: true }));
    const second = await host.startAgent(serverUrl, token, { nodeName: nodeB, dataDir: otherDir, waitRegistered: false });
    const { code } = await second.exited;
    t.equal(code, 1);
    const msg = second.output().trim();
    t.equal(msg.split('\n').length, 1, `one line: ${msg}`);
    t.match(msg, `node name "${nodeB}" is already taken by another machine`);
    t.match(msg, '--node-name');
    t.match(msg, `kubectl -n kube-system delete secret ${nodeB}.node-password.orch`);
    t.equal(await nodeReady(s, nodeB), 'True', 'the node that holds the name is untouched');
    t.ok(agent.child.exitCode === null, 'the first agent keeps running');
  });

  t.test('when the test host dies its pods are replaced on the other node', async (t) => {
    const before = await pods(s);
    const onB = before.filter((p) => p.node === nodeB).map((p) => p.name);
    await agent.kill();
    await poll(`${nodeB} not Ready`, 40_000, () => nodeReady(s, nodeB), (v) => v !== 'True');
    const after = await poll(
      'four ready pods on the server node',
      60_000,
      () => pods(s),
      (ps) => {
        const live = ps.filter((p) => !p.terminating);
        return live.length === 4 && live.every((p) => p.ready && p.node === nodeA);
      },
    );
    const live = after.filter((p) => !p.terminating).map((p) => p.name);
    t.same(live.filter((n) => onB.includes(n)), [], 'the dead node’s pods are not among the live ones');
    t.equal(await nodeReady(s, nodeB), 'Unknown');
  });

  t.test('when the host comes back, the pods evicted from it are finished and their containers removed', async (t) => {
    const back = await host.startAgent(serverUrl, token, { nodeName: nodeB });
    t.equal(back.dataDir, agent.dataDir, 'same data dir, same node password');
    await poll(`${nodeB} Ready again`, 30_000, () => nodeReady(s, nodeB), (v) => v === 'True');
    const ps = await poll('no pod left on the returned node', 30_000, () => pods(s), (ps) => ps.every((p) => p.node === nodeA));
    t.equal(ps.length, 4);
    const left = await poll(
      "no container of the evicted pods (app or pause) left in the host's dockerd",
      30_000,
      () => host.docker.listContainers({ all: true, filters: { label: [`${LABELS.node}=${nodeB}`] } }),
      (l) => l.length === 0,
    );
    t.same(left, []);
  });

  t.test('tear-down leaves nothing behind', async (t) => {
    await s.kubectl(['delete', 'deployment', 'web', '--wait=false']);
    await host.destroy();
    t.same(await hostLeftovers(host), []);
  });
});
