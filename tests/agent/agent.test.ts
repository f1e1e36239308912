/**
 * `startAgent` against a real `orch server` (in this process, over HTTPS on
 * loopback): the join, its one-line failures, the node password, the Node
 * and Lease it keeps, the node lifecycle's view of it, credential renewal,
 * and a server restart on the same data dir and port.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Agent as UndiciAgent, request } from 'undici';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { startServer, type RunningServer } from '../../pkg/server/server.js';
import { startAgent, type Agent, type AgentOptions } from '../../pkg/agent/agent.js';
import { agentPaths } from '../../pkg/agent/join.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { formatToken } from '../../pkg/server/token.js';
import { HollowRuntime } from '../../pkg/kubelet/runtime/hollow.js';
import type { KubeletDeps } from '../../pkg/agent/agent.js';
import { freePort } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const GRACE_MS = 3000;

function tempDir(t: Test, prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function server(dataDir: string, port = 0): Promise<RunningServer> {
  return startServer({
    dataDir,
    httpsListenPort: port,
    bindAddress: '127.0.0.1',
    writeKubeconfig: join(dataDir, 'kubeconfig'),
    clusterCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    serviceNodePortRange: '30000-32767',
    tlsSans: [],
    isRoot: false,
    controllers: { nodeMonitorGracePeriodMs: GRACE_MS, nodeMonitorPeriodMs: 200 },
  });
}

function admin(s: RunningServer): Client {
  return new Client(inProcessTransport(s.api.app.fetch, s.adminToken));
}

/** Polls an async read until `ok` holds (waitFor over the latest value). */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  let last: T | undefined;
  let busy = false;
  let failed: unknown;
  await waitFor(
    () => {
      if (!busy) {
        busy = true;
        read().then(
          (v) => ((last = v), (busy = false)),
          (e: unknown) => ((failed = e), (busy = false)),
        );
      }
      return last !== undefined && ok(last);
    },
    ms,
    `${what}${failed ? ` (last error: ${String(failed)})` : ''}`,
  );
  return last as T;
}

const ready = (n: Node): boolean => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

t.test('join, register, heartbeat', async (t) => {
  const dir = tempDir(t, 'orch-agent-srv-');
  const s = await server(dir);
  const api = admin(s);
  t.teardown(async () => {
    await api.transport.close();
    await s.close();
  });
  const base = (dataDir: string, nodeName: string): AgentOptions => ({
    server: s.url,
    token: s.token,
    nodeName,
    dataDir,
    leaseRenewIntervalMs: 200,
  });

  await t.test('an unreachable container runtime is a one-line error that says what to do', async (t) => {
    const dataDir = tempDir(t, 'orch-agent-');
    const runtime = new HollowRuntime();
    runtime.version = async () => {
      throw new Error('connect ENOENT /run/none.sock');
    };
    await t.rejects(
      startAgent({ ...base(dataDir, 'no-docker'), runtime, runtimeEndpoint: 'unix:///run/none.sock' }),
      /^cannot reach the hollow daemon at unix:\/\/\/run\/none\.sock \(connect ENOENT \/run\/none\.sock\): start it .*--disable-agent/,
    );
  });

  await t.test('the Node, its Lease, and the node lifecycle seeing it Ready', async (t) => {
    const dataDir = tempDir(t, 'orch-agent-');
    const kubeletCalls: KubeletDeps[] = [];
    let kubeletStopped = false;
    const agent = await startAgent({
      ...base(dataDir, 'worker-1'),
      nodeIP: '10.9.8.7',
      labels: { zone: 'a' },
      taints: [{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }],
      runtime: new HollowRuntime(),
      startKubelet: async (deps) => {
        kubeletCalls.push(deps);
        return { stop: async () => void (kubeletStopped = true) };
      },
    });
    t.equal(kubeletCalls.length, 1, 'the kubelet was started once');
    t.match(kubeletCalls[0], { nodeName: 'worker-1', nodeIP: '10.9.8.7', dataDir });
    t.ok(kubeletCalls[0]?.runtime instanceof HollowRuntime, 'with the runtime');
    t.teardown(() => agent.stop());
    t.equal(agent.nodeName, 'worker-1');

    const node = await api.resource('nodes').get('worker-1');
    const labels = node.metadata?.labels ?? {};
    t.match(labels, {
      'kubernetes.io/hostname': 'worker-1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      zone: 'a',
    });
    t.notOk('node-role.kubernetes.io/control-plane' in labels, 'a worker is not the control plane');
    t.match(node.spec?.taints, [{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }]);
    const st = node.status ?? {};
    t.same(st.addresses, [
      { type: 'InternalIP', address: '10.9.8.7' },
      { type: 'Hostname', address: 'worker-1' },
    ]);
    for (const k of ['capacity', 'allocatable'] as const) {
      t.equal(st[k]?.pods, '110', `${k} pods`);
      t.match(st[k]?.cpu, /^\d+$/, `${k} cpu`);
      t.match(st[k]?.memory, /^\d+Ki$/, `${k} memory`);
      t.match(st[k]?.['ephemeral-storage'], /^\d+Ki$/, `${k} ephemeral-storage`);
    }
    t.match(st.nodeInfo, {
      kubeletVersion: 'v1.32.0+orch',
      containerRuntimeVersion: 'hollow://0.1.0',
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    });
    t.ok(st.nodeInfo?.kernelVersion, 'kernelVersion');
    t.ok(st.nodeInfo?.osImage, 'osImage');
    const conds = Object.fromEntries((st.conditions ?? []).map((c) => [c.type, c]));
    t.match(conds.Ready, { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' });
    for (const c of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) t.equal(conds[c]?.status, 'False', c);

    // The node password and credential are kept private on the node.
    const paths = agentPaths(dataDir);
    for (const f of [paths.nodePassword, paths.credential]) t.equal(statSync(f).mode & 0o777, 0o600, f);

    // The Lease renews; past the grace period the node lifecycle still has it Ready and untainted.
    const leases = api.resource('leases').namespace('kube-node-lease');
    const first = await leases.get('worker-1');
    t.match(first.spec, { holderIdentity: 'worker-1', leaseDurationSeconds: 40 });
    const deadline = Date.now() + GRACE_MS + 1000;
    await until(
      () => leases.get('worker-1'),
      (l: Lease) => Date.parse(l.spec?.renewTime ?? '') > deadline,
      'lease renewed past the grace period',
    );
    const later = await api.resource('nodes').get('worker-1');
    t.ok(ready(later), 'still Ready');
    t.notOk((later.spec?.taints ?? []).some((x) => x.key.startsWith('node.kubernetes.io/')), 'no not-ready/unreachable taint');

    // The agent's credential is an API credential; a random token is not.
    t.ok((await agent.client.resource('nodes').list()).items.length >= 1);
    const insecure = new UndiciAgent({ connect: { ca: s.caPem } });
    t.teardown(() => insecure.close());
    const res = await request(`${s.url}/api/v1/nodes`, { dispatcher: insecure, headers: { authorization: 'Bearer not-a-credential-at-all' } });
    await res.body.dump();
    t.equal(res.statusCode, 401);

    // Stopped, the node goes silent and the node lifecycle notices: it was watching this node.
    await agent.stop();
    t.ok(kubeletStopped, 'the kubelet was stopped');
    await until(() => api.resource('nodes').get('worker-1'), (n) => !ready(n), 'node no longer Ready after the agent stopped');
  });

  await t.test('the node password holds the name', async (t) => {
    const dirA = tempDir(t, 'orch-agent-a-');
    const dirB = tempDir(t, 'orch-agent-b-');
    const a = await startAgent(base(dirA, 'shared-name'));
    await a.stop();
    await t.rejects(startAgent(base(dirB, 'shared-name')), {
      name: 'AgentError',
      message: /node name "shared-name" is already taken by another machine.*--node-name.*delete secret shared-name\.node-password\.orch/,
    });
    // The first machine (same data dir) comes back, reusing its stored credential.
    const stored = readFileSync(agentPaths(dirA).credential, 'utf8');
    const again = await startAgent(base(dirA, 'shared-name'));
    t.teardown(() => again.stop());
    t.equal(readFileSync(agentPaths(dirA).credential, 'utf8'), stored, 'the stored credential was reused');
    t.ok(ready(await api.resource('nodes').get('shared-name')));
  });

  await t.test('a revoked credential is renewed with the node password', async (t) => {
    const dataDir = tempDir(t, 'orch-agent-');
    const agent = await startAgent(base(dataDir, 'renewer'));
    t.teardown(() => agent.stop());
    const before = readFileSync(agentPaths(dataDir).credential, 'utf8');
    await api.resource('secrets').namespace('kube-system').delete('renewer.node-password.orch');
    // The next heartbeat is refused (401), the agent joins again and carries on.
    await until(
      () => api.resource('secrets').namespace('kube-system').get('renewer.node-password.orch'),
      () => true,
      'the node password stored again',
    );
    await waitFor(() => readFileSync(agentPaths(dataDir).credential, 'utf8') !== before, 10_000, 'a new credential stored');
    t.ok((await agent.client.resource('nodes').get('renewer')).metadata?.name);
  });

  await t.test('failures are one line naming the cause', async (t) => {
    const dataDir = tempDir(t, 'orch-agent-');
    const closed = await freePort();
    const secret = s.token.split(':').pop() ?? '';
    const cases: [string, Partial<AgentOptions>, RegExp][] = [
      ['wrong token', { token: formatToken(s.caPem, 'wrong-secret') }, /refused the token \(401 Unauthorized\)/],
      ['unreachable server', { server: `https://127.0.0.1:${closed}` }, new RegExp(`^cannot reach https://127\\.0\\.0\\.1:${closed}: connection refused$`)],
      ['token for another CA', { token: `K10${'0'.repeat(64)}::server:${secret}` }, /does not match the token's CA hash \(0{64}\)/],
      ['bare secret', { token: secret }, /bare secret without the CA hash/],
      ['malformed token', { token: 'K10abc::server:x' }, /--token: invalid token/],
      ['plain http', { server: s.url.replace('https:', 'http:') }, /must be an https:\/\/ URL/],
    ];
    for (const [what, o, message] of cases) {
      const err = await startAgent({ ...base(dataDir, 'failing'), ...o }).then(
        (a: Agent) => (void a.stop(), undefined),
        (e: unknown) => e,
      );
      t.ok(err instanceof Error, what);
      t.match(err instanceof Error ? err.message : '', message, what);
      t.notMatch(err instanceof Error ? err.message : '', /\n/, `${what}: one line`);
    }
    await t.rejects(api.resource('nodes').get('failing'), { code: 404 }, 'no node registered by any of them');
  });
});

t.test('the CA is checked before the secret is sent anywhere', async (t) => {
  // A server presenting the real CA's serving cert but a different /cacerts: it must see no credential.
  const dir = tempDir(t, 'orch-agent-srv-');
  const real = await server(dir);
  const caPem = real.caPem;
  const tls = join(dir, 'server', 'tls');
  const key = readFileSync(join(tls, 'serving-kube-apiserver.key'), 'utf8');
  const cert = readFileSync(join(tls, 'serving-kube-apiserver.crt'), 'utf8');
  await real.close();
  const seen: { method?: string; url?: string; authorization?: string }[] = [];
  const impostor = createHttpsServer({ key, cert }, (req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    res.end(req.url === '/cacerts' ? caPem.replace('-----END', '\n-----END') : 'x');
  });
  await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => impostor.close(() => r())));
  const { port } = impostor.address() as AddressInfo;
  const dataDir = tempDir(t, 'orch-agent-');
  await t.rejects(
    startAgent({ server: `https://127.0.0.1:${port}`, token: formatToken(caPem, 'the-secret'), nodeName: 'n', dataDir }),
    { message: /does not match the token's CA hash/ },
  );
  t.same(seen, [{ method: 'GET', url: '/cacerts', authorization: undefined }], 'one unauthenticated GET /cacerts, nothing else');
});

t.test('after a server restart on the same data dir and port the agent carries on', async (t) => {
  const dir = tempDir(t, 'orch-agent-srv-');
  const port = await freePort();
  let s = await server(dir, port);
  const dataDir = tempDir(t, 'orch-agent-');
  const logs: string[] = [];
  const agent = await startAgent({ server: s.url, token: s.token, nodeName: 'survivor', dataDir, leaseRenewIntervalMs: 200, log: (m) => logs.push(m) });
  t.teardown(() => agent.stop());
  const credential = readFileSync(agentPaths(dataDir).credential, 'utf8');
  await s.close();
  await waitFor(() => logs.some((l) => /heartbeat failed \(cannot reach https:\/\/127\.0\.0\.1:\d+: connection refused\)/.test(l)), 10_000, 'a failed heartbeat');
  s = await server(dir, port);
  const api = admin(s);
  t.teardown(async () => {
    await api.transport.close();
    await s.close();
  });
  await waitFor(() => logs.some((l) => /reached the server again/.test(l)), 20_000, 'reconnection');
  // Past the restarted server's grace period the node is still Ready and untainted: its heartbeats count.
  const deadline = Date.now() + GRACE_MS + 1000;
  await until(
    () => api.resource('leases').namespace('kube-node-lease').get('survivor'),
    (l: Lease) => Date.parse(l.spec?.renewTime ?? '') > deadline,
    'lease renewed past the grace period',
  );
  const node = await api.resource('nodes').get('survivor');
  t.ok(ready(node), 'Ready after the restart');
  t.notOk((node.spec?.taints ?? []).some((x) => x.key.startsWith('node.kubernetes.io/')), 'no not-ready/unreachable taint');
  // Its credential still works after the restart (not re-issued): the server loaded it from the store.
  t.equal(readFileSync(agentPaths(dataDir).credential, 'utf8'), credential, 'the same credential');
});
