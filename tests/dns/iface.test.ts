import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureDnsAddress, removeDnsAddress } from '../../pkg/dns/iface.js';

const exec = promisify(execFile);

t.test('ensureDnsAddress / removeDnsAddress in a network namespace of our own', async (t) => {
  const ns = `orch-dnst-${process.pid}`;
  await exec('ip', ['netns', 'add', ns]);
  t.teardown(async () => {
    await exec('ip', ['netns', 'del', ns]);
  });
  const show = async (): Promise<string> => (await exec('ip', ['-n', ns, '-o', 'addr', 'show'])).stdout;

  for (let i = 0; i < 2; i++) await ensureDnsAddress('10.43.0.10', 'orch-dns', { netns: ns });
  await ensureDnsAddress('169.254.20.10', 'orch-dns', { netns: ns });
  const addrs = await show();
  t.equal(addrs.match(/inet 10\.43\.0\.10\/32/g)?.length, 1, 'the address once, after two calls');
  t.match(addrs, /orch-dns\s+inet 169\.254\.20\.10\/32/);
  const link = (await exec('ip', ['-n', ns, '-d', 'link', 'show', 'orch-dns'])).stdout;
  t.match(link, /\b(dummy|bridge)\b/, 'a dummy link, or an empty bridge where the kernel has no dummy driver');
  t.match(link, /[<,]UP[,>]/, 'link up');

  // A socket binds to it inside the namespace (a process entered into it with nsenter).
  const script = "const s=require('dgram').createSocket('udp4');s.bind(53,'10.43.0.10',()=>{console.log('bound '+s.address().address);s.close()})";
  const { stdout } = await exec('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, '-e', script]);
  t.equal(stdout.trim(), 'bound 10.43.0.10');

  await removeDnsAddress('10.43.0.10', 'orch-dns', { netns: ns });
  t.notMatch(await show(), /10\.43\.0\.10/);
  t.match(await show(), /169\.254\.20\.10/, 'the other address stays, and the link with it');
  await removeDnsAddress('169.254.20.10', 'orch-dns', { netns: ns });
  await removeDnsAddress('169.254.20.10', 'orch-dns', { netns: ns });
  await t.rejects(exec('ip', ['-n', ns, 'link', 'show', 'orch-dns']), 'link removed with its last address');
});
