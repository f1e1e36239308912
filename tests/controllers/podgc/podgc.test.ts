import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import {
  ORPHAN_CONDITION,
  failedStatusPatch,
  orphanedPods,
  quarantine,
  terminatedPodsToDelete,
  unscheduledTerminatingPods,
} from '../../../pkg/controllers/podgc/podgc.js';

interface PodOpts {
  node?: string;
  phase?: string;
  reason?: string;
  created?: string;
  deleting?: boolean;
}

function pod(name: string, o: PodOpts = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2024-01-02T00:00:00Z' } : {}),
    },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: { phase: o.phase ?? 'Running', ...(o.reason ? { reason: o.reason } : {}) },
  };
}

const names = (ps: Pod[]) => ps.map((p) => p.metadata?.name);

t.test('terminatedPodsToDelete', async (t) => {
  const finished = [
    pod('new-ok', { phase: 'Succeeded', created: '2024-01-03T00:00:00Z' }),
    pod('old-ok', { phase: 'Succeeded', created: '2024-01-01T00:00:00Z' }),
    pod('mid-fail', { phase: 'Failed', created: '2024-01-02T00:00:00Z' }),
    pod('evicted', { phase: 'Failed', reason: 'Evicted', created: '2024-01-04T00:00:00Z' }),
    pod('b-tie', { phase: 'Succeeded', created: '2024-01-05T00:00:00Z' }),
    pod('a-tie', { phase: 'Succeeded', created: '2024-01-05T00:00:00Z' }),
  ];
  const running = [pod('r1'), pod('r2', { phase: 'Pending' })];
  const cases: [string, Pod[], number, (string | undefined)[]][] = [
    ['under threshold', finished, 10, []],
    ['at threshold', finished, 6, []],
    ['one over: evicted first', finished, 5, ['evicted']],
    ['then oldest', finished, 3, ['evicted', 'old-ok', 'mid-fail']],
    ['name breaks ties', finished, 1, ['evicted', 'old-ok', 'mid-fail', 'new-ok', 'a-tie']],
    ['running pods never count', [...running, ...finished.slice(0, 2)], 1, ['old-ok']],
    ['disabled', finished, 0, []],
    ['already deleting: not counted', [pod('x', { phase: 'Failed', deleting: true }), pod('y', { phase: 'Failed' })], 1, []],
  ];
  for (const [name, pods, threshold, want] of cases) t.same(names(terminatedPodsToDelete(pods, threshold)), want, name);
});

t.test('unscheduledTerminatingPods and orphanedPods', async (t) => {
  const pods = [pod('bound', { node: 'n1' }), pod('gone', { node: 'n2' }), pod('unbound-deleting', { deleting: true }), pod('unbound'), pod('bound-deleting', { node: 'n1', deleting: true })];
  t.same(names(unscheduledTerminatingPods(pods)), ['unbound-deleting']);
  t.same(names(orphanedPods(pods, new Set(['n2']))), ['gone']);
  t.same(names(orphanedPods(pods, new Set())), []);
});

t.test('quarantine', async (t) => {
  const pods = [pod('a', { node: 'n1' }), pod('b', { node: 'n2' }), pod('c', { node: 'n2' }), pod('d', { node: 'n3' }), pod('e')];
  const exists = (n: string) => n === 'n1';
  const first = quarantine(new Map(), pods, exists, 1000, 500);
  t.same([...first.missingSince], [['n2', 1000], ['n3', 1000]], 'missing nodes noted when first seen');
  t.same(first.expired, [], 'nothing expires at once');
  t.equal(first.nextInMs, 500);

  const later = quarantine(first.missingSince, pods, exists, 1300, 500);
  t.same(later.expired, []);
  t.equal(later.nextInMs, 200, 'time left of the oldest');
  const done = quarantine(later.missingSince, pods, exists, 1500, 500);
  t.same(done.expired, ['n2', 'n3'], 'expired after the quarantine');
  t.equal(done.nextInMs, undefined);

  const back = quarantine(first.missingSince, pods, (n) => n !== 'n3', 1600, 500);
  t.same([...back.missingSince.keys()], ['n3'], 'a node that came back is forgotten');
  t.same(back.expired, ['n3']);
  const noPods = quarantine(first.missingSince, [pods[0]], exists, 1600, 500);
  t.equal(noPods.missingSince.size, 0, 'nodes no pod references are forgotten');
  t.same(quarantine(new Map(), pods, exists, 1000, 0).expired, ['n2', 'n3'], 'zero quarantine: at once');
});

t.test('failedStatusPatch', async (t) => {
  t.same(failedStatusPatch(pod('a'), ORPHAN_CONDITION, 'T'), {
    status: { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists', lastTransitionTime: 'T' }] },
  });
  t.same(failedStatusPatch(pod('a')), { status: { phase: 'Failed' } });
  t.equal(failedStatusPatch(pod('a', { phase: 'Succeeded' }), ORPHAN_CONDITION), undefined, 'finished pods keep their phase');
});
