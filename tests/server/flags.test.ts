/**
 * `orch server` flag parsing: --disable-scheduler (k3s's name) from the
 * command line or ORCH_DISABLE_SCHEDULER reaches the server config.
 */
import t from 'tap';
import { SERVER_FLAGS, parseServerArgv, parseServerFlags } from '../../pkg/server/flags.js';

t.test('--disable-scheduler is a boolean flag, off by default', async (t) => {
  t.match(
    SERVER_FLAGS.find((f) => f.name === 'disable-scheduler'),
    { type: 'boolean', default: false },
  );
  const cases: { argv: string[]; env: NodeJS.ProcessEnv; want: boolean }[] = [
    { argv: [], env: {}, want: false },
    { argv: ['--disable-scheduler'], env: {}, want: true },
    { argv: [], env: { ORCH_DISABLE_SCHEDULER: 'true' }, want: true },
    { argv: ['--disable-agent'], env: {}, want: false },
  ];
  for (const c of cases) {
    const flags = parseServerArgv(c.argv, c.env);
    t.equal(flags.disableScheduler, c.want, `${c.argv.join(' ')} ${JSON.stringify(c.env)}`);
    t.equal(parseServerFlags({ ...flags, dataDir: '/tmp/unused' }, false).disableScheduler, c.want, 'carried into the server config');
  }
});

t.test('the networking flags reach the embedded agent, and the kube-dns address must be a ClusterIP', async (t) => {
  const config = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseServerFlags({ ...parseServerArgv(argv, env), dataDir: '/tmp/unused' }, false);
  const dflt = config([]);
  t.same(dflt.network, { podNetwork: 'host-gw', clusterCidr: '10.42.0.0/16', serviceProxy: true, clusterDns: { address: '10.43.0.10', domain: 'cluster.local' }, resolvConf: '/etc/resolv.conf' }, 'all on by default');
  t.same(dflt.clusterDns, { address: '10.43.0.10', domain: 'cluster.local' }, 'the server creates kube-dns on the default address');
  const off = config(['--flannel-backend', 'none', '--disable-kube-proxy', '--disable-cluster-dns']);
  t.same(off.network, { podNetwork: 'none', clusterCidr: '10.42.0.0/16', serviceProxy: false, resolvConf: '/etc/resolv.conf' });
  t.equal(off.clusterDns, undefined, 'no kube-dns Service with --disable-cluster-dns');
  const other = config(['--cluster-cidr', '10.60.0.0/16', '--service-cidr', '10.61.0.0/16', '--cluster-dns', '10.61.0.53', '--resolv-conf', '/run/r.conf'], { ORCH_CLUSTER_DOMAIN: 'edge.local' });
  t.same(other.network, { podNetwork: 'host-gw', clusterCidr: '10.60.0.0/16', serviceProxy: true, clusterDns: { address: '10.61.0.53', domain: 'edge.local' }, resolvConf: '/run/r.conf' });
  t.throws(() => config(['--cluster-dns', '10.44.0.10']), /--cluster-dns: 10\.44\.0\.10 is not inside --service-cidr 10\.43\.0\.0\/16/);
  t.throws(() => config(['--flannel-backend', 'vxlan']), /--flannel-backend: "vxlan" is not supported/);
});
