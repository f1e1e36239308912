import t from 'tap';
import dnsPacket from 'dns-packet';
import type { DecodedPacket, SrvAnswer, StringAnswer } from 'dns-packet';
import type { EndpointAddress, Endpoints, Service } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';
import { startDnsServer } from '../../pkg/dns/server.js';
import { deadPort, eventually, query, rcodeOf, silentUpstream, startStubUpstream, tcpQuery, tcpRaw, udpQuery, udpRaw } from './helpers.js';

const D = 'cluster.local';
const NOERROR = 0;
const FORMERR = 1;
const SERVFAIL = 2;
const NXDOMAIN = 3;

const strings = (p: DecodedPacket, which: 'answers' | 'additionals' = 'answers'): StringAnswer[] =>
  (p[which] ?? []).filter((a): a is StringAnswer => ['A', 'AAAA', 'CNAME', 'PTR'].includes(a.type));
const addrs = (p: DecodedPacket): string[] =>
  (p.answers ?? []).filter((a): a is StringAnswer => a.type === 'A').map((a) => a.data).sort();

function headless(name: string, ports = [{ name: 'db', port: 5432 }]): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP: 'None', ports } };
}

function endpoints(name: string, ready: EndpointAddress[], notReady: EndpointAddress[] = [], ports = [{ name: 'db', port: 5432, protocol: 'TCP' }]): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'default' },
    subsets: [{ addresses: ready, notReadyAddresses: notReady, ports }],
  };
}

t.test('cluster DNS server against the in-process API', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const services = factory.informerFor('services');
  const eps = factory.informerFor('endpoints');
  const stub = await startStubUpstream();
  const silent = await silentUpstream();
  const dead = await deadPort();
  const logs: string[] = [];
  // Every forward fails over: a silent upstream (timeout), a refused port, then the stub.
  const dns = await startDnsServer({
    listen: [{ address: '127.0.0.1', port: 0 }],
    services,
    endpoints: eps,
    upstreams: [
      { address: '127.0.0.1', port: silent.port },
      { address: '127.0.0.1', port: dead },
      { address: '127.0.0.1', port: stub.port },
    ],
    forwardTimeoutMs: 300,
    log: (m) => logs.push(m),
  });
  const port = dns.addresses[0]!.port;
  t.teardown(async () => {
    await dns.stop();
    await factory.stop();
    transport.close();
    await stub.close();
    await silent.close();
    await api.close();
  });

  await t.test('before the caches sync, cluster names get SERVFAIL (not a false NXDOMAIN)', async (t) => {
    const { res } = await udpQuery(port, query(`kubernetes.default.svc.${D}`));
    t.equal(rcodeOf(res), SERVFAIL);
  });

  factory.start();
  await factory.waitForSync();

  const svcs = client.resource('services').namespace('default');
  const epc = client.resource('endpoints').namespace('default');
  const web = await svcs.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443 }] },
  });
  const webIP = web.spec?.clusterIP ?? '';
  t.match(webIP, /^10\.43\./);
  await svcs.create(headless('db'));
  await epc.create(
    endpoints('db', [
      { ip: '10.42.1.5', hostname: 'db-0' },
      { ip: '10.42.2.6', hostname: 'db-1' },
    ], [{ ip: '10.42.3.7', hostname: 'db-2' }]),
  );
  await svcs.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.org' } });
  await svcs.create(headless('many', []));
  await epc.create(endpoints('many', Array.from({ length: 60 }, (_, i) => ({ ip: `10.42.9.${i + 1}` })), [], []));
  await waitFor(() => services.getByName('default', 'ext') !== undefined && eps.getByName('default', 'many') !== undefined, 10_000, 'informers');

  t.test('A for a ClusterIP Service, over UDP and TCP, authoritative, id and question echoed', async (t) => {
    const q = query(`web.default.svc.${D}`);
    const { res } = await udpQuery(port, q);
    t.equal(res.id, q.id);
    t.equal(res.type, 'response');
    t.equal(rcodeOf(res), NOERROR);
    t.ok(res.flag_aa, 'AA set');
    t.ok(res.flag_rd, 'RD copied');
    t.same(res.questions, q.questions);
    t.same(addrs(res), [webIP]);
    t.equal(strings(res)[0]?.ttl, 5);
    const [viaTcp] = await tcpQuery(port, [q]);
    t.same(addrs(viaTcp!), [webIP]);
    t.ok(viaTcp!.flag_aa);
  });

  t.test('names are case-insensitive and echoed as asked', async (t) => {
    const name = `WeB.DeFault.SVC.Cluster.LOCAL`;
    const { res } = await udpQuery(port, query(name));
    t.same(addrs(res), [webIP]);
    t.equal(res.questions?.[0]?.name, name);
    t.equal(res.answers?.[0]?.name, name);
  });

  t.test('negative answers', async (t) => {
    const cases: { name: string; type: 'A' | 'AAAA' | 'SRV'; rcode: number; why: string }[] = [
      { name: `nope.default.svc.${D}`, type: 'A', rcode: NXDOMAIN, why: 'unknown service' },
      { name: `web.nowhere.svc.${D}`, type: 'A', rcode: NXDOMAIN, why: 'unknown namespace' },
      { name: `nowhere.svc.${D}`, type: 'A', rcode: NXDOMAIN, why: 'unknown namespace alone' },
      { name: `web.default.other.${D}`, type: 'A', rcode: NXDOMAIN, why: 'unknown subtree' },
      { name: `web.default.svc.${D}`, type: 'AAAA', rcode: NOERROR, why: 'AAAA of an IPv4 service: NODATA' },
      { name: `db.default.svc.${D}`, type: 'AAAA', rcode: NOERROR, why: 'AAAA of a headless service: NODATA' },
      { name: `default.svc.${D}`, type: 'A', rcode: NOERROR, why: 'existing namespace: empty non-terminal' },
      { name: `_nope._tcp.web.default.svc.${D}`, type: 'SRV', rcode: NXDOMAIN, why: 'unknown port name' },
    ];
    for (const c of cases) {
      const { res } = await udpQuery(port, query(c.name, c.type));
      t.equal(rcodeOf(res), c.rcode, c.why);
      t.equal(res.answers?.length ?? 0, 0, `${c.why}: no answers`);
      t.equal(res.authorities?.[0]?.type, 'SOA', `${c.why}: SOA in authority`);
      t.ok(res.flag_aa, `${c.why}: authoritative`);
    }
  });

  t.test('headless Service: only ready addresses, hostnames, following endpoint changes', async (t) => {
    const { res } = await udpQuery(port, query(`db.default.svc.${D}`));
    t.same(addrs(res), ['10.42.1.5', '10.42.2.6'], 'not-ready db-2 excluded');
    const { res: host } = await udpQuery(port, query(`db-1.db.default.svc.${D}`));
    t.same(addrs(host), ['10.42.2.6']);
    const { res: notReady } = await udpQuery(port, query(`db-2.db.default.svc.${D}`));
    t.equal(rcodeOf(notReady), NXDOMAIN, 'a not-ready endpoint has no name');

    const cur = await epc.get('db');
    await epc.update({ ...cur, subsets: [{ addresses: [{ ip: '10.42.2.6', hostname: 'db-1' }, { ip: '10.42.3.7', hostname: 'db-2' }], ports: cur.subsets?.[0]?.ports }] });
    await eventually(async () => addrs((await udpQuery(port, query(`db.default.svc.${D}`))).res).join() === '10.42.2.6,10.42.3.7', 10_000, 'db-2 ready, db-0 gone');
    const { res: gone } = await udpQuery(port, query(`db-0.db.default.svc.${D}`));
    t.equal(rcodeOf(gone), NXDOMAIN);

    const now = await epc.get('db');
    await epc.update({ ...now, subsets: [] });
    await eventually(async () => rcodeOf((await udpQuery(port, query(`db.default.svc.${D}`))).res) === NXDOMAIN, 10_000, 'no ready endpoint');
  });

  t.test('SRV for named ports', async (t) => {
    const { res } = await udpQuery(port, query(`_http._tcp.web.default.svc.${D}`, 'SRV'));
    t.equal(rcodeOf(res), NOERROR);
    const srv = (res.answers ?? []).filter((a): a is SrvAnswer => a.type === 'SRV');
    t.same(srv.map((s) => [s.data.port, s.data.target]), [[80, `web.default.svc.${D}`]]);
    t.same(
      strings(res, 'additionals').map((a) => [a.name, a.data]),
      [[`web.default.svc.${D}`, webIP]],
      'target address in the additional section',
    );
    const { res: udp } = await udpQuery(port, query(`_http._udp.web.default.svc.${D}`, 'SRV'));
    t.equal(rcodeOf(udp), NXDOMAIN, 'wrong protocol');

    // Headless: one target per ready endpoint.
    const cur = await epc.get('db');
    await epc.update({ ...cur, subsets: [{ addresses: [{ ip: '10.42.1.5', hostname: 'db-0' }, { ip: '10.42.2.6' }], ports: [{ name: 'db', port: 5432, protocol: 'TCP' }] }] });
    await eventually(async () => addrs((await udpQuery(port, query(`db.default.svc.${D}`))).res).length === 2, 10_000, 'db endpoints');
    const { res: h } = await udpQuery(port, query(`_db._tcp.db.default.svc.${D}`, 'SRV'));
    const targets = (h.answers ?? []).filter((a): a is SrvAnswer => a.type === 'SRV').map((s) => `${s.data.target}:${s.data.port}`).sort();
    t.same(targets, [`10-42-2-6.db.default.svc.${D}:5432`, `db-0.db.default.svc.${D}:5432`]);
    const { res: byIp } = await udpQuery(port, query(`10-42-2-6.db.default.svc.${D}`));
    t.same(addrs(byIp), ['10.42.2.6'], 'an endpoint without hostname is named by its dashed IP');
  });

  t.test('ExternalName → CNAME (target chased upstream), PTR for a ClusterIP, pod names', async (t) => {
    const { res } = await udpQuery(port, query(`ext.default.svc.${D}`));
    t.equal(rcodeOf(res), NOERROR);
    t.same(strings(res).map((a) => [a.type, a.data]), [['CNAME', 'example.org'], ['A', '192.0.2.1']]);
    const rev = webIP.split('.').reverse().join('.') + '.in-addr.arpa';
    const { res: ptr } = await udpQuery(port, query(rev, 'PTR'));
    t.same(strings(ptr).map((a) => a.data), [`web.default.svc.${D}`]);
    t.ok(ptr.flag_aa);
    const { res: pod } = await udpQuery(port, query(`10-42-0-9.default.pod.${D}`));
    t.same(addrs(pod), ['10.42.0.9']);
  });

  t.test('truncation over UDP, the full answer over TCP', async (t) => {
    const name = `many.default.svc.${D}`;
    const { res, size } = await udpQuery(port, query(name));
    t.ok(res.flag_tc, 'TC set');
    t.ok(size <= 512, `UDP answer ${size} bytes fits in 512`);
    t.ok((res.answers?.length ?? 0) > 0 && (res.answers?.length ?? 0) < 60, 'some answers kept');
    const [full] = await tcpQuery(port, [query(name)]);
    t.notOk(full!.flag_tc);
    t.equal(addrs(full!).length, 60);
    // With EDNS the client may take more over UDP, up to our 1232 bytes.
    const { res: edns, size: ednsSize } = await udpQuery(
      port,
      query(name, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }),
    );
    t.ok(ednsSize > 512 && ednsSize <= 1232, `EDNS answer ${ednsSize} bytes`);
    t.ok((edns.answers?.length ?? 0) > (res.answers?.length ?? 0));
    t.ok((edns.additionals ?? []).some((a) => a.type === 'OPT'), 'OPT echoed');
    t.ok(dns.stats.truncated >= 2);
  });

  t.test('several queries on one TCP connection', async (t) => {
    const qs = [query(`web.default.svc.${D}`), query(`nope.default.svc.${D}`), query('example.com')];
    const [a, b, c] = await tcpQuery(port, qs);
    t.same(addrs(a!), [webIP]);
    t.equal(rcodeOf(b!), NXDOMAIN);
    t.same(addrs(c!), ['192.0.2.1']);
  });

  t.test('other names are forwarded, failing over between upstreams', async (t) => {
    stub.seen.length = 0;
    const q = query('Example.COM');
    const { res } = await udpQuery(port, q);
    t.equal(res.id, q.id);
    t.equal(rcodeOf(res), NOERROR);
    t.notOk(res.flag_aa, 'not authoritative');
    t.same(addrs(res), ['192.0.2.1']);
    t.same(stub.seen, ['udp:Example.COM']);
    t.ok(dns.stats.upstreamErrors >= 2, 'the silent and the refusing upstream failed first');

    // A truncated upstream answer is retried over TCP; a UDP client still gets a truncated one, a TCP client the full one.
    stub.seen.length = 0;
    const { res: big } = await udpQuery(port, query('big.example.com'));
    t.ok(big.flag_tc);
    t.same(stub.seen, ['udp:big.example.com', 'tcp:big.example.com']);
    const [bigTcp] = await tcpQuery(port, [query('big.example.com')]);
    t.equal(addrs(bigTcp!).length, 60);
    t.notOk(bigTcp!.flag_tc);
  });

  t.test('a malformed packet does not crash the server', async (t) => {
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0x61]);
    const raw = await udpRaw(port, junk);
    t.ok(raw, 'answered');
    const res = dnsPacket.decode(raw!);
    t.equal(res.id, 0x1234);
    t.equal(rcodeOf(res), FORMERR);
    t.equal(await udpRaw(port, Buffer.from([1, 2, 3]), 300), undefined, 'too short: dropped');
    const tooMany = dnsPacket.encode({ id: 77, type: 'query', questions: [{ name: 'a.example', type: 'A' }, { name: 'b.example', type: 'A' }] });
    t.equal(rcodeOf(dnsPacket.decode((await udpRaw(port, tooMany))!)), FORMERR, 'two questions');
    const [overTcp] = await tcpRaw(port, [junk]);
    t.equal(rcodeOf(dnsPacket.decode(overTcp!)), FORMERR);
    const { res: still } = await udpQuery(port, query(`web.default.svc.${D}`));
    t.same(addrs(still), [webIP], 'still answering');
    t.ok(dns.stats.formerr >= 3);
  });

  t.test('SERVFAIL when every upstream is down', async (t) => {
    await stub.close();
    const { res } = await udpQuery(port, query('example.net'));
    t.equal(rcodeOf(res), SERVFAIL);
    const [viaTcp] = await tcpQuery(port, [query('example.net')]);
    t.equal(rcodeOf(viaTcp!), SERVFAIL);
    const { res: cluster } = await udpQuery(port, query(`web.default.svc.${D}`));
    t.same(addrs(cluster), [webIP], 'cluster names unaffected');
  });

  t.test('stats', async (t) => {
    t.ok(dns.stats.cluster > 10);
    t.ok(dns.stats.forwarded >= 5);
    t.ok(dns.stats.nxdomain >= 5);
    t.ok(dns.stats.servfail >= 3);
    t.ok(logs.some((l) => l.includes('serving cluster.local')));
  });
});
