/**
 * Shared bits of the control-plane benchmarks: spawning the built
 * `node dist/cmd/orch.js server` (plain node, no npx, no tsx), an undici
 * client that trusts the data dir's CA, and small statistics helpers.
 * `npm run build` must have run: the benchmarks time the shipped JavaScript.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { NODE_FLAGS } from '../../../pkg/util/heap.js';

// One definition of where the built CLI is and how to pick a port, shared with the tests.
import { ORCH_BIN, freePort } from '../../../tests/helpers/server-process.js';

export { ORCH_BIN, freePort };

/** Fails early, with the fix, when the build output is missing. */
export function requireBuild(): void {
  if (!existsSync(ORCH_BIN)) {
    process.stderr.write(`${ORCH_BIN} is missing: run \`npm run build\` first\n`);
    process.exit(1);
  }
}

/** A spawned `node dist/cmd/orch.js …` process. */
export interface SpawnedProcess {
  child: ChildProcess;
  /** Exit code, or the signal name when a signal ended it. */
  exited: Promise<number | string>;
  output(): string;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | string>;
}

export interface Spawned extends SpawnedProcess {
  /** Server CPU ms used when /readyz first answered 200 (set by waitReady). */
  cpuAtReadyMs?: number;
  port: number;
  dataDir: string;
}

/** Spawns `node NODE_FLAGS [nodeArgs] dist/cmd/orch.js [args]` with its output collected, without waiting for it. */
export function spawnOrch(args: string[], nodeArgs: string[] = []): SpawnedProcess {
  // As the bin and `npm start` run it (NODE_FLAGS), then the benchmark's own.
  const child = spawn(process.execPath, [...NODE_FLAGS, ...nodeArgs, ORCH_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // NODE_OPTIONS from the bench's own `--import=tsx` must not leak into the child.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? 'unknown')));
  return {
    child,
    exited,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** How spawnServer runs the server beyond its data dir and port. */
export interface ServerSpawnOptions {
  /** Run the embedded agent (Docker kubelet) under this node name; without it the server gets --disable-agent. */
  agentNodeName?: string;
  /** More `orch server` flags, e.g. ['--disable-scheduler']. */
  extraArgs?: string[];
}

/** Spawns `node dist/cmd/orch.js server` (--disable-agent unless o.agentNodeName, then o.extraArgs) on `port`, without waiting for it. */
export function spawnServer(dataDir: string, port: number, nodeArgs: string[] = [], o: ServerSpawnOptions = {}): Spawned {
  const agentArgs = o.agentNodeName === undefined ? ['--disable-agent'] : ['--node-name', o.agentNodeName];
  const args = ['server', '--data-dir', dataDir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1', ...agentArgs, '--write-kubeconfig', join(dataDir, 'kc.yaml'), ...(o.extraArgs ?? [])];
  return { ...spawnOrch(args, nodeArgs), port, dataDir };
}

/** Spawns `node dist/cmd/orch.js agent` joined to `server` with `token`, without waiting for it. */
export function spawnAgent(o: { server: string; token: string; nodeName: string; dataDir: string; nodeArgs?: string[] }): SpawnedProcess {
  return spawnOrch(['agent', '--server', o.server, '--token', o.token, '--node-name', o.nodeName, '--data-dir', o.dataDir], o.nodeArgs);
}

/** An undici dispatcher that trusts the server CA of a data dir. */
export function trustingAgent(dataDir: string, connections = 8): Agent {
  const ca = readFileSync(join(dataDir, 'server/tls/server-ca.crt'), 'utf8');
  return new Agent({ connect: { ca }, connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** The admin bearer token of a data dir. */
export function adminToken(dataDir: string): string {
  return readFileSync(join(dataDir, 'server/cred/admin.token'), 'utf8').trim();
}

/** Polls /readyz until 200; resolves to true, or false when the server exits first or `timeoutMs` passes. */
export async function waitReady(s: Spawned, intervalMs = 2, timeoutMs = 20_000): Promise<boolean> {
  let dead = false;
  void s.exited.then(() => (dead = true));
  // The CA does not exist before the first start has generated it, so trust is
  // established lazily; until the file is there, nothing is listening anyway.
  let agent: Agent | undefined;
  const deadline = performance.now() + timeoutMs;
  try {
    while (!dead && performance.now() < deadline) {
      if (!agent && existsSync(join(s.dataDir, 'server/tls/server-ca.crt'))) {
        agent = trustingAgent(s.dataDir, 1);
      }
      if (agent) {
        try {
          const r = await request(`https://127.0.0.1:${s.port}/readyz`, { dispatcher: agent, headersTimeout: 5_000 });
          await r.body.dump();
          if (r.statusCode === 200) {
            if (s.child.pid !== undefined) s.cpuAtReadyMs = cpuMs(s.child.pid);
            return true;
          }
        } catch (e) {
          // ECONNREFUSED until the socket listens; anything else (a CA read
          // half-written) means: build the trust again on the next tick.
          if (!(e instanceof Error && 'code' in e && e.code === 'ECONNREFUSED')) {
            await agent.close();
            agent = undefined;
          }
        }
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    return false;
  } finally {
    await agent?.close();
  }
}

/** Starts a server and waits until /readyz answers 200; throws with its output otherwise. */
export async function startReadyServer(dataDir: string): Promise<Spawned> {
  const s = spawnServer(dataDir, await freePort());
  if (!(await waitReady(s, 20))) {
    await s.stop();
    throw new Error(`orch server did not become ready:\n${s.output()}`);
  }
  return s;
}

/** The value at quantile q (0..1) of an ascending array, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Milliseconds with one decimal. */
export function ms(v: number): string {
  return `${v.toFixed(1)} ms`;
}

/** CPU time (user + system) a live process has used so far, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  // Fields after "(comm) ": state is [0], utime [11], stime [12], in clock ticks (100/s on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** RSS of a live process from /proc/<pid>/status, in MiB. */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}
