import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upstreamsFromResolvConf, upstreamsFromResolvConfText } from '../../pkg/dns/resolv.js';

t.test('upstreams from resolv.conf text', async (t) => {
  const cases: { name: string; text: string; exclude?: { address: string; port: number }[]; want: string[] }[] = [
    { name: 'plain', text: 'search example.com\nnameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:1\n', want: ['10.0.0.2', '10.0.0.3'] },
    { name: 'comments and duplicates', text: '# x\nnameserver 10.0.0.2 ; y\nnameserver 10.0.0.2\n', want: ['10.0.0.2'] },
    { name: 'systemd-resolved stub kept (we run in the node namespace)', text: 'nameserver 127.0.0.53\n', want: ['127.0.0.53'] },
    { name: 'ourselves dropped (a loop)', text: 'nameserver 10.43.0.10\nnameserver 1.1.1.1\n', exclude: [{ address: '10.43.0.10', port: 53 }], want: ['1.1.1.1'] },
    { name: 'same address, other port: not us', text: 'nameserver 127.0.0.1\n', exclude: [{ address: '127.0.0.1', port: 5353 }], want: ['127.0.0.1'] },
    { name: 'no nameserver: glibc default', text: 'search x\n', want: ['127.0.0.1'] },
    { name: 'IPv6', text: 'nameserver fd00::53\n', want: ['fd00::53'] },
  ];
  for (const c of cases) {
    const ups = upstreamsFromResolvConfText(c.text, c.exclude);
    t.same(ups.map((u) => u.address), c.want, c.name);
    t.ok(ups.every((u) => u.port === 53), `${c.name}: port 53`);
  }
});

t.test('upstreams from a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-dns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, 'nameserver 192.0.2.53\n');
  t.same(await upstreamsFromResolvConf(path), [{ address: '192.0.2.53', port: 53 }]);
  await t.rejects(upstreamsFromResolvConf(join(dir, 'missing')));
});
