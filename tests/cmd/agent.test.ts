/**
 * `orch agent` as an operator meets it: help, one-line errors with exit 1
 * for bad flags and a wrong token, a join that shows up in kubectl, and a
 * clean exit 0 on SIGTERM.
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_NODE_NETWORKING, ORCH_BIN, startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

function orch(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [ORCH_BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('orch agent --help lists its flags', async (t) => {
  const r = await orch(['agent', '--help']);
  t.equal(r.code, 0);
  for (const flag of ['--server', '--token', '--node-name', '--node-ip', '--node-label', '--node-taint', '--data-dir', '--container-runtime-endpoint']) {
    t.match(r.stdout, flag, flag);
  }
  t.match((await orch(['--help'])).stdout, /orch agent/, 'listed by orch --help');
});

t.test('bad flags are one line and exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-agent-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, ORCH_URL: '', ORCH_TOKEN: '' };
  const ok = ['--server', 'https://127.0.0.1:1', '--token', `K10${'a'.repeat(64)}::server:x`, '--data-dir', dir];
  const cases: [string[], RegExp][] = [
    [['--data-dir', dir], /--server \(or ORCH_URL\) is required/],
    [['--server', 'https://127.0.0.1:1', '--data-dir', dir], /--token \(or ORCH_TOKEN\) is required/],
    [[...ok, '--no-such-flag'], /Unknown arguments?: no-such-flag/],
    [[...ok, '--node-taint', 'key=value'], /--node-taint/],
    [[...ok, '--node-label', '=bad'], /--node-label/],
    [[...ok, '--node-ip', 'x.y'], /--node-ip/],
    [[...ok, '--node-name', 'Bad_Name'], /--node-name "Bad_Name"/],
    [['--server', 'http://127.0.0.1:1', '--token', 'x', '--data-dir', dir], /must be an https:\/\/ URL/],
    [ok, /cannot reach https:\/\/127\.0\.0\.1:1: connection refused/],
  ];
  for (const [flags, message] of cases) {
    const r = await orch(['agent', ...flags], env);
    t.equal(r.code, 1, flags.join(' '));
    t.match(r.stderr, message, flags.join(' '));
    t.equal(r.stderr.trim().split('\n').length, 1, `${flags.join(' ')}: one line`);
  }
});

t.test('an agent joins a server, shows up in kubectl, and stops on SIGTERM', async (t) => {
  const srv = await startServerProcess();
  t.teardown(() => srv.stop());
  const token = readFileSync(join(srv.dataDir, 'server', 'node-token'), 'utf8').trim();
  const dataDir = mkdtempSync(join(tmpdir(), 'orch-agent-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  const wrong = await orch(['agent', '--server', `https://127.0.0.1:${srv.port}`, '--token', token.replace(/:[^:]+$/, ':wrong'), '--data-dir', dataDir, '--node-name', 'w']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /refused the token \(401 Unauthorized\)/);

  // Server and token from the environment, as ORCH_URL / ORCH_TOKEN.
  // In the root namespace, beside other tests' servers: without node networking (tested on test hosts).
  const child = spawn(process.execPath, [ORCH_BIN, 'agent', '--data-dir', dataDir, '--node-name', 'cli-worker', '--node-label', 'zone=b', ...NO_NODE_NETWORKING], {
    env: { ...process.env, ORCH_URL: `https://127.0.0.1:${srv.port}`, ORCH_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  await waitFor(() => out.includes('registered'), 20_000, 'the agent to register');
  const r = await srv.kubectl(['get', 'node', 'cli-worker', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.metadata.labels.zone}']);
  t.equal(r.stdout, 'True b');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit 0 on SIGTERM');
  t.match(out, /SIGTERM received/);
});
