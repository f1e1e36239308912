import t from 'tap';
import { CidrSet, InvalidCidrError, formatIPv4, parseCidr, parseIPv4 } from '../../../pkg/controllers/nodeipam/cidr-set.js';

t.test('parsing', async (t) => {
  const ips: [string, number | undefined][] = [
    ['10.42.0.0', 0x0a2a0000],
    ['255.255.255.255', 0xffffffff],
    ['0.0.0.0', 0],
    ['10.42.0', undefined],
    ['10.42.0.256', undefined],
    ['10.42.0.x', undefined],
    ['fd00::1', undefined],
  ];
  for (const [s, want] of ips) t.equal(parseIPv4(s), want, s);
  t.equal(formatIPv4(0xc0a80101), '192.168.1.1');
  t.same(parseCidr('10.42.7.9/16'), { base: 0x0a2a0000, prefix: 16 }, 'host bits are masked off');
  t.equal(parseCidr('10.42.0.0/33'), undefined);
  t.equal(parseCidr('10.42.0.0'), undefined);
});

t.test('bad options', async (t) => {
  const cases: [string, number][] = [
    ['nonsense', 24],
    ['10.42.0.0/16', 8],
    ['10.42.0.0/16', 33],
    ['10.0.0.0/8', 25],
  ];
  for (const [cidr, mask] of cases) t.throws(() => new CidrSet(cidr, mask), InvalidCidrError, `${cidr} mask ${mask}`);
});

t.test('allocation', async (t) => {
  const s = new CidrSet('10.42.0.0/16', 24);
  t.equal(s.capacity, 256);
  t.equal(s.allocate(), '10.42.0.0/24');
  t.equal(s.allocate(), '10.42.1.0/24');
  t.ok(s.occupy('10.42.2.0/24'), 'a subnet found on a node');
  t.equal(s.allocate(), '10.42.3.0/24', 'skips the occupied one');
  s.release('10.42.0.0/24');
  t.equal(s.allocate(), '10.42.4.0/24', 'a freed subnet is not reused at once');
  t.notOk(s.occupy('10.43.0.0/24'), 'outside the cluster CIDR');
  t.notOk(s.occupy('10.42.0.0/25'), 'another mask size');
  t.equal(s.indexOf('10.42.255.0/24'), 255);
  t.equal(s.usedCount, 4);
});

t.test('a full set, then a freed subnet', async (t) => {
  const s = new CidrSet('10.0.0.0/23', 24);
  const got = [s.allocate(), s.allocate(), s.allocate()];
  t.same(got, ['10.0.0.0/24', '10.0.1.0/24', undefined]);
  s.release('10.0.0.0/24');
  t.equal(s.allocate(), '10.0.0.0/24', 'wraps around to the freed one');
  t.ok(s.isUsed('10.0.1.0/24'));
});
