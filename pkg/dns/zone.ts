/**
 * The cluster zone: answers for names under the cluster domain (and PTR for
 * ClusterIPs) from the Service and Endpoints informer caches, with the record
 * shapes of CoreDNS's kubernetes plugin. Every lookup is a keyed read of a
 * cache (services and endpoints by "ns/name", ClusterIPs through an index of
 * our own), never a scan of all Services.
 */
import type { Endpoints, EndpointAddress, EndpointPort, Service } from 'kubernetes-types/core/v1.js';
import type { Answer, Question, RecordType, SrvAnswer } from 'dns-packet';
import { isIPv4, isIPv6 } from 'node:net';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';

export type ZoneRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';

/** What the zone says about one question; `external` is an ExternalName target the server may chase upstream. */
export interface ZoneResult {
  rcode: ZoneRcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  external?: string;
}

export interface ZoneOptions {
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  /** e.g. 'cluster.local' (no trailing dot). */
  domain: string;
  ttl: number;
}

const REVERSE_V4 = '.in-addr.arpa';

/** `a.b.c.d` ↔ `a-b-c-d`, the form CoreDNS uses for endpoints without a hostname and for pod names. */
function dashed(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

function undashedV4(label: string): string | undefined {
  const ip = label.replace(/-/g, '.');
  return isIPv4(ip) ? ip : undefined;
}

function addrType(ip: string): 'A' | 'AAAA' | undefined {
  if (isIPv4(ip)) return 'A';
  if (isIPv6(ip)) return 'AAAA';
  return undefined;
}

function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

function clusterIPs(svc: Service): string[] {
  const s = svc.spec;
  if (!s || isHeadless(svc)) return [];
  const ips = s.clusterIPs?.length ? s.clusterIPs : s.clusterIP ? [s.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '');
}

interface ReadyAddress {
  addr: EndpointAddress;
  ports: EndpointPort[];
}

/** Ready addresses of an Endpoints object (notReadyAddresses are never answered). */
function readyAddresses(ep: Endpoints | undefined): ReadyAddress[] {
  const out: ReadyAddress[] = [];
  for (const subset of ep?.subsets ?? []) {
    for (const addr of subset.addresses ?? []) out.push({ addr, ports: subset.ports ?? [] });
  }
  return out;
}

/** The label under `<svc>.<ns>.svc` that names one endpoint. */
function endpointLabel(addr: EndpointAddress): string {
  return (addr.hostname || dashed(addr.ip)).toLowerCase();
}

/** Looks names up in the cluster zone. */
export class ClusterZone {
  private readonly domain: string;
  private readonly suffix: string;
  private readonly ttl: number;
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  /** ClusterIP → keys of the Services holding it (for PTR). */
  private readonly byClusterIP = new Map<string, Set<string>>();
  private readonly unsubscribe: () => void;
  private readonly serial = Math.floor(Date.now() / 1000) >>> 0;

  constructor(opts: ZoneOptions) {
    this.domain = opts.domain.toLowerCase().replace(/^\.+|\.+$/g, '');
    this.suffix = `.${this.domain}`;
    this.ttl = opts.ttl;
    this.services = opts.services;
    this.endpoints = opts.endpoints;
    this.unsubscribe = this.services.addEventHandler({
      onAdd: (s) => this.indexIPs(s, true),
      onUpdate: (o, n) => {
        this.indexIPs(o, false);
        this.indexIPs(n, true);
      },
      onDelete: (s) => this.indexIPs(s, false),
    });
  }

  /** Stops following the Service informer. */
  close(): void {
    this.unsubscribe();
  }

  /** True once both caches hold their first list. */
  ready(): boolean {
    return this.services.hasSynced() && this.endpoints.hasSynced();
  }

  private indexIPs(svc: Service, add: boolean): void {
    const key = keyOf(svc);
    for (const ip of clusterIPs(svc)) {
      let keys = this.byClusterIP.get(ip);
      if (add) {
        if (!keys) this.byClusterIP.set(ip, (keys = new Set()));
        keys.add(key);
      } else if (keys) {
        keys.delete(key);
        if (keys.size === 0) this.byClusterIP.delete(ip);
      }
    }
  }

  /** Whether this zone answers `name` (lower case, no trailing dot): the cluster domain, or the reverse name of a known ClusterIP. */
  owns(name: string): boolean {
    if (name === this.domain || name.endsWith(this.suffix)) return true;
    if (name.endsWith(REVERSE_V4)) {
      const ip = name.slice(0, -REVERSE_V4.length).split('.').reverse().join('.');
      return this.byClusterIP.has(ip);
    }
    return false;
  }

  /** The answer for one question the zone owns; `qname` is echoed as the client spelt it. */
  answer(q: Question): ZoneResult {
    const name = q.name.toLowerCase().replace(/\.+$/, '');
    if (name.endsWith(REVERSE_V4)) return this.reverse(q, name);
    const rel = name === this.domain ? [] : name.slice(0, -this.suffix.length).split('.');
    const last = rel[rel.length - 1];
    if (rel.length === 0) return this.apex(q);
    if (last === 'svc') return this.svcTree(q, rel.slice(0, -1));
    if (last === 'pod') return this.podTree(q, rel.slice(0, -1));
    return this.nxdomain();
  }

  private soa(): Answer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      class: 'IN',
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: this.serial,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private nxdomain(): ZoneResult {
    return { rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
  }

  /** The name exists but holds nothing of the asked type. */
  private nodata(): ZoneResult {
    return { rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private ok(answers: Answer[], additionals: Answer[] = []): ZoneResult {
    return answers.length === 0 ? this.nodata() : { rcode: 'NOERROR', answers, authorities: [], additionals };
  }

  private addr(name: string, ip: string, want: RecordType): Answer[] {
    const t = addrType(ip);
    return t && t === want ? [{ type: t, name, ttl: this.ttl, class: 'IN', data: ip }] : [];
  }

  private apex(q: Question): ZoneResult {
    if (q.type === 'SOA') return { rcode: 'NOERROR', answers: [this.soa()], authorities: [], additionals: [] };
    if (q.type === 'NS') {
      return { rcode: 'NOERROR', answers: [{ type: 'NS', name: q.name, ttl: this.ttl, class: 'IN', data: `ns.dns.${this.domain}` }], authorities: [], additionals: [] };
    }
    return this.nodata();
  }

  /** `a-b-c-d.<ns>.pod.<domain>` → a.b.c.d (CoreDNS `pods insecure`, the k3s default). */
  private podTree(q: Question, rel: string[]): ZoneResult {
    if (rel.length === 0 || rel.length === 1) return this.nodata();
    if (rel.length !== 2) return this.nxdomain();
    const ip = undashedV4(rel[0]!);
    if (!ip) return this.nxdomain();
    return this.ok(this.addr(q.name, ip, q.type));
  }

  private svcTree(q: Question, rel: string[]): ZoneResult {
    if (rel.length === 0) return this.nodata();
    if (rel.length === 1) {
      // `<ns>.svc.<domain>`: an empty non-terminal when some Service lives in the namespace.
      return this.services.byNamespace(rel[0]!).length > 0 ? this.nodata() : this.nxdomain();
    }
    const ns = rel[rel.length - 1]!;
    const svcName = rel[rel.length - 2]!;
    const svc = this.services.getByName(ns, svcName);
    if (!svc) return this.nxdomain();
    const svcFqdn = `${svcName}.${ns}.svc.${this.domain}`;
    const prefix = rel.slice(0, -2);
    if (prefix.length === 0) return this.service(q, svc, svcFqdn);
    if (prefix.length === 1) return this.endpoint(q, svc, svcFqdn, prefix[0]!);
    if (prefix.length === 2 && prefix[0]!.startsWith('_') && prefix[1]!.startsWith('_')) {
      return this.srv(q, svc, svcFqdn, prefix[0]!.slice(1), prefix[1]!.slice(1));
    }
    return this.nxdomain();
  }

  private service(q: Question, svc: Service, svcFqdn: string): ZoneResult {
    if (svc.spec?.type === 'ExternalName') {
      const target = (svc.spec.externalName ?? '').replace(/\.+$/, '');
      if (!target) return this.nxdomain();
      const cname: Answer = { type: 'CNAME', name: q.name, ttl: this.ttl, class: 'IN', data: target };
      return { rcode: 'NOERROR', answers: [cname], authorities: [], additionals: [], external: q.type === 'CNAME' ? undefined : target };
    }
    if (q.type === 'SRV') return this.srv(q, svc, svcFqdn, undefined, undefined);
    if (!isHeadless(svc)) {
      const ips = clusterIPs(svc);
      return this.ok(ips.flatMap((ip) => this.addr(q.name, ip, q.type)));
    }
    const ready = readyAddresses(this.endpoints.getByName(svc.metadata?.namespace, svc.metadata?.name ?? ''));
    // A headless Service without a ready endpoint has no records at all: NXDOMAIN, as CoreDNS answers.
    if (ready.length === 0) return this.nxdomain();
    const seen = new Set<string>();
    const answers: Answer[] = [];
    for (const { addr } of ready) {
      if (seen.has(addr.ip)) continue;
      seen.add(addr.ip);
      answers.push(...this.addr(q.name, addr.ip, q.type));
    }
    return this.ok(answers);
  }

  /** `<hostname>.<svc>.<ns>.svc.<domain>` (or the dashed IP) → that ready endpoint's address. */
  private endpoint(q: Question, svc: Service, _svcFqdn: string, label: string): ZoneResult {
    const ready = readyAddresses(this.endpoints.getByName(svc.metadata?.namespace, svc.metadata?.name ?? ''));
    const hits = ready.filter((r) => endpointLabel(r.addr) === label);
    if (hits.length === 0) return this.nxdomain();
    return this.ok([...new Set(hits.map((h) => h.addr.ip))].flatMap((ip) => this.addr(q.name, ip, q.type)));
  }

  /**
   * SRV for `_<port>._<proto>.<svc>.<ns>.svc` (or every port when asked on the
   * service name): the service name as target for a ClusterIP Service, one
   * target per ready endpoint for a headless one, with their addresses in the
   * additional section.
   */
  private srv(q: Question, svc: Service, svcFqdn: string, portName: string | undefined, proto: string | undefined): ZoneResult {
    const matches = (p: { name?: string; protocol?: string }): boolean =>
      (portName === undefined || (p.name ?? '').toLowerCase() === portName) &&
      (proto === undefined || (p.protocol ?? 'TCP').toLowerCase() === proto);
    const answers: SrvAnswer[] = [];
    const additionals: Answer[] = [];
    if (!isHeadless(svc)) {
      const ports = (svc.spec?.ports ?? []).filter((p) => p.name || portName === undefined).filter(matches);
      if (ports.length === 0) return portName === undefined ? this.nodata() : this.nxdomain();
      if (q.type !== 'SRV') return this.nodata();
      for (const p of ports) answers.push({ type: 'SRV', name: q.name, ttl: this.ttl, class: 'IN', data: { priority: 0, weight: 100, port: p.port, target: svcFqdn } });
      for (const ip of clusterIPs(svc)) {
        const t = addrType(ip);
        if (t) additionals.push({ type: t, name: svcFqdn, ttl: this.ttl, class: 'IN', data: ip });
      }
      return this.ok(answers, additionals);
    }
    const ready = readyAddresses(this.endpoints.getByName(svc.metadata?.namespace, svc.metadata?.name ?? ''));
    const targets: { target: string; ip: string; port: number }[] = [];
    for (const r of ready) {
      for (const p of r.ports) {
        if ((p.name || portName === undefined) && matches(p)) {
          targets.push({ target: `${endpointLabel(r.addr)}.${svcFqdn}`, ip: r.addr.ip, port: p.port });
        }
      }
    }
    if (targets.length === 0) return portName === undefined ? this.nodata() : this.nxdomain();
    if (q.type !== 'SRV') return this.nodata();
    const weight = Math.max(1, Math.floor(100 / targets.length));
    const added = new Set<string>();
    for (const tg of targets) {
      answers.push({ type: 'SRV', name: q.name, ttl: this.ttl, class: 'IN', data: { priority: 0, weight, port: tg.port, target: tg.target } });
      const t = addrType(tg.ip);
      if (t && !added.has(tg.target)) {
        added.add(tg.target);
        additionals.push({ type: t, name: tg.target, ttl: this.ttl, class: 'IN', data: tg.ip });
      }
    }
    return this.ok(answers, additionals);
  }

  private reverse(q: Question, name: string): ZoneResult {
    const ip = name.slice(0, -REVERSE_V4.length).split('.').reverse().join('.');
    const keys = this.byClusterIP.get(ip);
    if (!keys || keys.size === 0) return this.nxdomain();
    if (q.type !== 'PTR') return this.nodata();
    const answers: Answer[] = [];
    for (const key of keys) {
      const svc = this.services.get(key);
      if (!svc?.metadata?.name) continue;
      answers.push({ type: 'PTR', name: q.name, ttl: this.ttl, class: 'IN', data: `${svc.metadata.name}.${svc.metadata.namespace ?? 'default'}.svc.${this.domain}` });
    }
    return this.ok(answers);
  }
}
