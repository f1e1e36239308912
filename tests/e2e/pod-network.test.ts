/**
 * The pod network end to end: `orch server` (control plane only) and two
 * `orch agent`s (host-gw is their default pod network), each on a test host on one
 * shared L2 segment. Pods get addresses from their node's podCIDR and reach
 * each other across nodes by the routes the agents keep; the hosts still
 * have no route out, and tear-down leaves nothing behind.
 */
import t from 'tap';
import { poll } from '../helpers/wait.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { destroyHosts, run, startTestHost, withBlackholeRoutes, type TestHost } from '../helpers/test-host.js';
import { TEST_IMAGE } from '../helpers/docker.js';
import { ipInCidr } from '../../pkg/network/plan.js';

async function jsonpath(s: ServerProcess, args: string[], path: string): Promise<string> {
  const r = await s.kubectl([...args, '-o', `jsonpath=${path}`], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : '';
}

/** A busybox httpd pod pinned to a node, answering its own name on :8080 and the caller's address at /cgi-bin/ip. */
const pod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: pn}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${TEST_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /tmp/www/cgi-bin && echo ${name} > /tmp/www/index.html && printf ''#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $REMOTE_ADDR\\n'' > /tmp/www/cgi-bin/ip && chmod +x /tmp/www/cgi-bin/ip && exec httpd -f -p 8080 -h /tmp/www']
    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
---
`;

t.test('pods on two hosts reach each other over the host-gw pod network', async (t) => {
  await withBlackholeRoutes(t);
  const hostA = await startTestHost('pna', { t, segment: true });
  const hostB = await startTestHost('pnb', { t, segment: true });
  const s = await startServerProcess(['--tls-san', hostA.rootIP], undefined, { bindAddress: hostA.rootIP });
  t.teardown(() => s.close());
  const token = readFileSync(join(s.dataDir, 'server', 'node-token'), 'utf8').trim();
  const serverUrl = `https://${hostA.rootIP}:${s.port}`;
  const [agentA, agentB] = await Promise.all([hostA.startAgent(serverUrl, token), hostB.startAgent(serverUrl, token)]);
  const nodeA = agentA.nodeName;
  const nodeB = agentB.nodeName;
  const hosts: [TestHost, string][] = [
    [hostA, nodeA],
    [hostB, nodeB],
  ];

  const cidrOf = async (node: string) => poll(`podCIDR of ${node}`, 30_000, () => jsonpath(s, ['get', 'node', node], '{.spec.podCIDR}'), (v) => v !== '');
  const cidrA = await cidrOf(nodeA);
  const cidrB = await cidrOf(nodeB);

  t.test('each agent sets up its node: network, routes to the other, rules; still no way out', async (t) => {
    t.not(cidrA, cidrB);
    for (const [host, node] of hosts) {
      const other = host === hostA ? { cidr: cidrB, ip: hostB.ip } : { cidr: cidrA, ip: hostA.ip };
      const own = host === hostA ? cidrA : cidrB;
      const agent = host === hostA ? agentA : agentB;
      await poll(`route on ${node}`, 30_000, async () => (await host.exec(['ip', 'route', 'show', other.cidr])).stdout.trim(), (v) => v.startsWith(`${other.cidr} via ${other.ip} dev eth0`)).catch((e: unknown) => {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\nagent ${node}:\n${agent.output()}`);
      });
      const net = await host.docker.getNetwork(`orch-${node}`).inspect();
      t.equal(net.IPAM?.Config?.[0]?.Subnet, own, `${node}: network on its podCIDR`);
      const routes = (await host.exec(['ip', 'route', 'show'])).stdout;
      t.notMatch(routes, /default/, `${node}: no default route`);
      t.not((await host.exec(['ip', 'route', 'get', '192.0.2.1'], { allowFail: true })).code, 0, `${node}: nothing outside is routable`);
      const save = (await host.exec(['iptables-save'])).stdout;
      t.match(save, `-A ORCH-POSTROUTING -s ${own} ! -d 10.42.0.0/16`);
      t.match(save, '-A FORWARD -m comment --comment "orch pod network" -j ORCH-FORWARD');
    }
    t.match(agentA.output(), `uses Docker network orch-${nodeA} (${cidrA}`);
    for (const ip of ['10.42.7.7', '10.43.0.1']) {
      const r = await run('ip', ['route', 'get', ip], { allowFail: true });
      t.not(r.code, 0, `${ip} is blackholed in the root namespace`);
    }
  });

  await s.kubectl(['apply', '-f', '-'], { input: pod('a1', nodeA) + pod('a2', nodeA) + pod('b1', nodeB) });
  await s.kubectl(['wait', '--for=condition=Ready', 'pod/a1', 'pod/a2', 'pod/b1', '--timeout=90s']);
  const ipOf = async (name: string) => jsonpath(s, ['get', 'pod', name], '{.status.podIP}');
  const ips = { a1: await ipOf('a1'), a2: await ipOf('a2'), b1: await ipOf('b1') };

  t.test("pod IPs come from their node's podCIDR", async (t) => {
    t.ok(ipInCidr(ips.a1, cidrA), `a1 ${ips.a1} in ${cidrA}`);
    t.ok(ipInCidr(ips.a2, cidrA), `a2 ${ips.a2} in ${cidrA}`);
    t.ok(ipInCidr(ips.b1, cidrB), `b1 ${ips.b1} in ${cidrB}`);
    const inPod = await s.kubectl(['exec', 'b1', '--', 'ip', '-4', 'addr', 'show', 'eth0']);
    t.match(inPod.stdout, `inet ${ips.b1}/24`);
  });

  t.test('a pod reaches pods on the other node and on its own', async (t) => {
    const get = async (from: string, ip: string) => (await s.kubectl(['exec', from, '--', 'timeout', '5', 'wget', '-qO-', `http://${ip}:8080/`], { allowFail: true })).stdout.trim();
    t.equal(await get('a1', ips.b1), 'b1', 'A → B');
    t.equal(await get('b1', ips.a1), 'a1', 'B → A');
    t.equal(await get('b1', ips.a2), 'a2', 'B → the other pod on A');
    t.equal(await get('a1', ips.a2), 'a2', 'A → A');
  });

  t.test('traffic keeps the pod address inside the cluster', async (t) => {
    // httpd listens on IPv6 and reports an IPv4 peer as [::ffff:a.b.c.d].
    const caller = async (from: string, ip: string) =>
      (await s.kubectl(['exec', from, '--', 'timeout', '5', 'wget', '-qO-', `http://${ip}:8080/cgi-bin/ip`], { allowFail: true })).stdout.trim().replace(/^\[::ffff:(.*)\]$/, '$1');
    t.equal(await caller('a1', ips.b1), ips.a1, 'B sees A’s pod address (no masquerade between nodes)');
    t.equal(await caller('b1', ips.a2), ips.b1, 'and the other way');
    t.equal(await caller('a2', ips.a1), ips.a2, 'on one node');
  });

  t.test('when a node goes, the other drops its route', async (t) => {
    await s.kubectl(['delete', 'pod', 'b1', '--wait=false']);
    await agentB.stop();
    await s.kubectl(['delete', 'node', nodeB]);
    await poll(`route to ${cidrB} on A removed`, 30_000, async () => (await hostA.exec(['ip', 'route', 'show', cidrB])).stdout.trim(), (v) => v === '');
    t.pass('removed');
  });

  t.test('tear-down leaves no namespace, link, route or rule behind', async (t) => {
    await s.kubectl(['delete', 'pod', 'a1', 'a2', '--wait=false']);
    t.same(await destroyHosts([hostA, hostB]), [], 'nothing of the hosts, the segment or the pod network left (none of its chains in the root namespace either)');
  });
});
