/**
 * The three-process set-up of the issue-3 benchmarks: the built server in
 * one process, hollow nodes in a second, the driver (this process) in a
 * third, plus the server-side measurements (CPU from /proc/<pid>/stat, RSS
 * from /proc/<pid>/status) and an optional CPU profile of the server.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Client, type ObjectLike, type ResourceClient } from '../../../pkg/client/client.js';
import { ApiStatusError, isExpired } from '../../../pkg/client/errors.js';
import { httpsTransport, type Transport } from '../../../pkg/client/transport.js';
import { spawnHollowNodes, type SpawnedHollowNodes } from './hollow-node-process.js';
import { cpuMs, freePort, requireBuild, rssMiB, spawnServer, waitReady, type Spawned } from './orch-process.js';

export interface BenchCluster {
  /** The server process now running (a new one after restartServer()). */
  readonly server: Spawned;
  readonly serverPid: number;
  hollow: SpawnedHollowNodes;
  client: Client;
  url: string;
  /** Where `--cpu-prof` writes the server's profile, when asked for. */
  profileDir?: string;
  /** Makes the server write a heap snapshot (needs heapSnapshots) and resolves to its path. */
  heapSnapshot(): Promise<string>;
  /**
   * Stops the server (SIGTERM, clean exit required) and starts it again on
   * the same data dir and port with `serverArgs` (default: none); the hollow
   * nodes and clients reconnect by themselves. Resolves once /readyz answers,
   * with performance.now() stamps of the steps.
   */
  restartServer(serverArgs?: string[]): Promise<ServerRestart>;
  stop(): Promise<void>;
}

/** performance.now() stamps of a server restart. */
export interface ServerRestart {
  /** SIGTERM sent to the old process. */
  stopAt: number;
  /** The old process exited. */
  exitedAt: number;
  /** The new process spawned (just after exitedAt). */
  spawnedAt: number;
  /** The new process answered /readyz with 200. */
  readyAt: number;
}

export interface BenchClusterOptions {
  name: string;
  nodes: number;
  heartbeatSeconds: number;
  /** Run the server under `node --cpu-prof` (profile written at its exit). */
  profile?: boolean;
  /** Write a V8 heap snapshot of the server into its data dir on SIGUSR2 (see heapSnapshot()). */
  heapSnapshots?: boolean;
  /** Requests the hollow process keeps in flight at most. */
  hollowConcurrency?: number;
  /** More `orch server` flags for the first start, e.g. ['--disable-scheduler']. */
  serverArgs?: string[];
}

/** One line saying what the numbers were measured on. */
export function machineLine(sharedBy = 'the server, the hollow-node process and this driver'): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `machine: ${availableParallelism()} cores (${model}) shared by ${sharedBy}; node ${process.version}`;
}

/** Starts the server, then the hollow nodes, and a client for the driver. */
export async function startBenchCluster(o: BenchClusterOptions): Promise<BenchCluster> {
  requireBuild();
  const dataDir = mkdtempSync(join(tmpdir(), `orch-bench-${o.name}-`));
  const profileDir = o.profile ? join(dataDir, 'cpu-prof') : undefined;
  if (profileDir) mkdirSync(profileDir);
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  // Extra V8 flags for diagnosis, e.g. ORCH_BENCH_SERVER_NODE_ARGS=--trace-gc (output kept with ORCH_BENCH_SERVER_LOG=FILE).
  nodeArgs.push(...(process.env.ORCH_BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== ''));
  if (o.heapSnapshots) nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dataDir}`);
  let server = spawnServer(dataDir, await freePort(), nodeArgs, { extraArgs: o.serverArgs });
  /** Output of the server processes a restart replaced. */
  let earlierOutput = '';
  if (!(await waitReady(server, 20, 60_000))) {
    await server.stop();
    throw new Error(`orch server did not become ready:\n${server.output()}`);
  }
  const url = `https://127.0.0.1:${server.port}`;
  const caFile = join(dataDir, 'server/tls/server-ca.crt');
  const tokenFile = join(dataDir, 'server/cred/admin.token');
  let hollow: SpawnedHollowNodes;
  try {
    hollow = await spawnHollowNodes({ server: url, caFile, tokenFile, nodes: o.nodes, heartbeatSeconds: o.heartbeatSeconds, concurrency: o.hollowConcurrency });
  } catch (e) {
    await server.stop();
    throw e;
  }
  const transport: Transport = httpsTransport({
    server: url,
    ca: readFileSync(caFile, 'utf8'),
    token: readFileSync(tokenFile, 'utf8').trim(),
    userAgent: `orch-bench-${o.name}`,
  });
  return {
    get server() {
      return server;
    },
    get serverPid() {
      return server.child.pid ?? 0;
    },
    hollow,
    client: new Client(transport),
    url,
    profileDir,
    async heapSnapshot() {
      if (!o.heapSnapshots) throw new Error('heapSnapshot() needs heapSnapshots: true');
      const before = new Set(readdirSync(dataDir));
      server.child.kill('SIGUSR2');
      // The file appears at once and grows while V8 writes it; it is done when its size stops changing.
      let last = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        const f = readdirSync(dataDir).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
        if (!f) continue;
        const size = statSync(join(dataDir, f)).size;
        if (size > 0 && size === last) return join(dataDir, f);
        last = size;
      }
    },
    async restartServer(serverArgs = []) {
      const stopAt = performance.now();
      const code = await server.stop();
      const exitedAt = performance.now();
      earlierOutput += server.output();
      if (code !== 0) throw new Error(`orch server exited with ${code} on SIGTERM:\n${server.output().slice(-2000)}`);
      server = spawnServer(dataDir, server.port, nodeArgs, { extraArgs: serverArgs });
      const spawnedAt = performance.now();
      if (!(await waitReady(server, 2, 60_000))) throw new Error(`orch server did not become ready again:\n${server.output()}`);
      return { stopAt, exitedAt, spawnedAt, readyAt: performance.now() };
    },
    async stop() {
      await hollow.stop();
      await transport.close();
      const code = await server.stop();
      if (process.env.ORCH_BENCH_SERVER_LOG) writeFileSync(process.env.ORCH_BENCH_SERVER_LOG, earlierOutput + server.output());
      if (code !== 0) process.stderr.write(`orch server exited with ${code}:\n${server.output().slice(-2000)}\n`);
      if (profileDir) {
        for (const f of readdirSync(profileDir)) process.stdout.write(`server CPU profile: ${join(profileDir, f)} (data dir kept)\n`);
      } else if (o.heapSnapshots) {
        process.stdout.write(`data dir kept for its heap snapshots: ${dataDir}\n`);
      } else {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Samples a process's CPU and RSS: `mark()` then `read()` gives CPU% of one core since the mark. */
export class ProcessMeter {
  private cpu0 = 0;
  private t0 = 0;
  private peakRss = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  /** Starts a measuring window (and RSS sampling every 250 ms). */
  mark(): void {
    this.cpu0 = cpuMs(this.pid);
    this.t0 = performance.now();
    this.peakRss = rssMiB(this.pid);
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      try {
        this.peakRss = Math.max(this.peakRss, rssMiB(this.pid));
      } catch {
        clearInterval(this.timer); // the process is gone
      }
    }, 250);
    this.timer.unref();
  }

  /** CPU% of one core since mark(), RSS now and the highest RSS sampled since mark(). */
  read(): { cpuPercent: number; cpuMs: number; wallMs: number; rssMiB: number; peakRssMiB: number } {
    const used = cpuMs(this.pid) - this.cpu0;
    const wall = performance.now() - this.t0;
    const rss = rssMiB(this.pid);
    this.peakRss = Math.max(this.peakRss, rss);
    return { cpuPercent: (100 * used) / wall, cpuMs: used, wallMs: wall, rssMiB: rss, peakRssMiB: this.peakRss };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** "ok" or "MISSED" for a figure against its target. */
export function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISSED';
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects on the first failure. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Follows a collection from `resourceVersion` until `signal` aborts,
 * re-watching from the last version seen whenever the server ends the
 * stream (it cuts watchers that fall too far behind, as Kubernetes does),
 * and re-listing when that version is already compacted (410): objects
 * listed then are reported as MODIFIED at the time of the list, so
 * changes inside the gap are timed late, never early.
 * With `reconnectForMs`, a failed connection (or a 503 from a server
 * starting up) is retried every 50 ms for up to that long, so the watch
 * rides out a server restart; without it, such a failure rejects.
 * Resolves to how many times it re-watched, re-listed and reconnected.
 */
export async function followWatch<T extends ObjectLike>(
  rc: ResourceClient<T>,
  resourceVersion: string,
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void,
  signal: AbortSignal,
  opts: { fieldSelector?: string; reconnectForMs?: number } = {},
): Promise<{ rewatches: number; relists: number; reconnects: number }> {
  let rv = resourceVersion;
  const out = { rewatches: -1, relists: 0, reconnects: 0 };
  /** When the current run of connection failures began. */
  let downSince: number | undefined;
  let expired = false;
  while (!signal.aborted) {
    try {
      if (expired) {
        const list = await rc.list({ fieldSelector: opts.fieldSelector, signal });
        out.relists++;
        expired = false;
        for (const o of list.items) onEvent('MODIFIED', o);
        rv = list.metadata.resourceVersion;
      }
      out.rewatches++;
      const w = await rc.watch({ resourceVersion: rv, allowWatchBookmarks: true, fieldSelector: opts.fieldSelector, signal });
      for await (const ev of w) {
        if (ev.type === 'ERROR') {
          if (ev.object.code === 410) {
            expired = true;
            break;
          }
          throw new Error(`watch ${rc.resource.plural}: ${ev.object.message ?? 'error'}`);
        }
        downSince = undefined;
        rv = ev.object.metadata?.resourceVersion ?? rv;
        if (ev.type !== 'BOOKMARK') onEvent(ev.type, ev.object);
      }
    } catch (e) {
      if (signal.aborted) break;
      const unavailable = !(e instanceof ApiStatusError) || e.code === 503;
      if (unavailable && opts.reconnectForMs !== undefined) {
        downSince ??= performance.now();
        if (performance.now() - downSince > opts.reconnectForMs) throw e;
        out.reconnects++;
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (!isExpired(e)) throw e;
      expired = true;
    }
  }
  return out;
}

/** When each pod (by name) was first seen, first bound and first Running, as performance.now() ms. */
export interface PodMilestones {
  seen: Map<string, number>;
  bound: Map<string, number>;
  running: Map<string, number>;
  /** The watch; it ends when `signal` aborts. */
  done: ReturnType<typeof followWatch>;
}

/** Follows a pod watch from `resourceVersion`, noting each pod's milestones; a failed watch is reported, not thrown. */
export function watchPodMilestones(pods: ResourceClient<Pod>, resourceVersion: string, signal: AbortSignal): PodMilestones {
  const m = { seen: new Map<string, number>(), bound: new Map<string, number>(), running: new Map<string, number>() };
  const done = followWatch(
    pods,
    resourceVersion,
    (type, pod) => {
      if (type === 'DELETED') return;
      const name = pod.metadata?.name ?? '';
      const now = performance.now();
      if (!m.seen.has(name)) m.seen.set(name, now);
      if (pod.spec?.nodeName && !m.bound.has(name)) m.bound.set(name, now);
      if (pod.status?.phase === 'Running' && !m.running.has(name)) m.running.set(name, now);
    },
    signal,
  );
  // A failed pod watch only costs the milestones; it must not crash the driver past its clean-up.
  void done.catch((e: unknown) => {
    if (!signal.aborted) console.log(`pod watch failed: ${e instanceof Error ? e.message : String(e)}`);
  });
  return { ...m, done };
}
