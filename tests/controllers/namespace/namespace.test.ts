import t from 'tap';
import type { Namespace, NamespaceCondition, Pod } from 'kubernetes-types/core/v1.js';
import {
  conditionsChanged,
  finalizedNamespace,
  isEmptied,
  namespaceConditions,
  needsFinalization,
  podGraceEstimateMs,
  type DeletionReport,
} from '../../../pkg/controllers/namespace/namespace.js';

const ns = (deleting: boolean, finalizers: string[] = ['kubernetes']): Namespace => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'x', resourceVersion: '5', ...(deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
  spec: { finalizers },
});

const report = (o: Partial<{ failures: string[]; remaining: [string, number][]; finalizers: [string, number][] }> = {}): DeletionReport => ({
  failures: o.failures ?? [],
  remaining: new Map(o.remaining ?? []),
  finalizers: new Map(o.finalizers ?? []),
});

t.test('needsFinalization', async (t) => {
  const cases: [string, Namespace | undefined, boolean][] = [
    ['active', ns(false), false],
    ['deleting with our finalizer', ns(true), true],
    ['deleting, finalizer already removed', ns(true, []), false],
    ['deleting, only someone else’s finalizer', ns(true, ['example.com/x']), false],
    ['gone', undefined, false],
  ];
  for (const [name, n, want] of cases) t.equal(needsFinalization(n), want, name);
});

t.test('finalizedNamespace drops only our finalizer', async (t) => {
  const out = finalizedNamespace(ns(true, ['kubernetes', 'example.com/x']));
  t.same(out.spec?.finalizers, ['example.com/x']);
  t.equal(out.metadata?.name, 'x');
});

t.test('namespaceConditions', async (t) => {
  const now = '2024-01-01T00:00:10Z';
  const cases: { name: string; report: DeletionReport; want: Record<string, [string, string, string?]> }[] = [
    {
      name: 'all fine',
      report: report(),
      want: {
        NamespaceDeletionDiscoveryFailure: ['False', 'ResourcesDiscovered'],
        NamespaceDeletionGroupVersionParsingFailure: ['False', 'ParsedGroupVersions'],
        NamespaceDeletionContentFailure: ['False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
        NamespaceContentRemaining: ['False', 'ContentRemoved', 'All content successfully removed'],
        NamespaceFinalizersRemaining: ['False', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
      },
    },
    {
      name: 'pods remaining, with finalizers',
      report: report({ remaining: [['pods', 2], ['configmaps', 1]], finalizers: [['example.com/hold', 1]] }),
      want: {
        NamespaceContentRemaining: ['True', 'SomeResourcesRemain', 'Some resources are remaining: configmaps has 1 resource instances, pods has 2 resource instances'],
        NamespaceFinalizersRemaining: ['True', 'SomeFinalizersRemain', 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances'],
        NamespaceDeletionContentFailure: ['False', 'ContentDeleted'],
      },
    },
    {
      name: 'a failed deletion',
      report: report({ failures: ['secrets: boom'] }),
      want: { NamespaceDeletionContentFailure: ['True', 'ContentDeletionFailed', 'Failed to delete all resource types, 1 remaining: secrets: boom'] },
    },
  ];
  for (const c of cases) {
    const got = namespaceConditions(c.report, undefined, now);
    t.equal(got.length, 5, `${c.name}: five conditions`);
    for (const [type, [status, reason, message]] of Object.entries(c.want)) {
      const cond = got.find((x) => x.type === type);
      t.equal(cond?.status, status, `${c.name}: ${type} status`);
      t.equal(cond?.reason, reason, `${c.name}: ${type} reason`);
      if (message !== undefined) t.equal(cond?.message, message, `${c.name}: ${type} message`);
      t.equal(cond?.lastTransitionTime, now);
    }
  }
});

t.test('namespaceConditions keeps transition times of unchanged conditions and foreign conditions', async (t) => {
  const first = namespaceConditions(report({ remaining: [['pods', 1]] }), [{ type: 'Custom', status: 'True' }], 't1');
  t.ok(first.some((c) => c.type === 'Custom'), 'foreign condition kept');
  const again = namespaceConditions(report({ remaining: [['pods', 1]] }), first, 't2');
  t.notOk(conditionsChanged(first, again), 'same report: no change to write');
  const later = namespaceConditions(report(), first, 't3');
  const byType = (cs: NamespaceCondition[], type: string) => cs.find((c) => c.type === type);
  t.equal(byType(later, 'NamespaceContentRemaining')?.lastTransitionTime, 't3', 'changed condition gets a new time');
  t.equal(byType(later, 'NamespaceDeletionDiscoveryFailure')?.lastTransitionTime, 't1', 'unchanged keeps its time');
  t.ok(conditionsChanged(first, later));
  t.notOk(conditionsChanged([...first].reverse(), first), 'order does not matter');
});

t.test('isEmptied', async (t) => {
  t.equal(isEmptied(report()), true);
  t.equal(isEmptied(report({ remaining: [['pods', 1]] })), false);
  t.equal(isEmptied(report({ failures: ['x'] })), false);
});

t.test('podGraceEstimateMs', async (t) => {
  const pod = (grace?: number, phase = 'Running'): Pod => ({ spec: { containers: [], terminationGracePeriodSeconds: grace }, status: { phase } });
  const cases: [string, Pod[], number | undefined][] = [
    ['no pods', [], undefined],
    ['default grace 30 s', [pod()], 16_000],
    ['longest wins', [pod(10), pod(60)], 31_000],
    ['zero grace', [pod(0)], 1_000],
    ['finished pods do not wait', [pod(60, 'Succeeded'), pod(60, 'Failed')], undefined],
  ];
  for (const [name, pods, want] of cases) t.equal(podGraceEstimateMs(pods), want, name);
});
