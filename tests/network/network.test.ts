/**
 * startPodNetwork against a fake kernel (the `ip`/`iptables` commands it
 * runs, modelled) and a fake Docker: the order of things, idempotence, and
 * following nodes. tests/network/pod-network-host.test.ts runs the same
 * against a real kernel and dockerd in a test host.
 */
import t from 'tap';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startPodNetwork, type NodeSource } from '../../pkg/network/network.js';
import type { NetworkApi } from '../../pkg/network/docker-network.js';
import type { Run, RunResult } from '../../pkg/network/kernel.js';
import { networkSpec, type NetworkSpec, type ObservedNetwork } from '../../pkg/network/plan.js';

const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, code = 1): RunResult => ({ code, stdout: '', stderr });

/** The parts of `ip route` and `iptables` the pod network uses. */
class FakeKernel {
  routes = new Map<string, string>();
  /** Gateways `ip route replace` refuses (not on a connected network). */
  unreachable = new Set<string>();
  /** Rules of built-in chains: "table chain spec…". */
  builtin: string[] = ['filter FORWARD -j DOCKER-USER', 'nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE'];
  chains = new Map<string, string[]>();
  log: string[] = [];

  run: Run = async (cmd, args, opts) => {
    this.log.push([cmd, ...args].join(' '));
    if (cmd === 'ip') return this.ip(args);
    if (cmd === 'iptables-restore') return this.restore(opts?.input ?? '');
    if (cmd === 'iptables') return this.iptables(args);
    return fail(`${cmd}: not found`, 127);
  };

  private ip(a: string[]): RunResult {
    const s = a.join(' ');
    if (s === '-j -4 route show proto 152') return ok(JSON.stringify([...this.routes].map(([dst, gateway]) => ({ dst, gateway, dev: 'eth0', flags: [] }))));
    let m = /^route replace (\S+) via (\S+) proto 152$/.exec(s);
    if (m) {
      if (this.unreachable.has(m[2]!)) return fail('Error: Nexthop has invalid gateway.', 2);
      this.routes.set(m[1]!, m[2]!);
      return ok();
    }
    m = /^route del (\S+) via (\S+) proto 152$/.exec(s);
    if (m) {
      if (this.routes.get(m[1]!) !== m[2]) return fail('RTNETLINK answers: No such process', 2);
      this.routes.delete(m[1]!);
      return ok();
    }
    return fail(`unexpected: ip ${s}`);
  }

  private restore(input: string): RunResult {
    let table = '';
    const next = new Map(this.chains);
    for (const line of input.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':')) next.set(`${table} ${line.slice(1).split(' ')[0]!}`, []);
      else if (line.startsWith('-A ')) {
        const [, chain, ...rest] = line.split(' ');
        const rules = next.get(`${table} ${chain!}`);
        if (!rules) return fail(`chain ${chain!} not declared`);
        rules.push(rest.join(' '));
      }
    }
    this.chains = next;
    return ok();
  }

  private iptables(a: string[]): RunResult {
    if (a[0] !== '-w' || a[1] !== '-t') return fail('want -w -t');
    const [table, op, chain, ...spec] = a.slice(2);
    const rule = `${table!} ${chain!} ${spec.join(' ')}`;
    const key = `${table!} ${chain!}`;
    switch (op) {
      case '-C':
        return this.builtin.includes(rule) ? ok() : fail('Bad rule (does a matching rule exist in that chain?).');
      case '-A':
        this.builtin.push(rule);
        return ok();
      case '-D': {
        const i = this.builtin.indexOf(rule);
        if (i < 0) return fail('Bad rule');
        this.builtin.splice(i, 1);
        return ok();
      }
      case '-S':
        return this.chains.has(key) ? ok(`-N ${chain!}\n`) : fail(`iptables: No chain/target/match by that name.`);
      case '-F':
        if (!this.chains.has(key)) return fail('No chain');
        this.chains.set(key, []);
        return ok();
      case '-X':
        if ((this.chains.get(key) ?? []).length > 0) return fail('Directory not empty');
        if (this.builtin.some((r) => r.startsWith(`${table!} `) && r.endsWith(`-j ${chain!}`))) return fail('Too many links');
        this.chains.delete(key);
        return ok();
    }
    return fail(`unexpected: iptables ${a.join(' ')}`);
  }

  jumps(): string[] {
    return this.builtin.filter((r) => / -j ORCH-/.test(r));
  }
}

class FakeDocker implements NetworkApi {
  nets = new Map<string, ObservedNetwork>();
  created: NetworkSpec[] = [];
  async inspect(name: string) {
    const n = this.nets.get(name);
    return n ? structuredClone(n) : undefined;
  }
  async create(spec: NetworkSpec) {
    if (this.nets.has(spec.name)) throw new Error(`network with name ${spec.name} already exists`);
    this.created.push(spec);
    this.nets.set(spec.name, { id: `id-${this.created.length}`, subnet: spec.subnet, gateway: spec.gateway, options: { ...spec.options }, labels: { ...spec.labels }, containers: [] });
  }
  async disconnect(name: string, id: string) {
    const n = this.nets.get(name);
    if (n) n.containers = n.containers.filter((c) => c !== id);
  }
  async remove(name: string) {
    const n = this.nets.get(name);
    if (n && n.containers.length > 0) throw new Error(`network ${name} has active endpoints`);
    this.nets.delete(name);
  }
}

class FakeNodes implements NodeSource {
  private readonly nodes = new Map<string, Node>();
  private readonly handlers = new Set<{ onAdd?(n: Node): void; onUpdate?(o: Node, n: Node): void; onDelete?(n: Node): void }>();
  list() {
    return [...this.nodes.values()];
  }
  hasSynced() {
    return true;
  }
  addEventHandler(h: { onAdd?(n: Node): void; onUpdate?(o: Node, n: Node): void; onDelete?(n: Node): void }) {
    this.handlers.add(h);
    for (const n of this.nodes.values()) h.onAdd?.(n);
    return () => this.handlers.delete(h);
  }
  set(name: string, podCIDR: string | undefined, ip: string, ready = 'True'): void {
    const n: Node = {
      metadata: { name },
      spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
      status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready }] },
    };
    const old = this.nodes.get(name);
    this.nodes.set(name, n);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, n);
      else h.onAdd?.(n);
    }
  }
  delete(name: string): void {
    const old = this.nodes.get(name);
    if (!old) return;
    this.nodes.delete(name);
    for (const h of this.handlers) h.onDelete?.(old);
  }
  get handlerCount(): number {
    return this.handlers.size;
  }
}

/** Polls until cond holds (the pod network reacts to events asynchronously). */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

function setup() {
  const kernel = new FakeKernel();
  const docker = new FakeDocker();
  const nodes = new FakeNodes();
  const logs: string[] = [];
  const start = (extra: { signal?: AbortSignal } = {}) =>
    startPodNetwork({ nodeName: 'a', nodes, docker, run: kernel.run, clusterCidr: '10.42.0.0/16', log: (m) => logs.push(m), resyncMs: 3_600_000, ...extra });
  return { kernel, docker, nodes, logs, start };
}

t.test('waits for the podCIDR, then creates the network, rules and routes', async (t) => {
  const { kernel, docker, nodes, start } = setup();
  nodes.set('a', undefined, '10.99.0.2');
  nodes.set('b', '10.42.1.0/24', '10.99.0.3');
  let settled = false;
  const p = start().finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(settled, 'still waiting without a podCIDR');
  t.same(docker.created, [], 'nothing created before');
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  const net = await p;
  t.teardown(() => net.stop());
  t.equal(net.network, 'orch-a');
  t.equal(net.podCIDR, '10.42.0.0/24');
  t.equal(net.gateway, '10.42.0.1');
  t.match(net.bridge, /^orch[0-9a-f]{8}$/);
  t.same(docker.created, [networkSpec('a', '10.42.0.0/24')]);
  t.same([...kernel.routes], [['10.42.1.0/24', '10.99.0.3']]);
  t.same(kernel.chains.get('nat ORCH-POSTROUTING')?.length, 1);
  t.same(kernel.chains.get('filter ORCH-FORWARD')?.length, 2);
  t.same(kernel.jumps(), ['nat POSTROUTING -m comment --comment orch pod network -j ORCH-POSTROUTING', 'filter FORWARD -m comment --comment orch pod network -j ORCH-FORWARD']);
  t.ok(kernel.builtin.includes('filter FORWARD -j DOCKER-USER'), "Docker's rules untouched");
});

t.test('routes follow nodes as they come, change and go; heartbeats cost nothing', async (t) => {
  const { kernel, nodes, start } = setup();
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  const net = await start();
  t.teardown(() => net.stop());
  t.same([...kernel.routes], []);
  // A forced pass while an event's pass runs must not leave the event path stuck.
  nodes.set('b', undefined, '10.99.0.3');
  await net.sync();
  nodes.set('b', '10.42.1.0/24', '10.99.0.3');
  await until('route to b', () => kernel.routes.get('10.42.1.0/24') === '10.99.0.3');
  nodes.set('c', '10.42.2.0/24', '10.99.0.4');
  await until('route to c', () => kernel.routes.get('10.42.2.0/24') === '10.99.0.4');

  const before = kernel.log.length;
  nodes.set('b', '10.42.1.0/24', '10.99.0.3', 'False'); // a status update, same range and address
  await new Promise((r) => setTimeout(r, 50));
  t.same(kernel.log.slice(before), [], 'no command for an update that changes neither range nor address');

  nodes.set('b', '10.42.1.0/24', '10.99.0.13');
  await until('route to b moved', () => kernel.routes.get('10.42.1.0/24') === '10.99.0.13');
  nodes.delete('c');
  await until('route to c gone', () => !kernel.routes.has('10.42.2.0/24'));
  t.same([...kernel.routes], [['10.42.1.0/24', '10.99.0.13']]);
});

t.test('a restart is idempotent and prunes routes of nodes deleted meanwhile', async (t) => {
  const { kernel, docker, nodes, start } = setup();
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  nodes.set('b', '10.42.1.0/24', '10.99.0.3');
  nodes.set('c', '10.42.2.0/24', '10.99.0.4');
  const first = await start();
  await first.stop();
  t.equal(nodes.handlerCount, 0, 'stop unsubscribes');
  t.equal(kernel.routes.size, 2, 'stop leaves routes (pods keep working)');
  nodes.delete('c');
  const second = await start();
  t.teardown(() => second.stop());
  t.equal(docker.created.length, 1, 'the matching network is kept');
  t.equal(kernel.jumps().length, 2, 'no second jump');
  t.same([...kernel.routes], [['10.42.1.0/24', '10.99.0.3']]);
});

t.test('a network of ours that does not match is recreated; someone else’s is refused', async (t) => {
  const { docker, nodes, logs, start } = setup();
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  const stale = networkSpec('a', '10.42.9.0/24');
  docker.nets.set('orch-a', { id: 'old', subnet: stale.subnet, gateway: stale.gateway, options: stale.options, labels: stale.labels, containers: ['c1', 'c2'] });
  const net = await start();
  await net.stop();
  t.equal(docker.nets.get('orch-a')?.subnet, '10.42.0.0/24');
  t.same(docker.nets.get('orch-a')?.containers, []);
  t.match(logs.join('\n'), /does not match node a: subnet 10\.42\.9\.0\/24 \(want 10\.42\.0\.0\/24\).*2 containers disconnected/);

  docker.nets.set('orch-a', { id: 'theirs', subnet: '10.42.0.0/24', gateway: '10.42.0.1', options: {}, labels: {}, containers: [] });
  await t.rejects(start(), /exists that orch did not create/);
  t.equal(docker.nets.get('orch-a')?.id, 'theirs', 'left alone');
});

t.test('an unreachable node is reported and retried; the others get their routes', async (t) => {
  const { kernel, nodes, logs, start } = setup();
  kernel.unreachable.add('192.168.7.7');
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  nodes.set('far', '10.42.5.0/24', '192.168.7.7');
  nodes.set('b', '10.42.1.0/24', '10.99.0.3');
  const net = await start();
  t.teardown(() => net.stop());
  t.same([...kernel.routes], [['10.42.1.0/24', '10.99.0.3']]);
  t.match(logs.join('\n'), /10\.42\.5\.0\/24 via 192\.168\.7\.7: Error: Nexthop has invalid gateway\. \(host-gw needs every node on one L2 segment/);
  await t.rejects(net.sync(), /Nexthop/);
  kernel.unreachable.clear();
  await net.sync();
  t.equal(kernel.routes.get('10.42.5.0/24'), '192.168.7.7');
});

t.test('cleanup removes our routes, jumps, chains and network, and nothing else', async (t) => {
  const { kernel, docker, nodes, start } = setup();
  nodes.set('a', '10.42.0.0/24', '10.99.0.2');
  nodes.set('b', '10.42.1.0/24', '10.99.0.3');
  docker.nets.set('bridge', { id: 'def', options: {}, labels: {}, containers: [] });
  const net = await start();
  await net.cleanup();
  t.same([...kernel.routes], []);
  t.same(kernel.jumps(), []);
  t.same([...kernel.chains.keys()], []);
  t.same([...docker.nets.keys()], ['bridge']);
  t.same(kernel.builtin, ['filter FORWARD -j DOCKER-USER', 'nat POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE']);
  await net.cleanup(); // twice is fine
});

t.test('the wait for a podCIDR ends when aborted; a podCIDR outside the cluster CIDR is refused', async (t) => {
  const { nodes, start } = setup();
  nodes.set('a', undefined, '10.99.0.2');
  const ac = new AbortController();
  const p = start({ signal: ac.signal });
  ac.abort();
  await t.rejects(p, /stopped while waiting for the podCIDR of node a/);
  t.equal(nodes.handlerCount, 0);
  nodes.set('a', '10.50.0.0/24', '10.99.0.2');
  await t.rejects(start(), /not inside the cluster CIDR 10\.42\.0\.0\/16/);
});
