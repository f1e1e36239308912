import t from 'tap';
import { nodeNetworkFromFlags } from '../../pkg/agent/network-config.js';
import { FlagError } from '../../pkg/server/flags.js';

t.test('the node networking flags', async (t) => {
  const all = { podNetwork: 'host-gw', clusterCidr: '10.42.0.0/16', serviceProxy: true, clusterDns: { address: '10.43.0.10', domain: 'cluster.local' }, resolvConf: '/etc/resolv.conf' };
  const cases: { name: string; flags: Parameters<typeof nodeNetworkFromFlags>[0]; want: unknown }[] = [
    { name: 'defaults: everything on, as k3s', flags: {}, want: all },
    { name: 'no pod network', flags: { flannelBackend: 'none' }, want: { ...all, podNetwork: 'none' } },
    { name: 'no proxy', flags: { disableKubeProxy: true }, want: { ...all, serviceProxy: false } },
    { name: 'no DNS', flags: { disableClusterDns: true }, want: { podNetwork: 'host-gw', clusterCidr: '10.42.0.0/16', serviceProxy: true, resolvConf: '/etc/resolv.conf' } },
    {
      name: 'other addresses',
      flags: { clusterCidr: '10.60.0.0/16', clusterDns: '10.61.0.53', clusterDomain: 'edge.example.', resolvConf: '/run/resolv.conf' },
      want: { ...all, clusterCidr: '10.60.0.0/16', clusterDns: { address: '10.61.0.53', domain: 'edge.example' }, resolvConf: '/run/resolv.conf' },
    },
  ];
  for (const c of cases) t.same(nodeNetworkFromFlags(c.flags), c.want, c.name);

  const bad: { flags: Parameters<typeof nodeNetworkFromFlags>[0]; message: RegExp }[] = [
    { flags: { flannelBackend: 'vxlan' }, message: /--flannel-backend: "vxlan" is not supported: want host-gw/ },
    { flags: { clusterCidr: '10.60.0.1/16' }, message: /--cluster-cidr/ },
    { flags: { clusterCidr: 'fd00::/64' }, message: /--cluster-cidr/ },
    { flags: { clusterDns: 'dns.local' }, message: /--cluster-dns: "dns.local" is not an IPv4 address/ },
    { flags: { clusterDomain: 'Bad_Domain' }, message: /--cluster-domain/ },
    { flags: { resolvConf: ' ' }, message: /--resolv-conf: must not be empty/ },
  ];
  for (const b of bad) t.throws(() => nodeNetworkFromFlags(b.flags), b.message, JSON.stringify(b.flags));
  const err = (() => {
    try {
      nodeNetworkFromFlags({ flannelBackend: 'vxlan' });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  t.ok(err instanceof FlagError, 'a FlagError (one line, exit 1)');
  t.same(nodeNetworkFromFlags({ disableClusterDns: true, clusterDns: 'ignored' }).clusterDns, undefined, 'a DNS address is not checked when DNS is off');
});
