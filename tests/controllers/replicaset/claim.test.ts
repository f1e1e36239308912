import t from 'tap';
import { fromLabelSelectorObject } from '../../../pkg/api/selectors.js';
import { claimObjects, withControllerRef, withoutOwnerRef } from '../../../pkg/controllers/replicaset/claim.js';

const ref = (uid: string) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: uid, uid, controller: true });
const obj = (name: string, labels: Record<string, string>, owner?: string, deleting = false, namespace = 'ns') => ({
  metadata: { name, namespace, labels, ownerReferences: owner === undefined ? undefined : [ref(owner)], deletionTimestamp: deleting ? '2025-01-01T00:00:00Z' : undefined },
});

const claimer = { uid: 'me', namespace: 'ns', deleting: false, selector: fromLabelSelectorObject({ matchLabels: { app: 'a' } }) };

const cases = [
  { name: 'owned and matching', o: obj('p', { app: 'a' }, 'me'), want: 'owned' },
  { name: 'owned, no longer matching', o: obj('p', { app: 'b' }, 'me'), want: 'release' },
  { name: 'orphan matching', o: obj('p', { app: 'a' }), want: 'adopt' },
  { name: 'orphan not matching', o: obj('p', { app: 'b' }), want: 'none' },
  { name: 'orphan being deleted', o: obj('p', { app: 'a' }, undefined, true), want: 'none' },
  { name: 'orphan in another namespace', o: obj('p', { app: 'a' }, undefined, false, 'other'), want: 'none' },
  { name: "someone else's", o: obj('p', { app: 'a' }, 'other'), want: 'none' },
];

for (const tc of cases) {
  t.test(tc.name, async (t) => {
    const r = claimObjects(claimer, [tc.o]);
    const got = r.owned.length ? 'owned' : r.adopt.length ? 'adopt' : r.release.length ? 'release' : 'none';
    t.equal(got, tc.want);
  });
}

t.test('a controller being deleted neither adopts nor releases', async (t) => {
  const r = claimObjects({ ...claimer, deleting: true }, [obj('a', { app: 'a' }), obj('b', { app: 'b' }, 'me'), obj('c', { app: 'a' }, 'me')]);
  t.same([r.adopt.length, r.release.length, r.owned.length], [0, 0, 1]);
});

t.test('owner reference list edits', async (t) => {
  t.same(withControllerRef([ref('x')], ref('me')), [ref('x'), ref('me')]);
  t.same(withoutOwnerRef([ref('x'), ref('me')], 'me'), [ref('x')]);
});
