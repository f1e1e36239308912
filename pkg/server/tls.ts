// Server certificates: a server CA, a client CA and the apiserver's serving
// certificate, under <data-dir>/server/tls/ with k3s' file names.
//
// Startup cost matters (an edge box restarting should be serving in
// milliseconds), so the common path — certificates already on disk and still
// good — only reads files and checks them with node:crypto. @peculiar/x509,
// which takes ~150 ms to load, is imported lazily and only when something
// must be generated. Keys are ECDSA P-256: generation is ~1 ms, RSA would be
// hundreds.

import {
  X509Certificate,
  createPrivateKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { nthAddress, ipv4ToInt } from '../apiserver/allocators.js';
import { serverPaths, writeFileAtomic } from './datadir.js';

type X509Module = typeof import('@peculiar/x509');
type CryptoKeyT = webcrypto.CryptoKey;

/** File names inside the tls dir (the same as k3s). */
export const TLS_FILES = {
  serverCaCert: 'server-ca.crt',
  serverCaKey: 'server-ca.key',
  clientCaCert: 'client-ca.crt',
  clientCaKey: 'client-ca.key',
  servingCert: 'serving-kube-apiserver.crt',
  servingKey: 'serving-kube-apiserver.key',
} as const;

/** Default --service-cidr; its first address is the `kubernetes` Service IP. */
export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
/** Serving certs with less than this left are reissued at startup (k3s renews within 90 days too). */
export const RENEW_BEFORE_DAYS = 90;
// Tolerate small clock differences between server and clients.
const BACKDATE_MS = 5 * 60 * 1000;

const KUBERNETES_SERVICE_NAMES = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/** A certificate problem the operator must act on (bad --tls-san, half-missing CA, ...). */
export class TlsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsError';
  }
}

/** Subject alternative names, split by kind; IPs in canonical form. */
export interface SanSet {
  dns: string[];
  ips: string[];
}

/** Inputs for the serving certificate's SANs; host facts are injectable for tests. */
export interface SanOptions {
  serviceCidr?: string;
  tlsSans?: readonly string[];
  hostname?: string;
  interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

/** Options of ensureServerTls. */
export interface ServerTlsOptions extends SanOptions {
  dataDir: string;
  now?: () => Date;
}

/** The PEMs in use after ensureServerTls, and what had to be (re)generated. */
export interface ServerTls {
  dir: string;
  caCertPem: string;
  caKeyPem: string;
  clientCaCertPem: string;
  clientCaKeyPem: string;
  certPem: string;
  keyPem: string;
  sans: SanSet;
  generated: { serverCa: boolean; clientCa: boolean; serving: boolean };
}

// ---------- SANs ----------

/** Canonical text of an IP (IPv6 fully expanded, lower-case, no zero padding), or undefined. */
export function canonicalIp(ip: string): string | undefined {
  const v = isIP(ip);
  if (v === 4) return ip;
  if (v !== 6) return undefined;
  let s = ip.toLowerCase();
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const n = ipv4ToInt(dotted[2] ?? '');
    if (n === undefined) return undefined;
    s = `${dotted[1]}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? new Array<string>(8 - head.length - tail.length).fill('0') : [];
  return [...head, ...fill, ...tail].map((g) => parseInt(g, 16).toString(16)).join(':');
}

const DNS_NAME = /^(\*\.)?[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?(\.[a-z0-9_]([-a-z0-9_]{0,61}[a-z0-9_])?)*$/;

function dnsName(s: string): string | undefined {
  const name = s.toLowerCase().replace(/\.$/, '');
  return name.length <= 253 && DNS_NAME.test(name) ? name : undefined;
}

function isLinkLocalV6(canonical: string): boolean {
  return /^fe[89ab][0-9a-f]:/.test(canonical);
}

/** The SANs the serving cert must cover: loopback, host addresses and name, the kubernetes Service IP and names, every --tls-san. */
export function wantedSans(opts: SanOptions = {}): SanSet {
  const dns = new Set<string>(['localhost', ...KUBERNETES_SERVICE_NAMES]);
  const ips = new Set<string>(['127.0.0.1', '0:0:0:0:0:0:0:1']);
  ips.add(nthAddress(opts.serviceCidr ?? DEFAULT_SERVICE_CIDR, 1));
  const interfaces = opts.interfaces ?? os.networkInterfaces();
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      const ip = canonicalIp(info.address);
      // Link-local v6 needs a zone to be dialled, so no client can name it in a URL.
      if (ip !== undefined && !isLinkLocalV6(ip)) ips.add(ip);
    }
  }
  // An odd OS hostname is not worth refusing to start over.
  const host = dnsName(opts.hostname ?? os.hostname());
  if (host !== undefined) dns.add(host);
  for (const raw of opts.tlsSans ?? []) {
    const s = raw.trim().replace(/^\[(.*)\]$/, '$1');
    const ip = canonicalIp(s);
    if (ip !== undefined) {
      ips.add(ip);
      continue;
    }
    const name = dnsName(s);
    if (name === undefined) throw new TlsError(`invalid --tls-san "${raw}": not an IP address or DNS name`);
    dns.add(name);
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() };
}

/** The SANs of a PEM certificate, as node:crypto reports them. */
export function certSans(certPem: string | X509Certificate): SanSet {
  const cert = typeof certPem === 'string' ? new X509Certificate(certPem) : certPem;
  const out: SanSet = { dns: [], ips: [] };
  // Node formats it as "DNS:a, IP Address:1.2.3.4", quoting values that contain ", ".
  for (const m of (cert.subjectAltName ?? '').matchAll(/(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = m[2] ?? '';
    const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    if (m[1] === 'DNS') out.dns.push(value.toLowerCase());
    else {
      const ip = canonicalIp(value);
      if (ip !== undefined) out.ips.push(ip);
    }
  }
  return out;
}

/** Whether `have` includes every name and address of `want`. */
export function sansCovered(have: SanSet, want: SanSet): boolean {
  const dns = new Set(have.dns);
  const ips = new Set(have.ips);
  return want.dns.every((d) => dns.has(d)) && want.ips.every((i) => ips.has(i));
}

// ---------- lazy @peculiar/x509 ----------

let x509Promise: Promise<X509Module> | undefined;

function loadX509(): Promise<X509Module> {
  if (!x509Promise) {
    // @peculiar/x509's dependency injection (tsyringe) needs the reflect-metadata polyfill loaded first.
    x509Promise = import('reflect-metadata').then(() => import('@peculiar/x509'));
  }
  return x509Promise;
}

/** Whether @peculiar/x509 has been loaded in this process (it should not be on a cached start). */
export function x509Loaded(): boolean {
  return x509Promise !== undefined;
}

// ---------- generation ----------

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

interface KeyPair {
  privateKey: CryptoKeyT;
  publicKey: CryptoKeyT;
}

async function generateKeyPair(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKeyT): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  // SEC1 "EC PRIVATE KEY", as k3s writes its keys.
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'sec1', format: 'pem' }).toString();
}

async function importSigningKey(pem: string): Promise<CryptoKeyT> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
}

// Positive 128-bit serial (top bit clear so DER needs no sign byte).
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

interface IssuedPem {
  certPem: string;
  keyPem: string;
}

async function createCa(commonName: string, now: Date): Promise<IssuedPem> {
  const x509 = await loadX509();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** What a leaf certificate is for. */
export interface LeafSpec {
  commonName: string;
  organizations?: readonly string[];
  usage: 'server' | 'client';
  sans?: SanSet;
  days?: number;
}

async function createLeaf(ca: { certPem: string; keyPem: string }, spec: LeafSpec, now: Date): Promise<IssuedPem> {
  const x509 = await loadX509();
  const keys = await generateKeyPair();
  const caCert = new x509.X509Certificate(ca.certPem);
  const subject = [`CN=${spec.commonName}`, ...(spec.organizations ?? []).map((o) => `O=${o}`)].join(', ');
  const extensions: InstanceType<X509Module['Extension']>[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([spec.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(caCert),
  ];
  if (spec.sans) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.sans.dns.map((value) => ({ type: 'dns' as const, value })),
        ...spec.sans.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (spec.days ?? LEAF_VALIDITY_DAYS) * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(ca.keyPem),
    signingAlgorithm: SIGN_ALG,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** Issues a certificate signed by the given CA (e.g. a node or admin client cert from the client CA). */
export async function issueCertificate(
  ca: { certPem: string; keyPem: string },
  spec: LeafSpec,
  now: Date = new Date(),
): Promise<IssuedPem> {
  return createLeaf(ca, spec, now);
}

// ---------- files ----------

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

// Cert before key would leave a cert without its key after a crash; key first
// leaves an unmatched key, which the checks below treat as "regenerate".
async function writePair(dir: string, certName: string, keyName: string, pair: IssuedPem): Promise<void> {
  await writeFileAtomic(join(dir, keyName), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, certName), pair.certPem, 0o644);
}

function parseCert(pem: string, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsError(`cannot parse certificate ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseKey(pem: string, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new TlsError(`cannot parse private key ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// A CA is never silently replaced once its certificate exists: agents and
// kubeconfigs trust it, so a missing or mismatched key is the operator's call.
async function ensureCa(dir: string, certName: string, keyName: string, cn: string, now: Date): Promise<IssuedPem & { generated: boolean }> {
  const certPath = join(dir, certName);
  const keyPath = join(dir, keyName);
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem === undefined) {
    const pair = await createCa(`${cn}@${Math.floor(now.getTime() / 1000)}`, now);
    await writePair(dir, certName, keyName, pair);
    return { ...pair, generated: true };
  }
  if (keyPem === undefined) {
    throw new TlsError(`CA certificate ${certPath} exists but its key ${keyPath} is missing; restore the key, or remove both files to create a new CA`);
  }
  if (!parseCert(certPem, certPath).checkPrivateKey(parseKey(keyPem, keyPath))) {
    throw new TlsError(`CA key ${keyPath} does not match certificate ${certPath}`);
  }
  return { certPem, keyPem, generated: false };
}

/** Why an existing serving cert cannot be reused, or undefined when it can. */
export function servingCertProblem(
  certPem: string,
  keyPem: string,
  caCertPem: string,
  want: SanSet,
  now: Date,
): string | undefined {
  let cert: X509Certificate;
  let key: KeyObject;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    key = createPrivateKey(keyPem);
    ca = new X509Certificate(caCertPem);
  } catch {
    return 'unparseable';
  }
  if (!cert.checkPrivateKey(key)) return 'key mismatch';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the server CA';
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return 'near expiry';
  if (new Date(cert.validFrom).getTime() > now.getTime()) return 'not yet valid';
  if (!sansCovered(certSans(cert), want)) return 'SANs not covered';
  return undefined;
}

/** Loads or creates the server CA, client CA and serving cert under <dataDir>/server/tls; reissues the serving cert when its SANs, CA or expiry call for it. */
export async function ensureServerTls(opts: ServerTlsOptions): Promise<ServerTls> {
  const now = (opts.now ?? (() => new Date()))();
  const dir = serverPaths(opts.dataDir).tls;
  const sans = wantedSans(opts);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const [serverCa, clientCa] = await Promise.all([
    ensureCa(dir, TLS_FILES.serverCaCert, TLS_FILES.serverCaKey, 'orch-server-ca', now),
    ensureCa(dir, TLS_FILES.clientCaCert, TLS_FILES.clientCaKey, 'orch-client-ca', now),
  ]);

  let [certPem, keyPem] = await Promise.all([
    readOptional(join(dir, TLS_FILES.servingCert)),
    readOptional(join(dir, TLS_FILES.servingKey)),
  ]);
  let serving = false;
  if (
    certPem === undefined ||
    keyPem === undefined ||
    servingCertProblem(certPem, keyPem, serverCa.certPem, sans, now) !== undefined
  ) {
    const pair = await createLeaf(serverCa, { commonName: 'kube-apiserver', organizations: ['orch'], usage: 'server', sans }, now);
    await writePair(dir, TLS_FILES.servingCert, TLS_FILES.servingKey, pair);
    ({ certPem, keyPem } = pair);
    serving = true;
  }

  return {
    dir,
    caCertPem: serverCa.certPem,
    caKeyPem: serverCa.keyPem,
    clientCaCertPem: clientCa.certPem,
    clientCaKeyPem: clientCa.keyPem,
    certPem,
    keyPem,
    sans,
    generated: { serverCa: serverCa.generated, clientCa: clientCa.generated, serving },
  };
}
