import t from 'tap';
import { podNetworkFromEnv, restartBackoffFromEnv } from '../../pkg/agent/kubelet-wiring.js';

t.test('the restart back-off from the environment (tests only)', async (t) => {
  const cases: { name: string; env: NodeJS.ProcessEnv; want: unknown }[] = [
    { name: 'unset: the defaults', env: {}, want: undefined },
    { name: 'empty: the defaults', env: { ORCH_KUBELET_BACKOFF_INITIAL_MS: '' }, want: undefined },
    { name: 'initial only', env: { ORCH_KUBELET_BACKOFF_INITIAL_MS: '500' }, want: { initialMs: 500 } },
    { name: 'both', env: { ORCH_KUBELET_BACKOFF_INITIAL_MS: '500', ORCH_KUBELET_BACKOFF_MAX_MS: '2000' }, want: { initialMs: 500, maxMs: 2000 } },
  ];
  for (const c of cases) t.same(restartBackoffFromEnv(c.env), c.want, c.name);
  for (const bad of ['0', '-1', 'soon', '1.5']) {
    t.throws(() => restartBackoffFromEnv({ ORCH_KUBELET_BACKOFF_INITIAL_MS: bad }), /ORCH_KUBELET_BACKOFF_INITIAL_MS/, `rejects ${bad}`);
  }
});

t.test('the pod network from the environment (experimental, off unless ORCH_POD_NETWORK is set)', async (t) => {
  const cases: { name: string; env: NodeJS.ProcessEnv; want: unknown }[] = [
    { name: 'unset: off (Docker default bridge)', env: {}, want: undefined },
    { name: 'empty: off', env: { ORCH_POD_NETWORK: '' }, want: undefined },
    { name: 'none: off', env: { ORCH_POD_NETWORK: 'none' }, want: undefined },
    { name: 'host-gw', env: { ORCH_POD_NETWORK: 'host-gw' }, want: { mode: 'host-gw', clusterCidr: '10.42.0.0/16' } },
    { name: 'another cluster CIDR', env: { ORCH_POD_NETWORK: 'host-gw', ORCH_CLUSTER_CIDR: '10.60.0.0/16' }, want: { mode: 'host-gw', clusterCidr: '10.60.0.0/16' } },
  ];
  for (const c of cases) t.same(podNetworkFromEnv(c.env), c.want, c.name);
  t.throws(() => podNetworkFromEnv({ ORCH_POD_NETWORK: 'vxlan' }), /ORCH_POD_NETWORK="vxlan": want host-gw/);
  t.throws(() => podNetworkFromEnv({ ORCH_POD_NETWORK: 'host-gw', ORCH_CLUSTER_CIDR: '10.60.0.1/16' }), /ORCH_CLUSTER_CIDR/);
});
