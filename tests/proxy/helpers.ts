/** Proxy test helpers: Service/Endpoints builders and a scratch network namespace. */
import { execFile } from 'node:child_process';
import type { EndpointSubset, Endpoints, Service, ServicePort } from 'kubernetes-types/core/v1.js';

/** A Service in `default` (ClusterIP unless spec says otherwise). */
export function svc(name: string, clusterIP: string, ports: ServicePort[], extra: Partial<NonNullable<Service['spec']>> = {}, labels?: Record<string, string>): Service {
  return {
    metadata: { namespace: 'default', name, ...(labels ? { labels } : {}) },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports, ...extra },
  };
}

/** Endpoints in `default` with these subsets. */
export function eps(name: string, subsets: EndpointSubset[]): Endpoints {
  return { metadata: { namespace: 'default', name }, subsets };
}

/** One subset: ready addresses `ips` on the given ports. */
export function subset(ips: string[], ports: { name?: string; port: number; protocol?: string }[], notReady: string[] = []): EndpointSubset {
  return {
    addresses: ips.map((ip) => ({ ip })),
    ...(notReady.length ? { notReadyAddresses: notReady.map((ip) => ({ ip })) } : {}),
    ports,
  };
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never rejects (the code says how it went). */
export function cmd(file: string, args: string[], input?: string, timeoutMs = 30_000): Promise<CmdResult> {
  return new Promise((resolve) => {
    const p = execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) p.stdin?.end(input);
  });
}

/** A scratch network namespace, deleted at teardown. */
export interface Netns {
  name: string;
  path: string;
  /** Runs a command inside it (nsenter --net, not `ip netns exec`, which remounts /sys). */
  exec(args: string[], input?: string): Promise<CmdResult>;
}

/** Creates netns `orchtp-<pid>-<tag>` with lo up; registers its deletion on t.teardown. */
export async function scratchNetns(t: { teardown(fn: () => unknown): void }, tag: string): Promise<Netns> {
  const name = `orchtp-${process.pid}-${tag}`;
  const path = `/var/run/netns/${name}`;
  const add = await cmd('ip', ['netns', 'add', name]);
  if (add.code !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  t.teardown(async () => {
    await cmd('ip', ['netns', 'del', name]);
  });
  const ns: Netns = { name, path, exec: (args, input) => cmd('nsenter', [`--net=${path}`, ...args], input) };
  const up = await ns.exec(['ip', 'link', 'set', 'lo', 'up']);
  if (up.code !== 0) throw new Error(`lo up: ${up.stderr}`);
  return ns;
}
