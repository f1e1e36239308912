/**
 * Test hosts: a network namespace with its own dockerd, standing in for a
 * worker machine. Each host gets slot n (1..250), claimed atomically with a
 * state file, and from it everything else:
 *   - netns `orcht<n>-<name>`, joined to the root namespace by a veth pair
 *     (root side `orcht<n>`, 10.99.<n>.1/24; host side `eth0`, 10.99.<n>.2/24);
 *     the host has no default route, so it reaches nothing but the root-side
 *     address (where the test's server listens) — and the service range
 *     10.43/16, routed to the root namespace as a node's default route would,
 *     where it is blackholed (withBlackholeRoutes, held while any host lives);
 *   - a dockerd in it (`nsenter --net`: `ip netns exec` remounts /sys and
 *     dockerd then fails), docker0 on 10.98.<n>.1/24, socket
 *     /run/orch-test/<netns>.sock, data under /var/lib/orch-test/<netns>.
 *
 * dockerd keeps its default --iptables=true: that is how Docker runs on a real
 * node (the pod network and proxy must coexist with its chains and FORWARD
 * policy), and its rules land in the namespace's own netfilter tables, which
 * the kernel drops with the namespace; nothing is written in the root's.
 *
 * With `segment: true` a host is instead on one shared L2 segment with the
 * other such hosts and the root namespace (what host-gw pod routing needs:
 * host A routes to host B's pod range via B's address): root 10.99.0.1/24,
 * host n 10.99.0.<n+1>/24. The segment is macvlan (bridge mode) over a veth
 * pair `orchtseg0`/`orchtseg1` in the root namespace, root's own address on
 * macvlan `orchtseg`. Not a Linux bridge: with br_netfilter on (Docker turns
 * bridge-nf-call-iptables on), bridged frames pass the root's FORWARD chain,
 * whose policy Docker sets to DROP. The last segment host out removes it.
 *
 * Tear-down removes containers, stops dockerd, unmounts what it left, deletes
 * the veth, the namespace and the data; a host whose owner process is gone (a
 * crashed run) is torn down the same way by the next startTestHost.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ensureTestImage, testDocker, TEST_IMAGE } from './docker.js';
import { ORCH_BIN } from './server-process.js';
import { NODE_FLAGS } from '../../pkg/util/heap.js';

const RUN_DIR = '/run/orch-test';
const LIB_DIR = '/var/lib/orch-test';
const NETNS_DIR = '/var/run/netns';
const PREFIX = 'orcht';
const MAX_SLOT = 250;

/** Result of a command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects on a non-zero exit unless allowFail. */
export function run(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const p = execFile(cmd, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      if (code !== 0 && !opts.allowFail) rej(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr}${stdout}`));
      else res({ code, stdout, stderr });
    });
    if (opts.input !== undefined) p.stdin?.end(opts.input);
  });
}

/** What t.teardown looks like (a tap Test). */
export interface TeardownHost {
  teardown(fn: () => unknown): void;
}

export interface TestHostOptions {
  /** Registers destroy() here (e.g. the tap test), so a failing test still tears down. */
  t?: TeardownHost;
  /** Images copied from the main daemon into the host's (default [TEST_IMAGE]; built when missing). */
  images?: string[];
  /** dockerd --iptables (default true, see the file comment). */
  iptables?: boolean;
  /** Put the host on the shared L2 segment 10.99.0.0/24 instead of a veth of its own (see the file comment). */
  segment?: boolean;
}

export interface AgentProcessOptions {
  /** Default: `<host name>-node`. */
  nodeName?: string;
  /** Default: /var/lib/orch-test/<netns>/agent-<node>. */
  dataDir?: string;
  /** Extra `orch agent` flags. */
  args?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
  /**
   * --resolv-conf of the agent (where its DNS server forwards other names).
   * Default: a file naming the host's rootIP, where a test's stub resolver
   * listens (nothing answers there otherwise: a query fails at once, on this machine).
   */
  resolvConf?: string;
  /** Wait until the agent logs that its node registered (default true). */
  waitRegistered?: boolean;
}

/** An `orch agent` process running inside a test host. */
export interface AgentProcess {
  child: ChildProcess;
  nodeName: string;
  dataDir: string;
  output(): string;
  /** Resolves when the process has exited, with its code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until the output matches (rejects if the agent exits first or after ms). */
  waitOutput(re: RegExp, ms?: number): Promise<void>;
  /** SIGTERM (containers keep running), SIGKILL after 10 s; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a machine that died. */
  kill(): Promise<void>;
}

export interface TestHost {
  /** The namespace name, orcht<n>-<name>. */
  name: string;
  slot: number;
  /** Root-side address where the host reaches the server (its veth, or 10.99.0.1 on the shared segment). */
  rootIP: string;
  /** The host's own address (its node IP). */
  ip: string;
  /** Root-side veth device name (with segment: the name its macvlan had before moving in; gone after setup). */
  rootLink: string;
  /** docker0 inside the host (--bip). */
  bridgeCidr: string;
  /** unix:///run/orch-test/<name>.sock */
  dockerHost: string;
  socketPath: string;
  dataDir: string;
  /** A dockerode client of the host's daemon. */
  docker: Docker;
  /** Runs a command inside the host's network namespace. */
  exec(cmd: string[], opts?: { allowFail?: boolean; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Starts `orch agent` inside the host, on the host's Docker. */
  startAgent(serverUrl: string, token: string, opts?: AgentProcessOptions): Promise<AgentProcess>;
  /** Stops agents and dockerd, removes containers, mounts, veth, namespace and data. Idempotent. */
  destroy(): Promise<void>;
}

interface SlotState {
  pid: number;
  name: string;
  /** On the shared segment: it must stay while this slot is claimed. */
  segment?: boolean;
}

const slotFile = (n: number) => join(RUN_DIR, `slot-${n}.json`);
const rootLinkName = (n: number) => `${PREFIX}${n}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readSlot(n: number): SlotState | undefined {
  try {
    const v: unknown = JSON.parse(readFileSync(slotFile(n), 'utf8'));
    if (typeof v === 'object' && v !== null && 'pid' in v && 'name' in v && typeof v.pid === 'number' && typeof v.name === 'string') {
      return { pid: v.pid, name: v.name, ...('segment' in v && v.segment === true ? { segment: true } : {}) };
    }
  } catch {
    // missing or half-written: treated as no owner
  }
  return undefined;
}

/** Network namespaces named like ours. */
function ourNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => new RegExp(`^${PREFIX}\\d+-`).test(n));
  } catch {
    return [];
  }
}

const slotOfName = (name: string): number => Number(/^orcht(\d+)-/.exec(name)?.[1] ?? NaN);

/** Mount points at or under one of the dirs, deepest first. */
function mountsUnder(dirs: string[]): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && dirs.some((d) => mp === d || mp.startsWith(d + '/'))) out.push(mp.replace(/\\040/g, ' '));
  }
  return out.sort((a, b) => b.length - a.length);
}

async function netnsPids(name: string): Promise<number[]> {
  if (!existsSync(join(NETNS_DIR, name))) return [];
  const r = await run('ip', ['netns', 'pids', name], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup dirs Docker (cgroupfs driver) made for a container, in every hierarchy. */
function containerCgroups(id: string): string[] {
  let hierarchies: string[];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return [];
  }
  return [...hierarchies.map((h) => join(CGROUP_ROOT, h, 'docker', id)), join(CGROUP_ROOT, 'docker', id)].filter((d) => existsSync(d));
}

/** SIGKILLs the processes of a dead daemon's containers (ids from its data root) and removes their cgroups. */
async function killContainers(containersDir: string): Promise<void> {
  let ids: string[];
  try {
    ids = readdirSync(containersDir).filter((id) => /^[0-9a-f]{64}$/.test(id));
  } catch {
    return;
  }
  for (const id of ids) {
    const dirs = containerCgroups(id);
    for (let i = 0; i < 50; i++) {
      const pids = new Set<number>();
      for (const d of dirs) {
        try {
          for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
        } catch {
          // hierarchy without cgroup.procs or already gone
        }
      }
      if (pids.size === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(100);
    }
    for (const d of dirs) await run('rmdir', [d], { allowFail: true });
  }
}

/**
 * Removes everything of the host in slot n named `name`: processes left in
 * its namespace (a crashed run's dockerd, containerd, shims, containers, agents),
 * mounts, veth, namespace, data, slot file. Used for stale hosts, and as the
 * last step of destroy().
 */
async function purge(n: number, name: string | undefined): Promise<void> {
  if (name !== undefined) {
    // SIGKILL by id: only processes inside our own test namespace.
    for (let i = 0; i < 50; i++) {
      const pids = await netnsPids(name);
      if (pids.length === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(100);
    }
    // Container processes live in namespaces of their own, so `ip netns pids` misses them: find them by cgroup.
    await killContainers(join(LIB_DIR, name, 'docker', 'containers'));
    for (const mp of mountsUnder([join(LIB_DIR, name), join(RUN_DIR, name)])) {
      await run('umount', ['-l', mp], { allowFail: true });
    }
  }
  await run('ip', ['link', 'del', rootLinkName(n)], { allowFail: true });
  await run('ip', ['link', 'del', `${rootLinkName(n)}p`], { allowFail: true });
  if (name !== undefined) {
    if (existsSync(join(NETNS_DIR, name))) await run('ip', ['netns', 'del', name], { allowFail: true });
    rmSync(join(LIB_DIR, name), { recursive: true, force: true });
    rmSync(join(RUN_DIR, name), { recursive: true, force: true });
    for (const ext of ['.sock', '.pid']) rmSync(join(RUN_DIR, name + ext), { force: true });
  }
  rmSync(slotFile(n), { force: true });
}

/** Tears down hosts of runs whose process is gone (by name prefix and slot files). */
export async function cleanStaleTestHosts(): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  const owned = new Map<number, SlotState | undefined>();
  for (const f of readdirSync(RUN_DIR)) {
    const m = /^slot-(\d+)\.json$/.exec(f);
    if (m) owned.set(Number(m[1]), readSlot(Number(m[1])));
  }
  for (const [n, st] of owned) {
    // A slot file without a parsable owner is one being written right now only for a few µs; a dead owner is stale.
    if (st !== undefined && !alive(st.pid)) await purge(n, st.name);
  }
  // Namespaces and links without any slot file: a run that died between claiming and recording (cannot happen
  // with the write-first order below) or whose slot file was removed by hand.
  for (const name of ourNetns()) {
    const n = slotOfName(name);
    if (!existsSync(slotFile(n))) await purge(n, name);
  }
  const links = await run('ip', ['-o', 'link', 'show'], { allowFail: true });
  for (const m of links.stdout.matchAll(new RegExp(`^\\d+: (${PREFIX}(\\d+)p?)[@:]`, 'gm'))) {
    if (!existsSync(slotFile(Number(m[2])))) await run('ip', ['link', 'del', m[1]], { allowFail: true });
  }
  for (const dir of [LIB_DIR, RUN_DIR]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const n = slotOfName(f);
      if (Number.isInteger(n) && !existsSync(slotFile(n))) {
        if (dir === LIB_DIR) await killContainers(join(dir, f, 'docker', 'containers'));
        for (const mp of mountsUnder([join(dir, f)])) await run('umount', ['-l', mp], { allowFail: true });
        rmSync(join(dir, f), { recursive: true, force: true });
      }
    }
  }
  if ((await run('ip', ['link', 'show', SEG_PARENT], { allowFail: true })).code === 0) await releaseSegment();
}

const SEG_PARENT = 'orchtseg0';
const SEG_PEER = 'orchtseg1';
const SEG_ROOT = 'orchtseg';
/** The root namespace's address on the shared segment. */
export const SEGMENT_ROOT_IP = '10.99.0.1';
const SEG_LOCK = join(RUN_DIR, 'segment.lock');

/** Runs fn holding the segment lock (a directory with the holder's pid; a dead holder's lock is taken over). */
async function withSegmentLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(RUN_DIR, { recursive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(SEG_LOCK);
      writeFileSync(join(SEG_LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(join(SEG_LOCK, 'pid'), 'utf8'));
      } catch {
        // being written (or removed) right now
      }
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(SEG_LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`test host segment lock ${SEG_LOCK} held for 60 s`);
      else await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(SEG_LOCK, { recursive: true, force: true });
  }
}

/** Slots that claim the segment (their owner alive or not: a dead one is purged first). */
function segmentSlots(): number[] {
  if (!existsSync(RUN_DIR)) return [];
  return readdirSync(RUN_DIR)
    .map((f) => /^slot-(\d+)\.json$/.exec(f)?.[1])
    .filter((m): m is string => m !== undefined)
    .map(Number)
    .filter((n) => readSlot(n)?.segment === true);
}

/** Creates the shared segment if missing (call under the lock). */
async function ensureSegment(): Promise<void> {
  if ((await run('ip', ['link', 'show', SEG_PARENT], { allowFail: true })).code === 0) return;
  await run('ip', ['link', 'add', SEG_PARENT, 'type', 'veth', 'peer', 'name', SEG_PEER]);
  await run('ip', ['link', 'set', SEG_PEER, 'up']);
  await run('ip', ['link', 'set', SEG_PARENT, 'up']);
  await run('ip', ['link', 'add', SEG_ROOT, 'link', SEG_PARENT, 'type', 'macvlan', 'mode', 'bridge']);
  await run('ip', ['addr', 'add', `${SEGMENT_ROOT_IP}/24`, 'dev', SEG_ROOT]);
  await run('ip', ['link', 'set', SEG_ROOT, 'up']);
}

/** Removes the shared segment when no slot claims it any more. */
async function releaseSegment(): Promise<void> {
  await withSegmentLock(async () => {
    if (segmentSlots().length > 0) return;
    // Deleting the parent takes every macvlan on it (and the veth peer) along.
    await run('ip', ['link', 'del', SEG_ROOT], { allowFail: true });
    await run('ip', ['link', 'del', SEG_PARENT], { allowFail: true });
  });
}

/** What is left of the shared segment while no host uses it (empty after the last segment host is destroyed). */
export async function segmentLeftovers(): Promise<string[]> {
  if (segmentSlots().length > 0) return [];
  const out: string[] = [];
  for (const l of [SEG_ROOT, SEG_PARENT, SEG_PEER]) if ((await run('ip', ['link', 'show', l], { allowFail: true })).code === 0) out.push(`link ${l}`);
  const routes = await run('ip', ['route', 'show'], { allowFail: true });
  for (const l of routes.stdout.split('\n')) if (l.includes('10.99.0.') || l.includes(SEG_ROOT)) out.push(`route ${l}`);
  if (existsSync(SEG_LOCK)) out.push(`path ${SEG_LOCK}`);
  return out;
}

/** Claims a free slot by creating its state file exclusively. */
function claimSlot(name: string, segment: boolean): number {
  mkdirSync(RUN_DIR, { recursive: true });
  for (let n = 1; n <= MAX_SLOT; n++) {
    const st: SlotState = { pid: process.pid, name: `${PREFIX}${n}-${name}`, ...(segment ? { segment: true } : {}) };
    try {
      writeFileSync(slotFile(n), JSON.stringify(st), { flag: 'wx' });
      return n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`no free test host slot in ${RUN_DIR} (all ${MAX_SLOT} taken)`);
}

function nsArgs(name: string, cmd: string[]): string[] {
  return [`--net=${join(NETNS_DIR, name)}`, '--', ...cmd];
}

async function waitDocker(docker: Docker, dockerd: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dockerd.exitCode !== null || dockerd.signalCode !== null) {
      throw new Error(`dockerd exited (${dockerd.exitCode ?? dockerd.signalCode}):\n${readFileSync(logPath, 'utf8').slice(-3000)}`);
    }
    try {
      await docker.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`dockerd did not answer in 30 s:\n${readFileSync(logPath, 'utf8').slice(-3000)}`);
      await sleep(100);
    }
  }
}

async function copyImage(from: Docker, to: Docker, ref: string): Promise<void> {
  const tarball = await from.getImage(ref).get();
  const res = await to.loadImage(tarball);
  await new Promise<void>((resolve, reject) =>
    to.modem.followProgress(res, (err: Error | null, out: unknown[]) => {
      const failed = out.find((o) => typeof o === 'object' && o !== null && 'error' in o);
      if (err || failed) reject(err ?? new Error(`loading ${ref}: ${JSON.stringify(failed)}`));
      else resolve();
    }),
  );
}

/** Creates a test host (see the file comment); tears it down on failure. `name`: [a-z0-9-], short. */
export async function startTestHost(name: string, opts: TestHostOptions = {}): Promise<TestHost> {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new Error(`test host name ${JSON.stringify(name)}: want [a-z0-9-], at most 31 chars`);
  await cleanStaleTestHosts();
  const segment = opts.segment === true;
  const n = claimSlot(name, segment);
  const netns = `${PREFIX}${n}-${name}`;
  const rootLink = rootLinkName(n);
  const rootIP = segment ? SEGMENT_ROOT_IP : `10.99.${n}.1`;
  const ip = segment ? `10.99.0.${n + 1}` : `10.99.${n}.2`;
  const dataDir = join(LIB_DIR, netns);
  const execRoot = join(RUN_DIR, netns);
  const socketPath = join(RUN_DIR, `${netns}.sock`);
  const pidfile = join(RUN_DIR, `${netns}.pid`);
  const docker = new Docker({ socketPath });
  const agents = new Set<AgentProcess>();
  let dockerd: ChildProcess | undefined;
  let destroyed: Promise<void> | undefined;

  const exec: TestHost['exec'] = (cmd, o) => run('nsenter', nsArgs(netns, cmd), o);

  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      await Promise.all([...agents].map((a) => a.stop().catch(() => undefined)));
      if (dockerd && dockerd.exitCode === null && dockerd.signalCode === null) {
        try {
          const list = await docker.listContainers({ all: true });
          await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
        } catch {
          // daemon unusable: purge() kills what is left
        }
        const d = dockerd;
        const gone = new Promise<void>((r) => d.once('exit', () => r()));
        d.kill('SIGTERM');
        const timer = setTimeout(() => d.kill('SIGKILL'), 15_000);
        await gone;
        clearTimeout(timer);
      }
      await purge(n, netns);
      if (segment) await releaseSegment();
      await releaseBlackholes();
    })();
    return destroyed;
  };
  opts.t?.teardown(destroy);
  // The host routes the service range to the root namespace (below): it must be blackholed there first.
  const releaseBlackholes = await withBlackholeRoutes();

  try {
    mkdirSync(dataDir, { recursive: true });
    await run('ip', ['netns', 'add', netns]);
    if (segment) {
      // The host's side is a macvlan on the segment, made in the root namespace (as `orcht<n>p`) and moved in.
      await withSegmentLock(async () => {
        await ensureSegment();
        await run('ip', ['link', 'add', `${rootLink}p`, 'link', SEG_PARENT, 'type', 'macvlan', 'mode', 'bridge']);
        await run('ip', ['link', 'set', `${rootLink}p`, 'netns', netns]);
      });
    } else {
      await run('ip', ['link', 'add', rootLink, 'type', 'veth', 'peer', 'name', `${rootLink}p`]);
      await run('ip', ['link', 'set', `${rootLink}p`, 'netns', netns]);
      await run('ip', ['addr', 'add', `${rootIP}/24`, 'dev', rootLink]);
      await run('ip', ['link', 'set', rootLink, 'up']);
    }
    for (const cmd of [
      ['ip', 'link', 'set', `${rootLink}p`, 'name', 'eth0'],
      ['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0'],
      ['ip', 'link', 'set', 'eth0', 'up'],
      ['ip', 'link', 'set', 'lo', 'up'],
      // A real node's default route covers the service range: a connection to a Service with no
      // endpoints is routed, then rejected by the proxy's forward/output check (as kube-proxy's).
      // Here that route leads to the root namespace, which blackholes the range: still nothing leaves.
      ['ip', 'route', 'add', SERVICE_RANGE, 'via', rootIP],
    ]) {
      await exec(cmd);
    }

    const logPath = join(dataDir, 'dockerd.log');
    const logFd = openSync(logPath, 'a');
    try {
      dockerd = spawn(
        'nsenter',
        nsArgs(netns, [
          'dockerd',
          '--data-root', join(dataDir, 'docker'),
          '--exec-root', execRoot,
          '--pidfile', pidfile,
          '-H', `unix://${socketPath}`,
          '--bip', `10.98.${n}.1/24`,
          `--iptables=${opts.iptables === false ? 'false' : 'true'}`,
        ]),
        { stdio: ['ignore', logFd, logFd] },
      );
    } finally {
      closeSync(logFd);
    }
    await waitDocker(docker, dockerd, logPath);
    const main = testDocker();
    const images = opts.images ?? [TEST_IMAGE];
    if (images.includes(TEST_IMAGE)) await ensureTestImage(main);
    for (const ref of images) await copyImage(main, docker, ref);
  } catch (e) {
    await destroy();
    throw e;
  }

  const startAgent = async (serverUrl: string, token: string, o: AgentProcessOptions = {}): Promise<AgentProcess> => {
    const nodeName = o.nodeName ?? `${name}-node`;
    const agentDir = o.dataDir ?? join(dataDir, `agent-${nodeName}`);
    let resolvConf = o.resolvConf;
    if (resolvConf === undefined) {
      resolvConf = join(dataDir, 'resolv.conf');
      writeFileSync(resolvConf, `nameserver ${rootIP}\n`);
    }
    // nsenter without --fork execs the program: the child's pid is node's, so signals reach the agent itself.
    const child = spawn(
      'nsenter',
      nsArgs(netns, [
        process.execPath, ...NODE_FLAGS, ORCH_BIN, 'agent',
        '--server', serverUrl,
        '--token', token,
        '--node-name', nodeName,
        '--node-ip', ip,
        '--data-dir', agentDir,
        '--container-runtime-endpoint', `unix://${socketPath}`,
        '--resolv-conf', resolvConf,
        ...(o.args ?? []),
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(o.env ?? {}) } },
    );
    let out = '';
    const listeners = new Set<() => void>();
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const l of listeners) l();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const running = () => child.exitCode === null && child.signalCode === null;
    const waitOutput = (re: RegExp, ms = 30_000): Promise<void> =>
      new Promise((res, rej) => {
        const done = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) rej(err);
          else res();
        };
        const check = () => {
          if (re.test(out)) done();
        };
        const timer = setTimeout(() => done(new Error(`agent ${nodeName}: no ${re} in ${ms} ms:\n${out}`)), ms);
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (listeners.has(check)) {
            if (re.test(out)) done();
            else done(new Error(`agent ${nodeName} exited (${code ?? signal}) before ${re}:\n${out}`));
          }
        });
        check();
      });
    const agent: AgentProcess = {
      child,
      nodeName,
      dataDir: agentDir,
      output: () => out,
      exited,
      waitOutput,
      async stop() {
        if (running()) {
          child.kill('SIGTERM');
          const t = setTimeout(() => {
            if (running()) child.kill('SIGKILL');
          }, 10_000);
          await exited;
          clearTimeout(t);
        }
        agents.delete(agent);
        return (await exited).code;
      },
      async kill() {
        if (running()) child.kill('SIGKILL');
        await exited;
        agents.delete(agent);
      },
    };
    agents.add(agent);
    if (o.waitRegistered !== false) {
      try {
        await waitOutput(/registered with/);
      } catch (e) {
        await agent.kill();
        throw e;
      }
    }
    return agent;
  };

  return {
    name: netns,
    slot: n,
    rootIP,
    ip,
    rootLink,
    bridgeCidr: `10.98.${n}.1/24`,
    dockerHost: `unix://${socketPath}`,
    socketPath,
    dataDir,
    docker,
    exec,
    startAgent,
    destroy,
  };
}

/** What a test host leaves behind in the root namespace (all empty after destroy()). */
export async function hostLeftovers(h: Pick<TestHost, 'name' | 'slot' | 'rootLink' | 'dataDir' | 'socketPath'>): Promise<string[]> {
  const out: string[] = [];
  if (existsSync(join(NETNS_DIR, h.name))) out.push(`netns ${h.name}`);
  const link = await run('ip', ['link', 'show', h.rootLink], { allowFail: true });
  if (link.code === 0) out.push(`link ${h.rootLink}`);
  const routes = await run('ip', ['route', 'show'], { allowFail: true });
  for (const l of routes.stdout.split('\n')) if (l.includes(`10.99.${h.slot}.`) || l.includes(`10.98.${h.slot}.`) || l.includes(h.rootLink)) out.push(`route ${l}`);
  const rules = await run('iptables-save', [], { allowFail: true });
  for (const l of rules.stdout.split('\n')) if (l.startsWith('-A') && (l.includes(`10.98.${h.slot}.`) || l.includes(`10.99.${h.slot}.`) || l.includes(h.rootLink))) out.push(`rule ${l}`);
  for (const mp of mountsUnder([h.dataDir, join(RUN_DIR, h.name)])) out.push(`mount ${mp}`);
  for (const p of [h.dataDir, join(RUN_DIR, h.name), h.socketPath, slotFile(h.slot)]) if (existsSync(p)) out.push(`path ${p}`);
  const ps = await run('ps', ['-eo', 'pid,args'], { allowFail: true });
  for (const l of ps.stdout.split('\n')) if (l.includes(h.name)) out.push(`process ${l.trim()}`);
  return out;
}

const SERVICE_RANGE = '10.43.0.0/16';
const BLACKHOLES = ['10.42.0.0/16', SERVICE_RANGE];
const BH_DIR = join(RUN_DIR, 'blackhole');

/**
 * Adds `blackhole` routes for the cluster and service CIDRs in the root
 * namespace (those absent), so a packet that misses its DNAT cannot leave by
 * the default route. Shared by concurrent test processes: each registers
 * itself; the last one out removes the routes tests added (never ones that
 * were there before any test). Returns the release function (also registered on t).
 */
export async function withBlackholeRoutes(t?: TeardownHost): Promise<() => Promise<void>> {
  mkdirSync(join(BH_DIR, 'users'), { recursive: true });
  mkdirSync(join(BH_DIR, 'added'), { recursive: true });
  const me = join(BH_DIR, 'users', String(process.pid));
  writeFileSync(me, '');
  for (const cidr of BLACKHOLES) {
    const have = await run('ip', ['route', 'show', 'exact', cidr, 'type', 'blackhole']);
    if (have.stdout.trim() !== '') continue;
    const r = await run('ip', ['route', 'add', 'blackhole', cidr], { allowFail: true });
    if (r.code === 0) writeFileSync(join(BH_DIR, 'added', cidr.replace('/', '_')), '');
    else if (!/File exists/.test(r.stderr)) throw new Error(`ip route add blackhole ${cidr}: ${r.stderr}`);
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= (async () => {
      rmSync(me, { force: true });
      const others = readdirSync(join(BH_DIR, 'users')).filter((p) => {
        if (alive(Number(p))) return true;
        rmSync(join(BH_DIR, 'users', p), { force: true });
        return false;
      });
      if (others.length > 0) return;
      for (const cidr of BLACKHOLES) {
        const mark = join(BH_DIR, 'added', cidr.replace('/', '_'));
        if (!existsSync(mark)) continue;
        await run('ip', ['route', 'del', 'blackhole', cidr], { allowFail: true });
        rmSync(mark, { force: true });
      }
    })();
    return released;
  };
  t?.teardown(release);
  return release;
}

/** What node networking left in the root namespace: the proxy table, the DNS link, the pod network's chains. */
export async function rootNetworkingLeftovers(): Promise<string[]> {
  const out: string[] = [];
  if ((await run('nft', ['list', 'tables'], { allowFail: true })).stdout.includes('orch-proxy')) out.push('nftables table ip orch-proxy');
  if ((await run('ip', ['link', 'show', 'orch-dns'], { allowFail: true })).code === 0) out.push('link orch-dns');
  for (const l of (await run('iptables-save', [], { allowFail: true })).stdout.split('\n')) if (/ORCH-POSTROUTING|ORCH-FORWARD/.test(l)) out.push(`rule ${l}`);
  return out;
}

/** Destroys the hosts, then lists whatever is left of them, of the segment and of node networking in the root namespace (want: []). */
export async function destroyHosts(hosts: TestHost[]): Promise<string[]> {
  for (const h of hosts) await h.destroy();
  const left: string[] = [];
  for (const h of hosts) left.push(...(await hostLeftovers(h)));
  left.push(...(await segmentLeftovers()), ...(await rootNetworkingLeftovers()));
  return left;
}
