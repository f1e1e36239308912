/**
 * Shared bits of the issue-4 benchmarks, which run real Docker nodes: the
 * built server with its embedded agent (or `orch agent` beside it), an admin
 * client, busybox `sleep` pods, waiting for node Ready / pods Running /
 * containers gone, clean-up that also runs on Ctrl-C, and the RSS of the
 * Docker daemons (dockerd, containerd and the shims) read from /proc.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeCondition, Pod } from 'kubernetes-types/core/v1.js';
import { Client } from '../../../pkg/client/client.js';
import { isNotFound } from '../../../pkg/client/errors.js';
import { httpsTransport, type Transport } from '../../../pkg/client/transport.js';
import { LABELS } from '../../../pkg/kubelet/runtime/types.js';
import { cleanupNode, ensureTestImage, testDocker, testNodeName, TEST_IMAGE } from '../../../tests/helpers/docker.js';
import { ORCH_BIN } from '../../../tests/helpers/server-process.js';
import { adminToken, freePort, requireBuild, rssMiB, spawnServer, waitReady, type Spawned, type SpawnedProcess } from './orch-process.js';

export { TEST_IMAGE as BENCH_IMAGE, ensureTestImage as ensureBenchImage, testNodeName as benchNodeName, cleanupNode as cleanupNodeContainers, testDocker as benchDocker };

/** "MET" or "MISSED" for a figure against its target. */
export function metOrMissed(ok: boolean): string {
  return ok ? 'MET' : 'MISSED';
}

export function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}

/**
 * Clean-up steps run last-in first-out, once: at the end of a run (finally)
 * and on SIGINT/SIGTERM, so an interrupted benchmark leaves no container,
 * process or temp dir behind.
 */
export class Cleanup {
  /** Every Cleanup not yet run, oldest first: a signal runs them all, newest first. */
  private static active: Cleanup[] = [];
  private static signalsHandled = false;
  private static onSignal(sig: string): void {
    process.stderr.write(`${sig}: cleaning up\n`);
    void (async () => {
      for (const c of [...Cleanup.active].reverse()) await c.run();
    })().finally(() => process.exit(130));
  }

  private steps: { what: string; fn: () => Promise<unknown> }[] = [];
  private running: Promise<void> | undefined;

  constructor() {
    if (!Cleanup.signalsHandled) {
      Cleanup.signalsHandled = true;
      process.once('SIGINT', () => Cleanup.onSignal('SIGINT'));
      process.once('SIGTERM', () => Cleanup.onSignal('SIGTERM'));
    }
    Cleanup.active.push(this);
  }

  add(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  /** Registers the stopping of a spawned process (SIGTERM, wait for exit); returns that stop for use before the end. */
  track(p: SpawnedProcess): () => Promise<number | string> {
    const stop = () => p.stop();
    this.add(`process ${p.child.pid ?? '?'}`, stop);
    return stop;
  }

  /** Runs every step (a failing step is reported, the rest still run). */
  run(): Promise<void> {
    this.running ??= (async () => {
      Cleanup.active = Cleanup.active.filter((c) => c !== this);
      for (const s of this.steps.reverse()) {
        try {
          await s.fn();
        } catch (e) {
          process.stderr.write(`clean-up (${s.what}) failed: ${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    })();
    return this.running;
  }
}

/**
 * `orch cleanup`: what a benchmark's agent put in this machine's network
 * (proxy table, pod network routes, chains and Docker network, the DNS
 * address) goes once the agent has stopped and its containers are gone.
 */
export async function removeNodeNetworking(): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [ORCH_BIN, 'cleanup'], { timeout: 60_000 }, (err, _out, stderr) => (err ? reject(new Error(`orch cleanup: ${stderr || err.message}`)) : resolve())),
  );
}

/** The end of a benchmark: prints its failure (if any), runs the clean-up, exits 1 on failure, else 0. */
export async function finishBench(cleanup: Cleanup, failure: { error: unknown } | undefined): Promise<never> {
  if (failure) console.error(failure.error instanceof Error ? (failure.error.stack ?? failure.error.message) : String(failure.error));
  await cleanup.run();
  process.exit(failure ? 1 : 0);
}

/** An admin client of a server's data dir (trusting its CA). */
export function adminClient(dataDir: string, port: number, userAgent: string): { client: Client; transport: Transport } {
  const transport = httpsTransport({
    server: `https://127.0.0.1:${port}`,
    ca: readFileSync(join(dataDir, 'server/tls/server-ca.crt'), 'utf8'),
    token: adminToken(dataDir),
    userAgent,
  });
  return { client: new Client(transport), transport };
}

/** The join token agents use, from the server's data dir. */
export function nodeToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'server/node-token'), 'utf8').trim();
}

export interface DockerNodeServer {
  server: Spawned;
  pid: number;
  url: string;
  dataDir: string;
  client: Client;
  /** Where `--cpu-prof` writes the server's profile, when asked for. */
  profileDir?: string;
}

/**
 * Starts the built server on a temp data dir, with its embedded agent named
 * `nodeName` (or --disable-agent when nodeName is undefined), waits for
 * /readyz and registers its stopping, the removal of the node's containers
 * and of the data dir with `cleanup`.
 */
export async function startDockerNodeServer(
  o: { name: string; nodeName?: string; profile?: boolean; nodeArgs?: string[] },
  cleanup: Cleanup,
): Promise<DockerNodeServer> {
  requireBuild();
  const dataDir = mkdtempSync(join(tmpdir(), `orch-bench-${o.name}-`));
  const profileDir = o.profile ? join(dataDir, 'cpu-prof') : undefined;
  const nodeArgs = [...(o.nodeArgs ?? []), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  cleanup.add('data dir', async () => {
    if (profileDir) process.stdout.write(`server CPU profile in ${profileDir} (data dir kept; remove it after use)\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  });
  const nodeName = o.nodeName;
  if (nodeName !== undefined) {
    // Run newest first: after the server stopped and the containers went.
    cleanup.add('node networking', removeNodeNetworking);
    cleanup.add(`containers of ${nodeName}`, () => cleanupNode(nodeName));
  }
  const server = spawnServer(dataDir, await freePort(), nodeArgs, { agentNodeName: nodeName });
  cleanup.add('server', async () => {
    const code = await server.stop();
    if (code !== 0) process.stderr.write(`orch server exited with ${code}:\n${server.output().slice(-3000)}\n`);
  });
  if (!(await waitReady(server, 20, 60_000))) throw new Error(`orch server did not become ready:\n${server.output()}`);
  const { client, transport } = adminClient(dataDir, server.port, `orch-bench-${o.name}`);
  cleanup.add('client', () => transport.close());
  return { server, pid: server.child.pid ?? 0, url: `https://127.0.0.1:${server.port}`, dataDir, client, profileDir };
}

/** The node's Ready condition when it is True (and, with sinceMs, heartbeated in or after that wall-clock second). */
export function readyCondition(conditions: NodeCondition[] | undefined, sinceMs?: number): NodeCondition | undefined {
  const c = conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  if (!c) return undefined;
  // Heartbeat times are second-granular: a condition from a previous process is told apart by its second.
  if (sinceMs !== undefined && Date.parse(c.lastHeartbeatTime ?? '') < Math.floor(sinceMs / 1000) * 1000) return undefined;
  return c;
}

/** Polls the node until its Ready condition is True (see readyCondition); resolves to performance.now() then. */
export async function waitNodeReady(client: Client, nodeName: string, o: { timeoutMs?: number; intervalMs?: number; sinceMs?: number; alive?: () => boolean } = {}): Promise<number> {
  const deadline = performance.now() + (o.timeoutMs ?? 60_000);
  const nodes = client.resource('nodes');
  while (performance.now() < deadline) {
    if (o.alive && !o.alive()) throw new Error(`the process running node ${nodeName} exited`);
    try {
      const n = await nodes.get(nodeName);
      if (readyCondition(n.status?.conditions, o.sinceMs)) return performance.now();
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await sleep(o.intervalMs ?? 10);
  }
  throw new Error(`node ${nodeName} not Ready within ${o.timeoutMs ?? 60_000} ms`);
}

/** A bare busybox `sleep 3600` pod that starts fast and stops at once (grace 1 s; sh as PID 1 ignores SIGTERM). */
export function sleepPod(name: string, namespace: string, nodeName?: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'orch-bench' } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'sleep', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }],
    },
  };
}

/** Polls until `n` pods in `namespace` are Running; throws after timeoutMs. */
export async function waitPodsRunning(client: Client, namespace: string, n: number, timeoutMs = 120_000): Promise<void> {
  const pods = client.resource('pods').namespace(namespace);
  const deadline = performance.now() + timeoutMs;
  let running = 0;
  while (performance.now() < deadline) {
    running = (await pods.list()).items.filter((p) => p.status?.phase === 'Running').length;
    if (running >= n) return;
    await sleep(200);
  }
  throw new Error(`only ${running} of ${n} pods Running after ${timeoutMs} ms`);
}

/** The Docker containers (pause and app, any state) labelled for nodeName. */
export async function nodeContainerIds(nodeName: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: [`${LABELS.node}=${nodeName}`] } });
  return list.map((c) => c.Id);
}

/**
 * Deletes every pod of `namespace` through the API, then waits until the
 * pods are gone from the API and the node has no container left.
 * Resolves to the seconds each took, from the first delete call.
 */
export async function deletePodsAndWait(client: Client, namespace: string, nodeName: string, timeoutMs = 120_000): Promise<{ podsGoneS: number; containersGoneS: number }> {
  const pods = client.resource('pods').namespace(namespace);
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  for (const p of (await pods.list()).items) {
    try {
      await pods.delete(p.metadata?.name ?? '');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  let left = -1;
  while ((left = (await pods.list()).items.length) > 0) {
    if (performance.now() > deadline) throw new Error(`${left} pods still in the API ${timeoutMs} ms after their deletion`);
    await sleep(200);
  }
  const podsGoneS = (performance.now() - t0) / 1000;
  while ((left = (await nodeContainerIds(nodeName)).length) > 0) {
    if (performance.now() > deadline) throw new Error(`${left} containers of ${nodeName} still there ${timeoutMs} ms after the pods' deletion`);
    await sleep(200);
  }
  return { podsGoneS, containersGoneS: (performance.now() - t0) / 1000 };
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}

function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      // Fields after "(comm) ": state [0], ppid [1].
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      out.push({ pid: Number(d), ppid, comm, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Proportional set size (shared pages split between their users) from /proc/<pid>/smaps_rollup, in MiB. */
export function pssMiB(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  if (!m) throw new Error(`no Pss in /proc/${pid}/smaps_rollup`);
  return Number(m[1]) / 1024;
}

/**
 * The dockerd and containerd serving the node: with DOCKER_HOST unset, the
 * dockerd of /var/run/docker.pid and the containerd it started (its child) or
 * a system one; otherwise (or when that fails) every process of those names.
 * `others` counts daemons left out (other sessions' test hosts).
 */
export function runtimeDaemonPids(): { daemons: { name: string; pid: number }[]; others: number } {
  const procs = processes();
  const all = procs.filter((p) => p.comm === 'dockerd' || p.comm === 'containerd');
  let dockerd: ProcInfo | undefined;
  if (!process.env.DOCKER_HOST) {
    try {
      const pid = Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
      dockerd = all.find((p) => p.pid === pid && p.comm === 'dockerd');
    } catch {
      // no pid file: fall back to every daemon
    }
  }
  if (!dockerd) return { daemons: all.map((p) => ({ name: p.comm, pid: p.pid })), others: 0 };
  // dockerd 20.10 starts its own containerd unless told of a system one (then the one whose parent is not a dockerd).
  const dockerdPids = new Set(all.filter((p) => p.comm === 'dockerd').map((p) => p.pid));
  const containerd = all.find((p) => p.comm === 'containerd' && p.ppid === dockerd.pid) ?? all.find((p) => p.comm === 'containerd' && !dockerdPids.has(p.ppid));
  const daemons = [{ name: 'dockerd', pid: dockerd.pid }, ...(containerd ? [{ name: 'containerd', pid: containerd.pid }] : [])];
  return { daemons, others: all.length - daemons.length };
}

/**
 * One line with the RSS of dockerd and containerd (see runtimeDaemonPids)
 * and the summed PSS of the containerd-shim processes serving `containerIds`
 * (PSS: a shim's RSS is mostly text shared by all shims).
 */
export function runtimeRssLine(containerIds: readonly string[] = []): string {
  const { daemons, others } = runtimeDaemonPids();
  const parts: string[] = [];
  for (const name of ['dockerd', 'containerd']) if (!daemons.some((d) => d.name === name)) parts.push(`${name}: not found in /proc`);
  for (const d of daemons) {
    try {
      parts.push(`${d.name} (pid ${d.pid}) RSS ${rssMiB(d.pid).toFixed(1)} MiB`);
    } catch {
      parts.push(`${d.name} (pid ${d.pid}) gone`);
    }
  }
  if (containerIds.length > 0) {
    // runc v2 shims take `-id <container id>`; one shim per container (pause and app alike).
    const ids = new Set(containerIds);
    const shims = processes().filter((p) => p.comm.startsWith('containerd-shim') && ids.has(/-id (\S+)/.exec(p.cmdline)?.[1] ?? ''));
    let rss = 0;
    let pss = 0;
    for (const sh of shims) {
      try {
        rss += rssMiB(sh.pid);
        pss += pssMiB(sh.pid);
      } catch {
        // gone meanwhile
      }
    }
    parts.push(`containerd-shim x${shims.length} for this node's ${containerIds.length} containers PSS ${pss.toFixed(1)} MiB (RSS summed ${rss.toFixed(0)} MiB)`);
  }
  if (others > 0) parts.push(`${others} more dockerd/containerd processes (other daemons on this machine) not counted`);
  return `beside it: ${parts.join(', ')}`;
}

/** Busy and total jiffies of all CPUs, from /proc/stat: the machine's load over a window is the difference of two samples. */
export function machineCpuSample(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

/** Percent of all CPUs busy between two machineCpuSample()s. */
export function machineBusyPercent(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

/** MiB → MB (the targets are in MB). */
export function mb(mib: number): number {
  return mib * 1.048576;
}
