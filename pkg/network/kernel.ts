/**
 * Routes and iptables rules of the pod network, through the `ip` and
 * `iptables` commands (injectable, so tests can record them or run them in
 * a network namespace). Our routes carry a protocol number of their own, so
 * we list and remove exactly ours and never a route someone else added.
 */
import { execFile } from 'node:child_process';
import { FORWARD_CHAIN, NAT_CHAIN, jumpRules, rulesRestoreInput, type Route } from './plan.js';

/** The result of a command; a non-zero code is returned, not thrown. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (argv, no shell) with optional stdin. */
export type Run = (cmd: string, args: string[], opts?: { input?: string }) => Promise<RunResult>;

/** Runs commands on this machine. */
export const execRun: Run = (cmd, args, opts = {}) =>
  new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
    });
    // A command that exits without reading its input must not take the process down with EPIPE.
    p.stdin?.on('error', () => {});
    if (opts.input !== undefined) p.stdin?.end(opts.input);
    else p.stdin?.end();
  });

/** The `ip route` protocol that marks our routes (unassigned in iproute2's rt_protos). */
export const ROUTE_PROTO = '152';

async function must(run: Run, cmd: string, args: string[], input?: string): Promise<RunResult> {
  const r = await run(cmd, args, input === undefined ? undefined : { input });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
  return r;
}

/** Our routes now in the main table. */
export async function listRoutes(run: Run): Promise<Route[]> {
  const r = await must(run, 'ip', ['-j', '-4', 'route', 'show', 'proto', ROUTE_PROTO]);
  const parsed: unknown = JSON.parse(r.stdout.trim() || '[]');
  if (!Array.isArray(parsed)) throw new Error(`ip -j route: unexpected output ${r.stdout.slice(0, 200)}`);
  const out: Route[] = [];
  for (const e of parsed) {
    if (typeof e === 'object' && e !== null && 'dst' in e && 'gateway' in e && typeof e.dst === 'string' && typeof e.gateway === 'string') {
      out.push({ cidr: e.dst, via: e.gateway });
    }
  }
  return out;
}

/** Adds or changes the route; an unreachable gateway says what host-gw needs. */
export async function replaceRoute(run: Run, r: Route): Promise<void> {
  const res = await run('ip', ['route', 'replace', r.cidr, 'via', r.via, 'proto', ROUTE_PROTO]);
  if (res.code === 0) return;
  const why = res.stderr.trim();
  const hint = /gateway|unreachable|Nexthop/i.test(why) ? ` (host-gw needs every node on one L2 segment: ${r.via} must be directly reachable)` : '';
  throw new Error(`ip route replace ${r.cidr} via ${r.via}: ${why}${hint}`);
}

/** Removes one of our routes; an already missing one is fine. */
export async function removeRoute(run: Run, r: Route): Promise<void> {
  const res = await run('ip', ['route', 'del', r.cidr, 'via', r.via, 'proto', ROUTE_PROTO]);
  if (res.code !== 0 && !/No such process|not found|Cannot find/i.test(res.stderr)) throw new Error(`ip route del ${r.cidr} via ${r.via}: ${res.stderr.trim()}`);
}

/** Writes our chains (one transaction) and makes sure the built-in chains jump to them once. */
export async function ensureRules(run: Run, podCIDR: string, clusterCidr: string): Promise<void> {
  await must(run, 'iptables-restore', ['-w', '--noflush'], rulesRestoreInput(podCIDR, clusterCidr));
  for (const j of jumpRules()) {
    const have = await run('iptables', ['-w', '-t', j.table, '-C', j.chain, ...j.spec]);
    if (have.code !== 0) await must(run, 'iptables', ['-w', '-t', j.table, '-A', j.chain, ...j.spec]);
  }
}

/** Removes our jumps and chains; what is already gone is skipped. */
export async function removeRules(run: Run): Promise<void> {
  for (const j of jumpRules()) {
    // A jump added twice (by hand, or a crash between -C and -A) goes too.
    for (let i = 0; i < 10; i++) {
      const have = await run('iptables', ['-w', '-t', j.table, '-C', j.chain, ...j.spec]);
      if (have.code !== 0) break;
      await must(run, 'iptables', ['-w', '-t', j.table, '-D', j.chain, ...j.spec]);
    }
  }
  for (const [table, chain] of [['nat', NAT_CHAIN], ['filter', FORWARD_CHAIN]] as const) {
    const exists = await run('iptables', ['-w', '-t', table, '-S', chain]);
    if (exists.code !== 0) continue;
    await must(run, 'iptables', ['-w', '-t', table, '-F', chain]);
    await must(run, 'iptables', ['-w', '-t', table, '-X', chain]);
  }
}

/**
 * Turns hairpin mode on for every port of `bridge` that lacks it. A pod
 * that reaches itself through its own Service leaves by its veth and, once
 * DNAT'ed back to its own address, must come back in by the same port; a
 * bridge sends a frame out of the port it came in on only in hairpin mode
 * (the kubelet's --hairpin-mode=hairpin-veth). Returns the ports changed.
 */
export async function enableHairpin(run: Run, bridge: string): Promise<string[]> {
  const r = await run('ip', ['-d', '-j', 'link', 'show', 'master', bridge]);
  // The bridge is gone (the network is being replaced): nothing to do.
  if (r.code !== 0) return [];
  const parsed: unknown = JSON.parse(r.stdout.trim() || '[]');
  if (!Array.isArray(parsed)) throw new Error(`ip -j link: unexpected output ${r.stdout.slice(0, 200)}`);
  const changed: string[] = [];
  for (const port of parsed) {
    if (typeof port !== 'object' || port === null || !('ifname' in port) || typeof port.ifname !== 'string') continue;
    const slave: unknown = 'linkinfo' in port && typeof port.linkinfo === 'object' && port.linkinfo !== null && 'info_slave_data' in port.linkinfo ? port.linkinfo.info_slave_data : undefined;
    if (typeof slave === 'object' && slave !== null && 'hairpin' in slave && slave.hairpin === true) continue;
    const res = await run('ip', ['link', 'set', 'dev', port.ifname, 'type', 'bridge_slave', 'hairpin', 'on']);
    // A port can vanish between the listing and the change (its pod stopped).
    if (res.code === 0) changed.push(port.ifname);
    else if (!/Cannot find device|does not exist/i.test(res.stderr)) throw new Error(`hairpin on ${port.ifname}: ${res.stderr.trim()}`);
  }
  return changed;
}
