/**
 * Services and cluster DNS end to end, as the issue asks: `orch server`
 * (control plane only) in the root namespace and two `orch agent`s with
 * their default networking (host-gw pod network, nftables Service proxy,
 * cluster DNS) on two test hosts sharing one L2 segment. The agents' DNS
 * servers forward other names to a stub resolver this test runs on the
 * segment's root address; the root namespace blackholes the cluster and
 * service ranges while the test runs, so nothing leaves the machine.
 */
import t from 'tap';
import { poll } from '../helpers/wait.js';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { ORCH_BIN, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { SEGMENT_ROOT_IP, destroyHosts, run, startTestHost, withBlackholeRoutes } from '../helpers/test-host.js';
import { TEST_IMAGE } from '../helpers/docker.js';

/** A stub upstream resolver: outside.example A → 192.0.2.10, other names NXDOMAIN. */
async function startStubResolver(address: string): Promise<{ queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const sock: Socket = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    queries.push(`${question.type} ${question.name}`);
    const exists = question.name.toLowerCase() === 'outside.example';
    const known = exists && question.type === 'A';
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      // NXDOMAIN (3) for names it does not know; an empty NOERROR for other types of the one it knows.
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (exists ? 0 : 3),
      questions: q.questions,
      answers: known ? [{ type: 'A', name: question.name, ttl: 30, data: '192.0.2.10' }] : [],
    });
    sock.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(53, address, () => resolve());
  });
  return { queries, close: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

/** How a TCP connection from here ends: 'connected', or the error code (ETIMEDOUT after 10 s). */
function connectError(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host, port, timeout: 10_000 });
    sock.once('connect', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve('ETIMEDOUT');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** A Deployment of busybox httpd answering its pod name on :8080 (and the caller at /cgi-bin/ip), ready by probe, draining 2 s on SIGTERM. */
const webDeployment = (version: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: web
        image: ${TEST_IMAGE}
        imagePullPolicy: Never
        env: [{name: VERSION, value: "${version}"}, {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        command: [sh, -c, 'mkdir -p /www/cgi-bin && echo "$POD $VERSION" > /www/index.html && printf ''#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n'' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && httpd -f -p 8080 -h /www & pid=$!; trap "sleep 2; kill $pid" TERM; wait $pid; wait $pid']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`;

const manifests = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${TEST_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo solo > /www/index.html && exec httpd -f -p 8080 -h /www']
    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  selector: {app: solo}
  ports: [{port: 80, targetPort: 8080}]
`;

const clientPod = (node: string) => `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${TEST_IMAGE}
    imagePullPolicy: Never
    command: [sleep, '3600']
`;

t.test('Services, cluster DNS and the pod network across two hosts', async (t) => {
  await withBlackholeRoutes(t);
  const hostA = await startTestHost('sva', { t, segment: true });
  const hostB = await startTestHost('svb', { t, segment: true });
  // On the segment's root address (there once a host joined it), where the test hosts' resolv.conf points.
  const stub = await startStubResolver(SEGMENT_ROOT_IP);
  t.teardown(() => stub.close());
  const s: ServerProcess = await startServerProcess(['--tls-san', hostA.rootIP, '--advertise-address', hostA.rootIP], undefined, { bindAddress: hostA.rootIP });
  t.teardown(() => s.close());
  const token = readFileSync(join(s.dataDir, 'server', 'node-token'), 'utf8').trim();
  const serverUrl = `https://${hostA.rootIP}:${s.port}`;
  const [agentA, agentB] = await Promise.all([hostA.startAgent(serverUrl, token), hostB.startAgent(serverUrl, token)]);
  const nodeA = agentA.nodeName;
  const nodeB = agentB.nodeName;
  const withAgentLogs = (e: unknown): never => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\nagent A:\n${agentA.output().slice(-4000)}\nagent B:\n${agentB.output().slice(-4000)}`);
  };

  await s.kubectl(['apply', '-f', '-'], { input: `${webDeployment('v1')}---\n${manifests}---\n${clientPod(nodeA)}` });
  await s.kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s']).catch(withAgentLogs);
  await s.kubectl(['wait', '--for=condition=Ready', 'pod/client', 'pod/solo', '--timeout=90s']).catch(withAgentLogs);

  const get = async (args: string[], path: string) => (await s.kubectl(['get', ...args, '-o', `jsonpath=${path}`])).stdout.trim();
  const clusterIP = await get(['service', 'web'], '{.spec.clusterIP}');
  const nodePort = await get(['service', 'web'], '{.spec.ports[0].nodePort}');
  const podsByName = new Map<string, { node: string; ip: string }>();
  for (const line of (await get(['pods', '-l', 'app=web'], '{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{"\\n"}{end}')).split('\n')) {
    const [name, node, ip] = line.split(' ');
    if (name && node && ip) podsByName.set(name, { node, ip });
  }
  /** Runs a shell command in a pod (busybox 1.35's `wget -T` segfaults: scripts bound wget with `timeout`). */
  const sh = async (pod: string, script: string) => s.kubectl(['exec', pod, '--', 'sh', '-c', script], { allowFail: true });
  /** The pod name a web answer starts with. */
  const answerer = (body: string) => body.trim().split(' ')[0] ?? '';

  t.test('the Deployment is spread over both hosts', async (t) => {
    t.equal(podsByName.size, 4, 'four web pods');
    const nodes = new Set([...podsByName.values()].map((p) => p.node));
    t.same([...nodes].sort(), [nodeA, nodeB].sort(), 'pods on both nodes');
  });

  t.test('pods get the cluster resolver', async (t) => {
    const conf = (await sh('client', 'cat /etc/resolv.conf')).stdout;
    t.match(conf, /^nameserver 10\.43\.0\.10$/m);
    t.match(conf, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
    t.match(conf, /^options ndots:5$/m);
    t.equal(await get(['service', '-n', 'kube-system', 'kube-dns'], '{.spec.clusterIP}'), '10.43.0.10', 'the kube-dns Service holds the address');
  });

  t.test('a pod reaches the Service by short name, full name and ClusterIP', async (t) => {
    for (const target of ['http://web', 'http://web.default.svc.cluster.local', `http://${clusterIP}`]) {
      const r = await sh('client', `timeout 5 wget -qO- ${target}`);
      t.equal(r.code, 0, `${target} answers (${r.stderr.trim()})`);
      t.ok(podsByName.has(answerer(r.stdout)), `${target} answered by a web pod: ${r.stdout.trim()}`);
    }
  });

  t.test('100 requests through the ClusterIP reach pods on both hosts', async (t) => {
    const r = await sh('client', `for i in $(seq 100); do timeout 5 wget -qO- http://${clusterIP}/ || echo FAIL; done`);
    const answers = r.stdout.trim().split('\n');
    t.equal(answers.length, 100, '100 answers');
    t.notOk(answers.includes('FAIL'), 'none failed');
    const seen = new Set(answers.map(answerer));
    const nodes = new Set([...seen].map((name) => podsByName.get(name)?.node));
    t.same([...nodes].sort(), [nodeA, nodeB].sort(), `answered from both hosts (pods ${[...seen].sort().join(', ')})`);
    t.ok(seen.size >= 3, `spread over the endpoints (${seen.size} of 4 answered)`);
  });

  t.test('cluster DNS: Services, headless Services, SRV, NXDOMAIN, forwarding', async (t) => {
    const a = await sh('client', 'nslookup web.default.svc.cluster.local 10.43.0.10');
    t.match(a.stdout, new RegExp(`Address: ${clusterIP.replace(/\./g, '\\.')}`), 'A record of the Service');
    const headless = await sh('client', 'nslookup web-headless.default.svc.cluster.local 10.43.0.10');
    for (const { ip } of podsByName.values()) t.match(headless.stdout, `Address: ${ip}`, `headless answer holds ${ip}`);
    const srv = await sh('client', 'nslookup -type=SRV _http._tcp.web.default.svc.cluster.local 10.43.0.10');
    t.match(srv.stdout, /port = 80\b|\s80\s+web\.default\.svc\.cluster\.local/, `SRV for the named port: ${srv.stdout}`);
    const missing = await sh('client', 'nslookup nosuch.default.svc.cluster.local 10.43.0.10');
    t.match(missing.stdout + missing.stderr, /NXDOMAIN/, 'an unknown cluster name is NXDOMAIN');
    const outside = await sh('client', 'nslookup outside.example 10.43.0.10');
    t.match(outside.stdout, 'Address: 192.0.2.10', `other names go to the node's resolvers (${outside.stdout}${outside.stderr})`);
    t.equal(outside.code, 0, 'and nslookup is satisfied with the answers');
    t.ok(stub.queries.includes('A outside.example'), 'the stub resolver saw the forwarded query');
  });

  t.test('the kubernetes Service reaches the API server', async (t) => {
    const r = await sh('client', 'nc -w 3 10.43.0.1 443 </dev/null && echo connected');
    t.match(r.stdout, 'connected', `TCP to 10.43.0.1:443 connects (${r.stderr.trim()})`);
  });

  t.test('a pod reaches itself through its own Service (hairpin)', async (t) => {
    // Not `http://solo`: the pod's /etc/hosts maps its own name to its own address, as the kubelet writes it.
    for (const target of ['solo.default.svc.cluster.local', await get(['service', 'solo'], '{.spec.clusterIP}')]) {
      const r = await sh('solo', `timeout 5 wget -qO- http://${target}`);
      t.equal(r.stdout.trim(), 'solo', `hairpin through ${target} (${r.stderr.trim()})`);
    }
  });

  t.test('a pod on host A reaches a pod IP on host B', async (t) => {
    const onB = [...podsByName.entries()].find(([, p]) => p.node === nodeB);
    t.ok(onB, 'a web pod on B');
    if (!onB) return;
    const r = await sh('client', `timeout 5 wget -qO- http://${onB[1].ip}:8080/`);
    t.equal(answerer(r.stdout), onB[0]);
  });

  t.test('a NodePort answers from the root namespace on both nodes', async (t) => {
    for (const host of [hostA, hostB]) {
      const r = await run('wget', ['-T', '5', '-qO-', `http://${host.ip}:${nodePort}/`], { allowFail: true });
      t.ok(podsByName.has(answerer(r.stdout)), `${host.ip}:${nodePort} answered by a web pod (${r.stdout.trim()}${r.stderr.trim()})`);
    }
  });

  t.test('a rolling update with a readiness probe drops no request', async (t) => {
    // The client loops through the Service (a new connection per request) for the whole rollout.
    await sh('client', 'rm -f /tmp/loop.log /tmp/stop; (while [ ! -e /tmp/stop ]; do timeout 5 wget -qO- http://web/ >>/tmp/loop.log 2>&1 || echo FAIL >>/tmp/loop.log; sleep 0.05; done) >/dev/null 2>&1 &');
    await s.kubectl(['set', 'env', 'deployment/web', '-c', 'web', 'VERSION=v2']);
    await s.kubectl(['rollout', 'status', 'deployment/web', '--timeout=180s']);
    // A few more requests, so v2 answers are in the log after the last old pod went.
    await new Promise((r) => setTimeout(r, 1500));
    await sh('client', 'touch /tmp/stop; sleep 1');
    const log = (await sh('client', 'cat /tmp/loop.log')).stdout.trim().split('\n');
    const failed = log.filter((l) => !/^web-\S+ v[12]$/.test(l));
    t.same(failed, [], `no request failed during the rollout (${log.length} requests)`);
    t.ok(log.some((l) => l.endsWith(' v1')) && log.some((l) => l.endsWith(' v2')), 'answers from both versions');
    // Answers from both versions (above) show the loop spanned the rollout; this, that it kept going.
    t.ok(log.length > 20, `the loop ran through the rollout (${log.length} requests)`);
  });

  t.test('scaled to zero, the Service rejects at once', async (t) => {
    await s.kubectl(['scale', 'deployment/web', '--replicas=0']);
    await poll('web endpoints emptied', 60_000, () => get(['endpoints', 'web'], '{.subsets}'), (v) => v === '');
    const r = await poll(
      'the ClusterIP to refuse',
      10_000,
      () => sh('client', `timeout 10 wget -qO- http://${clusterIP}/`),
      (v) => v.code !== 0,
    );
    t.match(r.stderr, /refused/i, `refused, not left hanging: ${r.stderr.trim()}`);
    t.equal(await connectError(hostB.ip, Number(nodePort)), 'ECONNREFUSED', 'the NodePort refuses too');
  });

  t.test('a stopped agent leaves the network up; orch cleanup removes all of it', async (t) => {
    await agentB.stop();
    const state = async () => ({
      table: (await hostB.exec(['nft', 'list', 'tables'])).stdout.includes('orch-proxy'),
      dnsLink: (await hostB.exec(['ip', 'link', 'show', 'orch-dns'], { allowFail: true })).code === 0,
      routes: (await hostB.exec(['ip', 'route', 'show', 'proto', '152'])).stdout.trim() !== '',
      chains: /ORCH-POSTROUTING|ORCH-FORWARD/.test((await hostB.exec(['iptables-save'])).stdout),
      network: (await hostB.docker.listNetworks()).some((n) => n.Name === `orch-${nodeB}`),
    });
    t.same(await state(), { table: true, dnsLink: true, routes: true, chains: true, network: true }, 'kept over an agent restart');
    const r = await hostB.exec([process.execPath, ORCH_BIN, 'cleanup', '--container-runtime-endpoint', hostB.dockerHost]);
    t.equal(r.code, 0, r.stderr);
    t.same(await state(), { table: false, dnsLink: false, routes: false, chains: false, network: false }, 'all removed');
  });

  t.test('tear-down leaves no namespace, daemon, route or rule behind', async (t) => {
    await s.kubectl(['delete', 'pod', 'client', 'solo', '--wait=false']);
    t.same(await destroyHosts([hostA, hostB]), [], 'nothing of the hosts, the segment or node networking left (no proxy table or DNS link in the root namespace either)');
  });
});
