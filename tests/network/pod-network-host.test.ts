/**
 * startPodNetwork against a real kernel and dockerd: a test host (its own
 * network namespace and daemon), the `ip`/`iptables` commands run inside it,
 * nodes from a fake source. Checks what lands in the kernel and Docker, and
 * that cleanup() takes exactly that away again.
 */
import t from 'tap';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startPodNetwork, type NodeSource } from '../../pkg/network/network.js';
import { dockerNetworkApi } from '../../pkg/network/docker-network.js';
import type { Run } from '../../pkg/network/kernel.js';
import { networkSpec } from '../../pkg/network/plan.js';
import { startTestHost, withBlackholeRoutes } from '../helpers/test-host.js';
import { TEST_IMAGE } from '../helpers/docker.js';

type Handler = { onAdd?(n: Node): void; onUpdate?(o: Node, n: Node): void; onDelete?(n: Node): void };

/** A settable node list with informer-style events. */
function nodeSource(initial: Node[]): NodeSource & { set(n: Node): void; remove(name: string): void } {
  const nodes = new Map(initial.map((n) => [n.metadata?.name ?? '', n]));
  const handlers = new Set<Handler>();
  return {
    list: () => [...nodes.values()],
    addEventHandler(h) {
      handlers.add(h);
      for (const n of nodes.values()) h.onAdd?.(n);
      return () => handlers.delete(h);
    },
    set(n) {
      const old = nodes.get(n.metadata?.name ?? '');
      nodes.set(n.metadata?.name ?? '', n);
      for (const h of handlers) if (old) h.onUpdate?.(old, n);
      else h.onAdd?.(n);
    },
    remove(name) {
      const old = nodes.get(name);
      nodes.delete(name);
      if (old) for (const h of handlers) h.onDelete?.(old);
    },
  };
}

const node = (name: string, podCIDR: string, ip: string): Node => ({
  metadata: { name },
  spec: { podCIDR, podCIDRs: [podCIDR] },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

t.test('the pod network in a real namespace with a real dockerd', async (t) => {
  await withBlackholeRoutes(t);
  const host = await startTestHost('pn', { t });
  const run: Run = (cmd, args, o) => host.exec([cmd, ...args], { allowFail: true, ...(o?.input !== undefined ? { input: o.input } : {}) });
  const docker = dockerNetworkApi(host.dockerHost);
  const peer = `10.99.${host.slot}.3`; // on the host's link: host-gw needs the gateway directly reachable
  const nodes = nodeSource([node('a', '10.42.0.0/24', host.ip), node('b', '10.42.1.0/24', peer), node('far', '10.42.7.0/24', '192.0.2.77')]);
  const logs: string[] = [];

  // A network of ours from an earlier podCIDR, with a container on it: replaced.
  const stale = networkSpec('a', '10.42.9.0/24');
  await docker.create(stale);
  const old = await host.docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: stale.name } });
  await old.start();

  const net = await startPodNetwork({ nodeName: 'a', nodes, docker, run, log: (m) => logs.push(m), resyncMs: 3_600_000 });
  t.teardown(() => net.stop());

  t.test('the Docker network: podCIDR, first address as gateway, our bridge, no Docker masquerade', async (t) => {
    const info = await host.docker.getNetwork('orch-a').inspect();
    t.same(info.IPAM?.Config?.[0], { Subnet: '10.42.0.0/24', Gateway: '10.42.0.1' });
    t.equal(info.Options?.['com.docker.network.bridge.name'], net.bridge);
    t.equal(info.Options?.['com.docker.network.bridge.enable_ip_masquerade'], 'false');
    t.same(Object.keys(info.Containers ?? {}), [], 'the old container was disconnected');
    t.match(logs.join('\n'), /does not match node a: subnet 10\.42\.9\.0\/24/);
    const nat = await host.exec(['iptables-save', '-t', 'nat']);
    t.notMatch(nat.stdout, /-A POSTROUTING -s 10\.42\.0\.0\/24/, "Docker's own masquerade is off for it");

    const c = await host.docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'orch-a' } });
    await c.start();
    const ci = await c.inspect();
    t.match(ci.NetworkSettings.Networks['orch-a']?.IPAddress ?? '', /^10\.42\.0\.\d+$/);
    const r = await host.exec(['ip', 'addr', 'show', net.bridge]);
    t.match(r.stdout, 'inet 10.42.0.1/24');
    await c.remove({ force: true });
  });

  t.test('routes to other nodes; an unreachable one is reported', async (t) => {
    const r = await host.exec(['ip', 'route', 'show', 'proto', '152']);
    t.equal(r.stdout.trim(), `10.42.1.0/24 via ${peer} dev eth0`);
    t.match(logs.join('\n'), /10\.42\.7\.0\/24 via 192\.0\.2\.77: .*host-gw needs every node on one L2 segment/);
    t.notMatch((await host.exec(['ip', 'route'])).stdout, /default/, 'still no way out');
  });

  t.test('the rules: our chains, jumped to once', async (t) => {
    const nat = (await host.exec(['iptables', '-t', 'nat', '-S'])).stdout;
    t.match(nat, /-A POSTROUTING -m comment --comment "orch pod network" -j ORCH-POSTROUTING/);
    t.match(nat, /-A ORCH-POSTROUTING -s 10\.42\.0\.0\/24 ! -d 10\.42\.0\.0\/16 .*-j MASQUERADE/);
    const filter = (await host.exec(['iptables', '-S'])).stdout;
    t.match(filter, /-A FORWARD -m comment --comment "orch pod network" -j ORCH-FORWARD/);
    t.match(filter, /-A ORCH-FORWARD -s 10\.42\.0\.0\/16 .*-j ACCEPT/);
    t.match(filter, /-A ORCH-FORWARD -d 10\.42\.0\.0\/16 .*-j ACCEPT/);
    await net.sync().catch(() => undefined); // the unreachable node makes it reject; the rules are rewritten anyway
    const again = (await host.exec(['iptables-save'])).stdout;
    t.equal(again.match(/-j ORCH-POSTROUTING/g)?.length, 1);
    t.equal(again.match(/-j ORCH-FORWARD/g)?.length, 1);
    t.equal(again.match(/-A ORCH-FORWARD/g)?.length, 2, 'rewritten, not appended to');
  });

  t.test('routes follow node changes', async (t) => {
    nodes.remove('far');
    nodes.set(node('c', '10.42.2.0/24', `10.99.${host.slot}.4`));
    await net.sync();
    nodes.remove('b');
    await net.sync();
    const r = await host.exec(['ip', 'route', 'show', 'proto', '152']);
    t.equal(r.stdout.trim(), `10.42.2.0/24 via 10.99.${host.slot}.4 dev eth0`);
  });

  t.test('cleanup removes what we added and keeps the rest', async (t) => {
    await host.exec(['ip', 'route', 'add', '10.42.3.0/24', 'via', peer]); // not ours: another protocol
    const dockerRulesBefore = (await host.exec(['iptables-save'])).stdout.split('\n').filter((l) => l.startsWith('-A') && /DOCKER/.test(l) && !/orch|10\.42\.0\.0\/24/.test(l) && !l.includes(net.bridge));
    await net.cleanup();
    const save = (await host.exec(['iptables-save'])).stdout;
    t.notMatch(save, /ORCH/);
    t.equal((await host.exec(['ip', 'route', 'show', 'proto', '152'])).stdout.trim(), '');
    t.match((await host.exec(['ip', 'route'])).stdout, `10.42.3.0/24 via ${peer}`, 'a route that is not ours stays');
    t.equal(await docker.inspect('orch-a'), undefined);
    t.not((await host.exec(['ip', 'link', 'show', net.bridge], { allowFail: true })).code, 0, 'bridge gone');
    const after = save.split('\n');
    for (const l of dockerRulesBefore) t.ok(after.includes(l), `kept: ${l}`);
  });
});
