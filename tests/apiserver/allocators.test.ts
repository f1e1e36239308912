import t from 'tap';
import {
  AlreadyAllocatedError,
  CidrAllocator,
  InvalidRangeError,
  NotInRangeError,
  PortAllocator,
  RangeFullError,
  nthAddress,
  parseCidr,
  parsePortRange,
} from '../../pkg/apiserver/allocators.js';

t.test('parseCidr and nthAddress', async (t) => {
  t.same(parseCidr('10.43.0.0/16'), { cidr: '10.43.0.0/16', network: 0x0a2b0000, prefix: 16, total: 65536 });
  t.equal(parseCidr('10.43.5.7/16').cidr, '10.43.0.0/16', 'host bits are masked');
  const cases: [string, number, string][] = [
    ['10.43.0.0/16', 1, '10.43.0.1'],
    ['10.43.0.0/16', 10, '10.43.0.10'],
    ['10.96.0.0/12', 1, '10.96.0.1'],
    ['192.168.1.0/24', 255, '192.168.1.255'],
  ];
  for (const [cidr, n, want] of cases) t.equal(nthAddress(cidr, n), want, `${cidr} #${n}`);
  for (const bad of ['10.43.0.0', '10.43.0.0/33', 'fd00::/64', 'x/8', '10.43.0.256/16', '']) {
    t.throws(() => parseCidr(bad), InvalidRangeError, `rejects ${JSON.stringify(bad)}`);
  }
  t.throws(() => nthAddress('10.0.0.0/30', 4), InvalidRangeError);
  t.throws(() => new CidrAllocator('10.0.0.0/31'), InvalidRangeError, 'too small');
});

t.test('CidrAllocator.allocate errors match Kubernetes', async (t) => {
  const a = new CidrAllocator('10.43.0.0/16');
  const notInRange = (ip: string): string =>
    `failed to allocate IP ${ip}: provided IP is not in the valid range. The range of valid IPs is 10.43.0.0/16`;
  for (const ip of ['10.99.0.1', '10.43.0.0', '10.43.255.255', 'not-an-ip', 'fd00::1']) {
    t.throws(() => a.allocate(ip), new NotInRangeError(notInRange(ip)), `${ip} is out of range`);
  }
  a.allocate('10.43.0.5');
  t.ok(a.isAllocated('10.43.0.5'));
  t.throws(
    () => a.allocate('10.43.0.5'),
    new AlreadyAllocatedError('failed to allocate IP 10.43.0.5: provided IP is already allocated'),
  );
  try {
    a.allocate('10.43.0.5');
  } catch (err) {
    t.type(err, AlreadyAllocatedError);
    t.equal(err instanceof AlreadyAllocatedError && err.reason, 'Allocated');
  }
  t.equal(a.release('10.43.0.5'), true);
  t.equal(a.release('10.43.0.5'), false, 'second release is a no-op');
  t.equal(a.release('1.2.3.4'), false, 'out of range release is a no-op');
  t.notOk(a.isAllocated('10.43.0.5'));
  a.allocate('10.43.0.5');
  t.ok(a.isAllocated('10.43.0.5'), 'reusable after release');
});

t.test('reserved addresses: only when asked for', async (t) => {
  // A /28 has 14 usable addresses; .1 and .10 are reserved by default.
  const a = new CidrAllocator('10.43.0.0/28');
  const got = new Set<string>();
  for (let i = 0; i < 12; i++) got.add(a.allocateNext());
  t.equal(got.size, 12);
  t.notOk(got.has('10.43.0.1'));
  t.notOk(got.has('10.43.0.10'));
  t.throws(() => a.allocateNext(), RangeFullError);
  a.allocate('10.43.0.10');
  a.allocate('10.43.0.1');
  t.equal(a.count, 14);
  const none = new CidrAllocator('10.43.0.0/29', { reserved: [] });
  const all = Array.from({ length: 6 }, () => none.allocateNext()).sort();
  t.same(all, ['10.43.0.1', '10.43.0.2', '10.43.0.3', '10.43.0.4', '10.43.0.5', '10.43.0.6']);
});

t.test('exhaustion on a /29, then release frees exactly one', async (t) => {
  const a = new CidrAllocator('192.168.7.0/29');
  const got: string[] = [];
  for (let i = 0; i < 5; i++) got.push(a.allocateNext());
  t.same([...got].sort(), ['192.168.7.2', '192.168.7.3', '192.168.7.4', '192.168.7.5', '192.168.7.6']);
  t.throws(() => a.allocateNext(), new RangeFullError('failed to allocate a serviceIP: range is full'));
  a.release('192.168.7.4');
  t.equal(a.allocateNext(), '192.168.7.4');
  t.throws(() => a.allocateNext(), RangeFullError);
});

t.test('allocateNext in a /16 prefers the dynamic band and never returns network/broadcast', async (t) => {
  const lowest = new CidrAllocator('10.43.0.0/16', { random: () => 0 });
  // The first 256 offsets are the static band (Kubernetes' calculateRangeOffset).
  t.equal(lowest.allocateNext(), '10.43.1.1');
  const highest = new CidrAllocator('10.43.0.0/16', { random: () => 0.9999999999 });
  t.equal(highest.allocateNext(), '10.43.255.254');
  t.equal(highest.allocateNext(), '10.43.1.1', 'wraps around inside the dynamic band');
  const r = new CidrAllocator('10.43.0.0/16');
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) seen.add(r.allocateNext());
  t.equal(seen.size, 2000, 'all distinct');
  t.equal(r.count, 2000);
  t.notOk(seen.has('10.43.0.0'));
  t.notOk(seen.has('10.43.255.255'));
});

t.test('CidrAllocator.restore rebuilds and reports bad entries', async (t) => {
  const a = new CidrAllocator('10.43.0.0/16');
  a.allocate('10.43.9.9');
  const res = a.restore(['10.43.0.1', '10.43.0.10', '10.43.3.4', '10.43.3.4', '10.99.0.1']);
  t.equal(res.restored, 3);
  t.equal(res.errors.length, 2);
  t.type(res.errors[0], AlreadyAllocatedError);
  t.type(res.errors[1], NotInRangeError);
  t.notOk(a.isAllocated('10.43.9.9'), 'restore replaces previous state');
  t.ok(a.isAllocated('10.43.0.1'));
  t.ok(a.isAllocated('10.43.3.4'));
  t.equal(a.count, 3);
});

t.test('parsePortRange', async (t) => {
  const ok: [string, { min: number; max: number }][] = [
    ['30000-32767', { min: 30000, max: 32767 }],
    [' 30000-32767 ', { min: 30000, max: 32767 }],
    ['30000+2767', { min: 30000, max: 32767 }],
    ['8080', { min: 8080, max: 8080 }],
    ['1-65535', { min: 1, max: 65535 }],
  ];
  for (const [s, want] of ok) t.same(parsePortRange(s), want, s);
  const bad: [string, RegExp][] = [
    ['', /expected <min>-<max>/],
    ['abc', /expected <min>-<max>/],
    ['30000-', /expected <min>-<max>/],
    ['-5-10', /expected <min>-<max>/],
    ['0-100', /between 1 and 65535/],
    ['30000-70000', /between 1 and 65535/],
    ['32767-30000', /greater than the last/],
  ];
  for (const [s, msg] of bad) t.throws(() => parsePortRange(s), { name: 'InvalidRangeError', message: msg }, JSON.stringify(s));
});

t.test('PortAllocator', async (t) => {
  const p = new PortAllocator('30000-32767');
  t.equal(p.size, 2768);
  const notInRange = 'provided port is not in the valid range. The range of valid ports is 30000-32767';
  for (const port of [80, 29999, 32768, 30000.5]) {
    t.throws(() => p.allocate(port), new NotInRangeError(notInRange), String(port));
  }
  p.allocate(30080);
  t.throws(() => p.allocate(30080), new AlreadyAllocatedError('provided port is already allocated'));
  t.ok(p.isAllocated(30080));
  t.ok(p.release(30080));
  t.notOk(p.isAllocated(30080));
  p.allocate(30080);

  const n = p.allocateNext();
  t.ok(n >= 30000 && n <= 32767 && n !== 30080);

  const tiny = new PortAllocator({ min: 40000, max: 40002 });
  const got = [tiny.allocateNext(), tiny.allocateNext(), tiny.allocateNext()].sort();
  t.same(got, [40000, 40001, 40002]);
  t.throws(() => tiny.allocateNext(), new RangeFullError('failed to allocate a nodePort: range is full'));
  tiny.release(40001);
  t.equal(tiny.allocateNext(), 40001);
  t.throws(() => new PortAllocator({ min: 10, max: 5 }), InvalidRangeError);

  const r = tiny.restore([40000, 40000, 50000]);
  t.equal(r.restored, 1);
  t.same(
    r.errors.map((e) => e.reason),
    ['Allocated', 'NotInRange'],
  );
  t.equal(tiny.count, 1);
});
