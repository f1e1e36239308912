import t from 'tap';
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { evictionDecision, noExecuteSignature, noExecuteTaints, type EvictionDecision } from '../../../pkg/controllers/nodelifecycle/eviction.js';

const unreachable: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
const notReady: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
const tol = (key: string | undefined, seconds?: number, effect = 'NoExecute'): Toleration => ({ ...(key ? { key } : {}), operator: 'Exists', effect, ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}) });

t.test('evictionDecision', async (t) => {
  const cases: { name: string; tolerations: Toleration[]; taints: Taint[]; want: EvictionDecision }[] = [
    { name: 'no taints', tolerations: [], taints: [], want: { type: 'keep' } },
    { name: 'untolerated', tolerations: [], taints: [unreachable], want: { type: 'now' } },
    { name: 'tolerated for ever', tolerations: [tol(unreachable.key)], taints: [unreachable], want: { type: 'keep' } },
    { name: 'tolerated for 300 s', tolerations: [tol(unreachable.key, 300)], taints: [unreachable], want: { type: 'after', ms: 300_000 } },
    { name: 'tolerationSeconds 0', tolerations: [tol(unreachable.key, 0)], taints: [unreachable], want: { type: 'now' } },
    { name: 'negative tolerationSeconds', tolerations: [tol(unreachable.key, -5)], taints: [unreachable], want: { type: 'now' } },
    { name: 'one of two taints untolerated', tolerations: [tol(unreachable.key)], taints: [unreachable, notReady], want: { type: 'now' } },
    { name: 'the least of the tolerations used', tolerations: [tol(unreachable.key, 30), tol(notReady.key, 10)], taints: [unreachable, notReady], want: { type: 'after', ms: 10_000 } },
    { name: 'unused tolerations do not count', tolerations: [tol(unreachable.key, 30), tol(notReady.key, 10)], taints: [unreachable], want: { type: 'after', ms: 30_000 } },
    { name: 'a NoSchedule toleration does not cover NoExecute', tolerations: [tol(unreachable.key, undefined, 'NoSchedule')], taints: [unreachable], want: { type: 'now' } },
    { name: 'tolerate-everything', tolerations: [{ operator: 'Exists' }], taints: [unreachable, notReady], want: { type: 'keep' } },
  ];
  for (const c of cases) t.same(evictionDecision(c.tolerations, c.taints), c.want, c.name);
});

t.test('noExecuteTaints and signature', async (t) => {
  const node = { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', value: 'x', effect: 'NoExecute' }, unreachable] } };
  t.same(noExecuteTaints(node), [{ key: 'b', value: 'x', effect: 'NoExecute' }, unreachable]);
  t.equal(noExecuteSignature(node), 'b=x,node.kubernetes.io/unreachable=');
  t.same(noExecuteTaints(undefined), []);
});
