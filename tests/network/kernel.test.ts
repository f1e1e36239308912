import t from 'tap';
import { enableHairpin, execRun, type Run } from '../../pkg/network/kernel.js';

t.test('execRun: exit codes, output and input, never a throw', async (t) => {
  t.same(await execRun('sh', ['-c', 'echo out; echo err >&2; exit 3']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
  t.same(await execRun('cat', [], { input: 'through stdin\n' }), { code: 0, stdout: 'through stdin\n', stderr: '' });
  // Exits at once without reading a large input: EPIPE on its stdin must not escape.
  const r = await execRun('true', [], { input: 'x'.repeat(1 << 20) });
  t.equal(r.code, 0);
  for (let i = 0; i < 20; i++) t.equal((await execRun('true', [])).code, 0);
  const missing = await execRun('/nonexistent/cmd', []);
  t.not(missing.code, 0);
  t.match(missing.stderr, /ENOENT/);
});

t.test('enableHairpin puts every port of the bridge (and only those lacking it) in hairpin mode', async (t) => {
  const ns = `orch-hp-${process.pid}`;
  const ip = (args: string[]) => execRun('ip', ['-n', ns, ...args]);
  await execRun('ip', ['netns', 'add', ns]);
  t.teardown(() => execRun('ip', ['netns', 'del', ns]));
  // Runs `ip` inside the namespace, as the agent runs it inside its own.
  const inNs: Run = (cmd, args, o) => execRun('nsenter', [`--net=/var/run/netns/${ns}`, cmd, ...args], o);
  await ip(['link', 'add', 'br-hp', 'type', 'bridge']);
  for (const p of ['hp0', 'hp1']) {
    await ip(['link', 'add', p, 'type', 'veth', 'peer', 'name', `${p}x`]);
    await ip(['link', 'set', p, 'master', 'br-hp']);
  }
  const hairpin = async (port: string) => {
    const out = JSON.parse((await ip(['-d', '-j', 'link', 'show', 'dev', port])).stdout) as { linkinfo?: { info_slave_data?: { hairpin?: boolean } } }[];
    return out[0]?.linkinfo?.info_slave_data?.hairpin;
  };
  t.same(await enableHairpin(inNs, 'br-hp'), ['hp0', 'hp1'], 'both ports changed');
  t.equal(await hairpin('hp0'), true);
  t.equal(await hairpin('hp1'), true);
  t.equal(await hairpin('hp0x'), undefined, 'the peers, not on the bridge, untouched');
  t.same(await enableHairpin(inNs, 'br-hp'), [], 'nothing to do the second time');
  t.same(await enableHairpin(inNs, 'no-such-bridge'), [], 'a bridge that is gone is not an error');
});
