/**
 * Runs the built `orch server` (dist/cmd/orch.js) as a child process, the
 * way an operator starts it, on a free port and a temporary data dir.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanupNode } from './docker.js';
import { NODE_FLAGS } from '../../pkg/util/heap.js';

export const ORCH_BIN = resolve(import.meta.dirname, '../../dist/cmd/orch.js');

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  dataDir: string;
  port: number;
  kubeconfig: string;
  /** The embedded agent's node (absent with --disable-agent). */
  nodeName?: string;
  output(): string;
  /** SIGTERM and wait for exit (containers of the node keep running); resolves to the exit code. */
  stop(): Promise<number | null>;
  /** stop(), then removes every Docker container of the embedded agent's node and the data dir it made. */
  close(): Promise<void>;
  /** Runs kubectl against this server. */
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export interface ServerProcessOptions {
  /** Run the embedded agent as this node (a name unique per test: its containers are labelled with it). */
  agentNodeName?: string;
  /** Extra environment of the server process. */
  env?: Record<string, string>;
  /** With the agent: wait until its node is Ready (default true). */
  waitNodeReady?: boolean;
  /** Address the API listens on (default 127.0.0.1); a test host's root-side veth address lets its agent in. */
  bindAddress?: string;
  /**
   * Let the embedded agent network its node (pod network, Service proxy,
   * cluster DNS) — default false: tests run servers side by side in the
   * root namespace, where their bridges, tables and DNS address would
   * collide; networking is tested on test hosts, one namespace each.
   */
  nodeNetworking?: boolean;
}

/** The flags that leave the root namespace's network alone (the embedded agent's pods stay on Docker's default bridge). */
export const NO_NODE_NETWORKING = ['--flannel-backend', 'none', '--disable-kube-proxy', '--disable-cluster-dns'];

/**
 * Starts `orch server` (`--disable-agent` unless opts.agentNodeName) and waits until it
 * reports it is listening (and, with the agent, until its node is Ready).
 */
export async function startServerProcess(extraArgs: string[] = [], dataDir?: string, opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'orch-e2e-'));
  const port = await freePort();
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  const nodeName = opts.agentNodeName;
  const agentArgs = nodeName === undefined ? ['--disable-agent'] : ['--node-name', nodeName, ...(opts.nodeNetworking ? [] : NO_NODE_NETWORKING)];
  const child = spawn(
    process.execPath,
    [...NODE_FLAGS, ORCH_BIN, 'server', '--data-dir', dir, '--https-listen-port', String(port), '--bind-address', opts.bindAddress ?? '127.0.0.1', ...agentArgs, '--write-kubeconfig', kubeconfig, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) } },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`orch server did not start in 20 s:\n${out}`));
    }, 20_000);
    const check = () => {
      if (out.includes('listening on')) {
        clearTimeout(timer);
        res();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`orch server exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const code = await exited;
    if (!dataDir) rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const sp: ServerProcess = {
    child,
    dataDir: dir,
    port,
    kubeconfig,
    nodeName,
    output: () => out,
    stop,
    async close() {
      try {
        await stop();
      } finally {
        if (nodeName !== undefined) await cleanupNode(nodeName);
      }
    },
    kubectl(args, opts = {}) {
      return new Promise((res, rej) => {
        const p = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          if (code !== 0 && !opts.allowFail) rej(new Error(`kubectl ${args.join(' ')} failed (${code}):\n${stderr}${stdout}`));
          else res({ code, stdout, stderr });
        });
        if (opts.input !== undefined) p.stdin?.end(opts.input);
      });
    },
  };
  if (nodeName !== undefined && opts.waitNodeReady !== false) {
    try {
      await waitNodeReady(sp, nodeName);
    } catch (e) {
      await sp.close();
      throw e;
    }
  }
  return sp;
}

/** Waits (up to 30 s) until the node exists and is Ready. */
async function waitNodeReady(sp: ServerProcess, nodeName: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await sp.kubectl(['wait', '--for=condition=Ready', `node/${nodeName}`, '--timeout=10s'], { allowFail: true });
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`node ${nodeName} not Ready in 30 s: ${r.stderr}\n${sp.output()}`);
    // `kubectl wait` fails at once while the node does not exist yet.
    await new Promise((res) => setTimeout(res, 200));
  }
}
