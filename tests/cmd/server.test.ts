/**
 * The `orch` CLI as an operator meets it: bad flags and bad environments
 * get one clear line and a non-zero exit; SIGTERM shuts down cleanly;
 * `orch kubectl` runs kubectl with the admin kubeconfig.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORCH_BIN, freePort, startServerProcess } from '../helpers/server-process.js';

function orch(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [ORCH_BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

t.test('bad flags are refused with a message naming the flag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-cli-'));
  const cases: [string[], RegExp][] = [
    [['--service-cidr', '10.43.0.0/99'], /--service-cidr/],
    [['--cluster-cidr', 'banana'], /--cluster-cidr/],
    [['--service-node-port-range', '40000-30000'], /--service-node-port-range/],
    [['--https-listen-port', '70000'], /--https-listen-port/],
    [['--bind-address', 'not-an-ip'], /--bind-address/],
    [['--advertise-address', 'x.y'], /--advertise-address/],
    [['--write-kubeconfig-mode', '0999'], /--write-kubeconfig-mode/],
    [['--node-taint', 'key=value'], /--node-taint/],
    [['--node-label', '=bad'], /--node-label/],
    [['--no-such-flag'], /Unknown argument/],
    [['--node-monitor-grace-period', 'soon'], /--node-monitor-grace-period: "soon" is not a duration/],
    [['--node-cidr-mask-size', '8'], /--node-cidr-mask-size/],
    [['--default-not-ready-toleration-seconds=-5'], /--default-not-ready-toleration-seconds/],
  ];
  for (const [flags, message] of cases) {
    const r = await orch(['server', '--data-dir', dir, '--disable-agent', ...flags]);
    t.not(r.code, 0, flags.join(' '));
    t.match(r.stderr, message, flags.join(' '));
    t.notMatch(r.stderr, /\n\s+at /, `${flags.join(' ')}: no stack trace`);
  }
});

t.test('a data dir it cannot use and a port in use are one-line errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-cli-'));
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  const port = await freePort();
  const bad = await orch(['server', '--data-dir', join(file, 'sub'), '--https-listen-port', String(port), '--disable-agent']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /data dir .*plain-file\/sub.*(cannot be created|not writable)/);
  t.notMatch(bad.stderr, /\n\s+at /);

  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  t.teardown(() => blocker.close());
  const busy = await orch(['server', '--data-dir', join(dir, 'd'), '--https-listen-port', String(port), '--bind-address', '127.0.0.1', '--disable-agent', '--write-kubeconfig', join(dir, 'kc')]);
  t.not(busy.code, 0);
  t.match(busy.stderr, new RegExp(`port ${port} .* already in use`));
});

t.test('SIGTERM shuts down cleanly and a restart keeps the data', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-cli-'));
  const s1 = await startServerProcess([], dir);
  await s1.kubectl(['create', 'namespace', 'kept'], { allowFail: true });
  await s1.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: survivor, namespace: default}\ndata: {a: "1"}\n' });
  t.equal(await s1.stop(), 0, 'exit code 0 after SIGTERM');
  t.match(s1.output(), /SIGTERM received, shutting down/);
  const s2 = await startServerProcess([], dir);
  t.teardown(() => s2.stop());
  const got = await s2.kubectl(['get', 'configmap', 'survivor', '-o', 'jsonpath={.data.a}']);
  t.equal(got.stdout, '1', 'acknowledged writes survive a restart');
  t.ok(existsSync(join(dir, 'server', 'token')), 'join token written');
  t.match((await s2.kubectl(['get', 'ns'])).stdout, /default/);

  const viaOrch = await orch(['kubectl', 'get', 'configmap', 'survivor', '-o', 'name'], { ...process.env, KUBECONFIG: s2.kubeconfig });
  t.equal(viaOrch.code, 0);
  t.equal(viaOrch.stdout.trim(), 'configmap/survivor', 'orch kubectl passes arguments through');
  const noKubectl = await orch(['kubectl', 'get', 'pods'], { ...process.env, PATH: '/nonexistent', KUBECONFIG: s2.kubeconfig });
  t.equal(noKubectl.code, 127);
  t.match(noKubectl.stderr, /kubectl is not installed/);
});
