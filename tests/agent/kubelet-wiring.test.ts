import t from 'tap';
import { restartBackoffFromEnv } from '../../pkg/agent/kubelet-wiring.js';

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
