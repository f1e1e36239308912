import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, unlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  TLS_FILES,
  TlsError,
  canonicalIp,
  certSans,
  ensureServerTls,
  issueCertificate,
  wantedSans,
  x509Loaded,
  type SanOptions,
} from '../../pkg/server/tls.js';

const DAY = 24 * 60 * 60 * 1000;

const fakeHost: SanOptions = {
  hostname: 'Edge-Box-1',
  interfaces: {
    lo: [
      { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
      { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
    ],
    eth0: [
      { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '192.168.1.20/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
      { address: '2001:db8::20', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: '2001:db8::20/64', scopeid: 0 },
    ],
  },
};

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(os.tmpdir(), 'orch-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('canonicalIp', async (t) => {
  const cases: [string, string | undefined][] = [
    ['10.43.0.1', '10.43.0.1'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['2001:DB8::20', '2001:db8:0:0:0:0:0:20'],
    ['::ffff:10.0.0.1', '0:0:0:0:0:ffff:a00:1'],
    ['fd00:0:0:0:0:0:0:2', 'fd00:0:0:0:0:0:0:2'],
    ['example.com', undefined],
    ['10.43.0.256', undefined],
  ];
  for (const [ip, want] of cases) t.equal(canonicalIp(ip), want, ip);
});

t.test('wantedSans', async (t) => {
  const sans = wantedSans({ ...fakeHost, serviceCidr: '10.96.0.0/12', tlsSans: ['api.example.com', '203.0.113.9', '[2001:db8::99]', 'LB.Example.com.'] });
  t.same(sans.dns, [
    'api.example.com',
    'edge-box-1',
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'lb.example.com',
    'localhost',
  ]);
  t.same(sans.ips, [
    '0:0:0:0:0:0:0:1',
    '10.96.0.1',
    '127.0.0.1',
    '192.168.1.20',
    '2001:db8:0:0:0:0:0:20',
    '2001:db8:0:0:0:0:0:99',
    '203.0.113.9',
  ]);
  t.notOk(sans.ips.some((ip) => ip.startsWith('fe80')), 'link-local v6 left out');
  t.ok(wantedSans({ ...fakeHost, hostname: 'bad host!' }).dns.every((d) => d !== 'bad host!'), 'odd hostname skipped');
  for (const bad of ['has space', 'under,score', '-lead.example.com', '']) {
    t.throws(() => wantedSans({ ...fakeHost, tlsSans: [bad] }), TlsError, `rejects --tls-san ${JSON.stringify(bad)}`);
  }
});

t.test('first start creates CA and serving cert with the right SANs', async (t) => {
  const dataDir = await tempDir(t);
  const tls = await ensureServerTls({ dataDir, tlsSans: ['orch.example.com', '198.51.100.7'] });
  t.same(tls.generated, { serverCa: true, clientCa: true, serving: true });
  t.equal(tls.dir, join(dataDir, 'server', 'tls'));
  t.ok(x509Loaded(), 'generation loads @peculiar/x509');

  for (const [name, mode] of [
    [TLS_FILES.serverCaKey, 0o600],
    [TLS_FILES.clientCaKey, 0o600],
    [TLS_FILES.servingKey, 0o600],
    [TLS_FILES.serverCaCert, 0o644],
    [TLS_FILES.clientCaCert, 0o644],
    [TLS_FILES.servingCert, 0o644],
  ] as const) {
    t.equal((await stat(join(tls.dir, name))).mode & 0o777, mode, `${name} mode`);
  }
  t.match(tls.keyPem, /^-----BEGIN EC PRIVATE KEY-----/);

  const ca = new X509Certificate(tls.caCertPem);
  const cert = new X509Certificate(tls.certPem);
  t.ok(ca.ca, 'server CA is a CA');
  t.notOk(cert.ca, 'serving cert is not a CA');
  t.ok(cert.verify(ca.publicKey), 'serving cert is signed by the server CA');
  t.ok(cert.checkIssued(ca));
  t.notOk(cert.verify(new X509Certificate(tls.clientCaCertPem).publicKey), 'not by the client CA');
  t.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');

  const san = cert.subjectAltName ?? '';
  for (const want of [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'DNS:orch.example.com',
    `DNS:${os.hostname().toLowerCase()}`,
    'IP Address:127.0.0.1',
    'IP Address:0:0:0:0:0:0:0:1',
    'IP Address:10.43.0.1',
    'IP Address:198.51.100.7',
  ]) {
    t.ok(san.split(', ').includes(want), `SAN has ${want}`);
  }
  const parsed = certSans(cert);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const info of list ?? []) {
      const ip = canonicalIp(info.address);
      if (ip && !ip.startsWith('fe8')) t.ok(parsed.ips.includes(ip), `SAN has host address ${info.address}`);
    }
  }
  const validDays = (Date.parse(cert.validTo) - Date.now()) / DAY;
  t.ok(validDays > 360 && validDays <= 366, 'serving cert valid for a year');
});

t.test('the serving cert passes a real TLS handshake only with the CA', async (t) => {
  const dataDir = await tempDir(t);
  const tls = await ensureServerTls({ dataDir });
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('server has no TCP address');
  const { port } = addr;

  const get = (opts: https.RequestOptions): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/', agent: false, ...opts }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });

  t.equal(await get({ ca: tls.caCertPem }), 'ok', 'trusted with the CA, by IP');
  t.equal(await get({ ca: tls.caCertPem, servername: 'kubernetes.default.svc' }), 'ok', 'by service DNS name');
  await t.rejects(get({}), { code: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/ }, 'untrusted without the CA');
  await t.rejects(get({ ca: tls.clientCaCertPem }), 'the client CA does not vouch for it');
  await t.rejects(get({ ca: tls.caCertPem, servername: 'evil.example.com' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'name not in SANs');
});

t.test('later starts reuse; a new tls-san, expiry or a new CA reissue the serving cert', async (t) => {
  const dataDir = await tempDir(t);
  const first = await ensureServerTls({ dataDir, ...fakeHost });
  const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

  const again = await ensureServerTls({ dataDir, ...fakeHost });
  t.same(again.generated, { serverCa: false, clientCa: false, serving: false });
  t.equal(fp(again.certPem), fp(first.certPem), 'same serving cert');
  t.equal(fp(again.caCertPem), fp(first.caCertPem), 'same CA');
  t.equal(again.keyPem, first.keyPem);

  const moreSans = await ensureServerTls({ dataDir, ...fakeHost, tlsSans: ['new.example.com'] });
  t.same(moreSans.generated, { serverCa: false, clientCa: false, serving: true });
  t.not(fp(moreSans.certPem), fp(first.certPem));
  t.equal(fp(moreSans.caCertPem), fp(first.caCertPem), 'CA kept');
  t.ok(certSans(moreSans.certPem).dns.includes('new.example.com'));
  t.ok(new X509Certificate(moreSans.certPem).verify(new X509Certificate(first.caCertPem).publicKey));

  const newIp = await ensureServerTls({ dataDir, ...fakeHost, tlsSans: ['new.example.com'], serviceCidr: '10.96.0.0/12' });
  t.ok(newIp.generated.serving, 'a new service CIDR means a new kubernetes Service IP');
  t.ok(certSans(newIp.certPem).ips.includes('10.96.0.1'));

  const stable = await ensureServerTls({ dataDir, ...fakeHost, tlsSans: ['new.example.com'], serviceCidr: '10.96.0.0/12' });
  t.notOk(stable.generated.serving);

  const later = new Date(Date.now() + 300 * DAY);
  const renewed = await ensureServerTls({ dataDir, ...fakeHost, tlsSans: ['new.example.com'], serviceCidr: '10.96.0.0/12', now: () => later });
  t.same(renewed.generated, { serverCa: false, clientCa: false, serving: true }, 'near expiry → reissued, CA kept');
  t.ok(Date.parse(new X509Certificate(renewed.certPem).validTo) > later.getTime() + 300 * DAY);

  // A mismatched key on disk (e.g. a crash between writes) is repaired.
  await writeFile(join(first.dir, TLS_FILES.servingKey), first.clientCaKeyPem);
  const repaired = await ensureServerTls({ dataDir, ...fakeHost, now: () => later });
  t.ok(repaired.generated.serving, 'key mismatch → reissued');

  await unlink(join(first.dir, TLS_FILES.serverCaCert));
  await unlink(join(first.dir, TLS_FILES.serverCaKey));
  const newCa = await ensureServerTls({ dataDir, ...fakeHost });
  t.same(newCa.generated, { serverCa: true, clientCa: false, serving: true });
  t.ok(new X509Certificate(newCa.certPem).verify(new X509Certificate(newCa.caCertPem).publicKey));
});

t.test('a CA certificate without its key is an error, not a silent new CA', async (t) => {
  const dataDir = await tempDir(t);
  const first = await ensureServerTls({ dataDir, ...fakeHost });
  await unlink(join(first.dir, TLS_FILES.serverCaKey));
  await t.rejects(ensureServerTls({ dataDir, ...fakeHost }), { name: 'TlsError', message: /server-ca\.key is missing/ });
  await writeFile(join(first.dir, TLS_FILES.serverCaKey), first.clientCaKeyPem);
  await t.rejects(ensureServerTls({ dataDir, ...fakeHost }), { name: 'TlsError', message: /does not match/ });
});

t.test('client certificates from the client CA', async (t) => {
  const dataDir = await tempDir(t);
  const tls = await ensureServerTls({ dataDir, ...fakeHost });
  const issued = await issueCertificate(
    { certPem: tls.clientCaCertPem, keyPem: tls.clientCaKeyPem },
    { commonName: 'system:node:edge-1', organizations: ['system:nodes'], usage: 'client' },
  );
  const cert = new X509Certificate(issued.certPem);
  t.ok(cert.verify(new X509Certificate(tls.clientCaCertPem).publicKey));
  t.match(cert.subject, /CN=system:node:edge-1/);
  t.match(cert.subject, /O=system:nodes/);
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth');
  t.equal(cert.subjectAltName, undefined);
});

t.test('a cached start does not load @peculiar/x509', async (t) => {
  const dataDir = await tempDir(t);
  await ensureServerTls({ dataDir });
  const tlsModule = pathToFileURL(fileURLToPath(new URL('../../pkg/server/tls.ts', import.meta.url))).href;
  const script = join(dataDir, 'probe.mts');
  await writeFile(
    script,
    `import { createRequire } from 'node:module';\n` +
      `import { ensureServerTls, x509Loaded } from ${JSON.stringify(tlsModule)};\n` +
      `const r = await ensureServerTls({ dataDir: ${JSON.stringify(dataDir)} });\n` +
      // @peculiar/x509 is CommonJS, so loading it at all shows up in require.cache.
      `const cached = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@peculiar'));\n` +
      `console.log(JSON.stringify({ generated: r.generated, loaded: x509Loaded(), cached: cached.length }));\n`,
  );
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  t.same(JSON.parse(stdout), { generated: { serverCa: false, clientCa: false, serving: false }, loaded: false, cached: 0 });
});
