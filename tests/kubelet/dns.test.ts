import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { formatResolvConf, hostsFile, parseResolvConf, podDnsConfig } from '../../pkg/kubelet/dns.js';

const node = parseResolvConf('# generated\nnameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch lan corp\noptions edns0\n');

t.test('parse the node resolv.conf', async (t) => {
  t.same(node, { nameservers: ['192.168.1.1', '192.168.1.2'], searches: ['lan', 'corp'], options: ['edns0'] });
});

t.test('pod resolv.conf by dnsPolicy', async (t) => {
  const pod = (spec: Partial<NonNullable<Pod['spec']>>): Pod => ({ metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [], ...spec } });
  const cases: { name: string; pod: Pod; clusterDNS?: string[]; want: string }[] = [
    {
      name: 'ClusterFirst',
      pod: pod({ dnsPolicy: 'ClusterFirst' }),
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local lan corp\nnameserver 10.43.0.10\noptions ndots:5\n',
    },
    { name: 'Default', pod: pod({ dnsPolicy: 'Default' }), want: 'search lan corp\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n' },
    { name: 'hostNetwork + ClusterFirst: the node resolver', pod: pod({ dnsPolicy: 'ClusterFirst', hostNetwork: true }), want: 'search lan corp\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n' },
    {
      name: 'hostNetwork + ClusterFirstWithHostNet: cluster DNS',
      pod: pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }),
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local lan corp\nnameserver 10.43.0.10\noptions ndots:5\n',
    },
    { name: 'ClusterFirst without cluster DNS falls back to Default', pod: pod({}), clusterDNS: [], want: 'search lan corp\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n' },
    {
      name: 'None with dnsConfig',
      pod: pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['x.y'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } }),
      want: 'search x.y\nnameserver 1.1.1.1\noptions ndots:2 rotate\n',
    },
    {
      name: 'ClusterFirst merged with dnsConfig (option overrides by name)',
      pod: pod({ dnsConfig: { nameservers: ['1.1.1.1'], options: [{ name: 'ndots', value: '1' }] } }),
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local lan corp\nnameserver 10.43.0.10\nnameserver 1.1.1.1\noptions ndots:1\n',
    },
  ];
  for (const c of cases) t.equal(formatResolvConf(podDnsConfig(c.pod, { clusterDNS: c.clusterDNS ?? ['10.43.0.10'], clusterDomain: 'cluster.local', node })), c.want, c.name);
});

t.test('managed hosts file', async (t) => {
  const p: Pod = { metadata: { name: 'web-0', namespace: 'shop' }, spec: { containers: [], hostname: 'web-0', subdomain: 'web', hostAliases: [{ ip: '1.2.3.4', hostnames: ['a', 'b'] }] } };
  const text = hostsFile(p, '10.88.0.3', { clusterDomain: 'cluster.local' });
  t.match(text, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  t.match(text, /\n10\.88\.0\.3\tweb-0\.web\.shop\.svc\.cluster\.local\tweb-0\n/);
  t.match(text, /# Entries added by HostAliases\.\n1\.2\.3\.4\ta\tb\n$/);
  t.equal(hostsFile({ ...p, spec: { ...p.spec!, hostNetwork: true } }, '10.0.0.5', { clusterDomain: 'cluster.local', nodeHosts: 'NODE HOSTS\n' }), 'NODE HOSTS\n');
});
