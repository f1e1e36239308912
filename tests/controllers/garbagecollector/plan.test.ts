import t from 'tap';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import {
  blocksOwner,
  ownerStateOf,
  planDeletingOwner,
  planDependent,
  unblockOwnerRefs,
  withoutFinalizer,
  withoutOwnerRefs,
  type Meta,
  type OwnerState,
} from '../../../pkg/controllers/garbagecollector/plan.js';

const ref = (uid: string, block = true): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${uid}`, uid, controller: true, blockOwnerDeletion: block });
const obj = (uid: string, refs: OwnerReference[] = [], extra: Partial<NonNullable<Meta['metadata']>> = {}): Meta => ({ metadata: { name: `o-${uid}`, uid, ownerReferences: refs, ...extra } });
const DELETING = '2025-01-01T00:00:00Z';

t.test('ownerStateOf', async (t) => {
  const cases: [string, Meta | undefined, OwnerState][] = [
    ['not found', undefined, 'dangling'],
    ['same name, other uid', obj('other'), 'dangling'],
    ['found', obj('a'), 'solid'],
    ['being deleted in the background', obj('a', [], { deletionTimestamp: DELETING }), 'solid'],
    ['foreground without deletionTimestamp', obj('a', [], { finalizers: ['foregroundDeletion'] }), 'solid'],
    ['deleting in the foreground', obj('a', [], { deletionTimestamp: DELETING, finalizers: ['foregroundDeletion'] }), 'waiting'],
  ];
  for (const [name, found, want] of cases) t.equal(ownerStateOf({ uid: 'a' }, found), want, name);
});

t.test('planDependent', async (t) => {
  const none = { hasDependents: false, dependentDeletingDependents: false };
  const cases: { name: string; o: Meta; states: Record<string, OwnerState>; deps?: typeof none; want: ReturnType<typeof planDependent> }[] = [
    { name: 'no owners', o: obj('x'), states: {}, want: { type: 'none' } },
    { name: 'owner alive', o: obj('x', [ref('a')]), states: { a: 'solid' }, want: { type: 'none' } },
    { name: 'owner kind unknown: leave it', o: obj('x', [ref('a')]), states: { a: 'unknown' }, want: { type: 'none' } },
    { name: 'owner gone: background', o: obj('x', [ref('a')]), states: { a: 'dangling' }, want: { type: 'delete', policy: 'Background' } },
    {
      name: 'one of two owners gone: drop its reference only',
      o: obj('x', [ref('a'), ref('b')]),
      states: { a: 'dangling', b: 'solid' },
      want: { type: 'removeOwnerRefs', uids: ['a'] },
    },
    {
      name: 'one owner waiting, one alive: drop the waiting reference',
      o: obj('x', [ref('a'), ref('b')]),
      states: { a: 'waiting', b: 'solid' },
      want: { type: 'removeOwnerRefs', uids: ['a'] },
    },
    { name: 'all owners gone', o: obj('x', [ref('a'), ref('b')]), states: { a: 'dangling', b: 'dangling' }, want: { type: 'delete', policy: 'Background' } },
    { name: 'owner waiting, no dependents of our own', o: obj('x', [ref('a')]), states: { a: 'waiting' }, want: { type: 'delete', policy: 'Background' } },
    {
      name: 'owner waiting, we have dependents: foreground',
      o: obj('x', [ref('a')]),
      states: { a: 'waiting' },
      deps: { hasDependents: true, dependentDeletingDependents: false },
      want: { type: 'delete', policy: 'Foreground' },
    },
    {
      name: 'owner waiting, a dependent of ours waits too: unblock then foreground',
      o: obj('x', [ref('a')]),
      states: { a: 'waiting' },
      deps: { hasDependents: true, dependentDeletingDependents: true },
      want: { type: 'unblockAndDelete', uids: ['a'], policy: 'Foreground' },
    },
    { name: 'owner gone, orphan finalizer on us', o: obj('x', [ref('a')], { finalizers: ['orphan'] }), states: { a: 'dangling' }, want: { type: 'delete', policy: 'Orphan' } },
    {
      name: 'owner gone, foreground finalizer on us',
      o: obj('x', [ref('a')], { finalizers: ['foregroundDeletion'] }),
      states: { a: 'dangling' },
      want: { type: 'delete', policy: 'Foreground' },
    },
  ];
  for (const c of cases) t.same(planDependent(c.o, new Map(Object.entries(c.states)), c.deps ?? none), c.want, c.name);
});

t.test('planDeletingOwner', async (t) => {
  const blocking = obj('p1', [ref('o')]);
  const nonBlocking = obj('p2', [ref('o', false)]);
  const leaving = obj('p3', [ref('o')], { deletionTimestamp: DELETING });
  const fg = { deletionTimestamp: DELETING, finalizers: ['foregroundDeletion'] };
  const cases: { name: string; owner: Meta; deps: Meta[]; want: ReturnType<typeof planDeletingOwner> }[] = [
    { name: 'not deleting', owner: obj('o', [], { finalizers: ['orphan'] }), deps: [blocking], want: { type: 'none' } },
    { name: 'deleting without our finalizers', owner: obj('o', [], { deletionTimestamp: DELETING, finalizers: ['x/y'] }), deps: [blocking], want: { type: 'none' } },
    { name: 'orphan', owner: obj('o', [], { deletionTimestamp: DELETING, finalizers: ['orphan'] }), deps: [blocking, nonBlocking], want: { type: 'orphan', dependents: [blocking, nonBlocking] } },
    { name: 'foreground, no dependents', owner: obj('o', [], fg), deps: [], want: { type: 'foreground', process: [], removeFinalizer: true } },
    { name: 'foreground, blocking dependent', owner: obj('o', [], fg), deps: [blocking], want: { type: 'foreground', process: [blocking], removeFinalizer: false } },
    { name: 'foreground, only non-blocking dependents', owner: obj('o', [], fg), deps: [nonBlocking], want: { type: 'foreground', process: [nonBlocking], removeFinalizer: true } },
    {
      name: 'foreground, a blocking dependent already leaving: wait, but no second delete',
      owner: obj('o', [], fg),
      deps: [leaving, nonBlocking],
      want: { type: 'foreground', process: [nonBlocking], removeFinalizer: false },
    },
  ];
  for (const c of cases) t.same(planDeletingOwner(c.owner, c.deps), c.want, c.name);
});

t.test('reference and finalizer helpers', async (t) => {
  t.same(withoutOwnerRefs([ref('a'), ref('b')], ['a']), [ref('b')]);
  t.equal(withoutOwnerRefs([ref('a')], ['a']), undefined, 'none left: field removed');
  t.same(unblockOwnerRefs([ref('a'), ref('b')], ['a']), [{ ...ref('a'), blockOwnerDeletion: false }, ref('b')]);
  t.same(withoutFinalizer(['orphan', 'x/y'], 'orphan'), ['x/y']);
  t.equal(withoutFinalizer(['orphan'], 'orphan'), undefined);
  t.ok(blocksOwner(obj('p', [ref('a')]), 'a'));
  t.notOk(blocksOwner(obj('p', [ref('a', false)]), 'a'));
  t.notOk(blocksOwner(obj('p', [ref('a')]), 'b'));
});
