import t from 'tap';
import type { Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { addDefaultTolerations } from '../../../pkg/apiserver/admission/default-tolerations.js';

const pod = (tolerations?: Toleration[]): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }], ...(tolerations ? { tolerations } : {}) } });
const notReady = (s: number): Toleration => ({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });
const unreachable = (s: number): Toleration => ({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });

t.test('addDefaultTolerations', async (t) => {
  const mine: Toleration = { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' };
  const cases: { name: string; in?: Toleration[]; opts?: { notReadySeconds?: number; unreachableSeconds?: number }; want: Toleration[] }[] = [
    { name: 'none: both added, 300 s', want: [notReady(300), unreachable(300)] },
    { name: 'options', opts: { notReadySeconds: 10, unreachableSeconds: 20 }, want: [notReady(10), unreachable(20)] },
    { name: 'other tolerations kept first', in: [mine], want: [mine, notReady(300), unreachable(300)] },
    { name: 'already tolerates not-ready', in: [notReady(5)], want: [notReady(5), unreachable(300)] },
    { name: 'already tolerates unreachable for ever', in: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }], want: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }, notReady(300)] },
    { name: 'tolerates everything', in: [{ operator: 'Exists' }], want: [{ operator: 'Exists' }] },
    { name: 'empty effect covers NoExecute', in: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }], want: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }, unreachable(300)] },
    {
      name: 'a NoSchedule toleration of the same key does not count',
      in: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }],
      want: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }, notReady(300), unreachable(300)],
    },
  ];
  for (const c of cases) {
    const input = pod(c.in);
    const before = JSON.stringify(input);
    t.same(addDefaultTolerations(input, c.opts).spec?.tolerations, c.want, c.name);
    t.equal(JSON.stringify(input), before, `${c.name}: input untouched`);
  }
});
