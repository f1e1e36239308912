/**
 * Runs the built `orch server` (dist/cmd/orch.js) as a child process, the
 * way an operator starts it, on a free port and a temporary data dir.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  output(): string;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** Runs kubectl against this server. */
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean }): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Starts `orch server --disable-agent` and waits until it reports it is listening. */
export async function startServerProcess(extraArgs: string[] = [], dataDir?: string): Promise<ServerProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'orch-e2e-'));
  const port = await freePort();
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  const child = spawn(
    process.execPath,
    [ORCH_BIN, 'server', '--data-dir', dir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1', '--disable-agent', '--write-kubeconfig', kubeconfig, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`orch server did not start in 20 s:\n${out}`)), 20_000);
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
  return {
    child,
    dataDir: dir,
    port,
    kubeconfig,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
      return code;
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
}
