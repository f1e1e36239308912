/**
 * A pod network made of network namespaces only, for benchmarks that need
 * real kernel packet paths: a "node" namespace that routes (ip_forward on,
 * no route outside, no link to the root namespace) and "pod" namespaces
 * joined to it by veth pairs, routed point-to-point as the CNI ptp plugin
 * does (pod: addr/32, default via the gateway; node: gateway/32 on every
 * host-side veth, a /32 route per pod). Every link is created inside the
 * namespaces, never in the root one, so deleting the namespaces removes all
 * of it, and no packet can leave the machine.
 *
 * Set-up is synchronous (execFileSync): it is a handful of `ip` calls, and a
 * synchronous destroy() is what a signal handler can run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** One network namespace of the topology. */
export interface BenchNetns {
  name: string;
  /** /var/run/netns/<name>, for nsenter --net= and nftRunner({ netns }). */
  path: string;
  /** Runs a command inside (nsenter --net, not `ip netns exec`, which remounts /sys) and returns its stdout; throws on failure. */
  exec(args: string[]): string;
  /** Sets a sysctl of this namespace (net.* keys are per namespace). */
  sysctl(key: string, value: string): void;
}

/** The namespaces a benchmark created, and the processes it runs inside them; destroy() removes all of it. */
export class NetnsPodNetwork {
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  /** `prefix` names every namespace `<prefix>-<tag>`; include the pid so concurrent runs cannot collide. */
  constructor(readonly prefix: string) {}

  /** Creates namespace `<prefix>-<tag>` with lo up. */
  add(tag: string): BenchNetns {
    const name = `${this.prefix}-${tag}`;
    execFileSync('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    const path = `/var/run/netns/${name}`;
    const ns: BenchNetns = {
      name,
      path,
      exec: (args) => execFileSync('nsenter', [`--net=${path}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
      sysctl: (key, value) => {
        ns.exec(['sysctl', '-q', '-w', `${key}=${value}`]);
      },
    };
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Creates a node namespace: forwards between its veths, and has no other link (so no route off the machine). */
  addNode(tag: string): BenchNetns {
    const node = this.add(tag);
    node.sysctl('net.ipv4.ip_forward', '1');
    return node;
  }

  /**
   * Joins `pod` to `node` by a veth pair: `eth0` in the pod with `podIP`/32
   * and a default route via `gateway`; `hostIf` in the node with
   * `gateway`/32 and a route to `podIP`/32.
   */
  connect(node: BenchNetns, pod: BenchNetns, hostIf: string, podIP: string, gateway: string): void {
    // Created inside the node namespace, the peer moved straight into the pod's: the root namespace never sees either end.
    node.exec(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.name]);
    node.exec(['ip', 'addr', 'add', `${gateway}/32`, 'dev', hostIf]);
    node.exec(['ip', 'link', 'set', hostIf, 'up']);
    node.exec(['ip', 'route', 'add', `${podIP}/32`, 'dev', hostIf, 'src', gateway]);
    pod.exec(['ip', 'addr', 'add', `${podIP}/32`, 'dev', 'eth0']);
    pod.exec(['ip', 'link', 'set', 'eth0', 'up']);
    pod.exec(['ip', 'route', 'add', gateway, 'dev', 'eth0', 'scope', 'link']);
    pod.exec(['ip', 'route', 'add', 'default', 'via', gateway, 'dev', 'eth0']);
  }

  /** Starts `file args` inside `ns`, tracked so destroy() kills it; output is piped. */
  spawnIn(ns: BenchNetns, file: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const child = spawn('nsenter', [`--net=${ns.path}`, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills what spawnIn started and deletes every namespace (with its veths and nft tables). Idempotent, never throws. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    for (const name of this.namespaces.reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        process.stderr.write(`warning: could not delete netns ${name}; remove it with \`ip netns del ${name}\`\n`);
      }
    }
  }
}

/**
 * Runs `cleanup` (synchronous) once: on SIGINT/SIGTERM/SIGHUP (then exits
 * 128+signal) and at process exit, so ctrl-C and crashes leave nothing behind.
 */
export function cleanupOnExit(cleanup: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    cleanup();
  };
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ];
  for (const [sig, n] of signals) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: cleaning up\n`);
      once();
      process.exit(128 + n);
    });
  }
  process.once('exit', once);
}
