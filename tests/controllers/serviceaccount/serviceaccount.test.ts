import t from 'tap';
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isNamespaceTerminating, missingServiceAccounts } from '../../../pkg/controllers/serviceaccount/serviceaccount.js';

const ns = (name: string, extra: Partial<Namespace> = {}): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, ...extra });
const sa = (namespace: string, name: string): ServiceAccount => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace, name } });

t.test('missingServiceAccounts', async (t) => {
  const cases: { name: string; ns: Namespace | undefined; existing: ServiceAccount[]; names?: string[]; want: string[] }[] = [
    { name: 'new namespace gets default', ns: ns('a'), existing: [], want: ['default'] },
    { name: 'already there', ns: ns('a'), existing: [sa('a', 'default')], want: [] },
    { name: 'one in another namespace does not count', ns: ns('a'), existing: [sa('b', 'default')], want: ['default'] },
    { name: 'other accounts do not count', ns: ns('a'), existing: [sa('a', 'builder')], want: ['default'] },
    { name: 'several configured', ns: ns('a'), existing: [sa('a', 'default')], names: ['default', 'builder'], want: ['builder'] },
    { name: 'deleting namespace', ns: ns('a', { metadata: { name: 'a', deletionTimestamp: '2024-01-01T00:00:00Z' } }), existing: [], want: [] },
    { name: 'terminating phase', ns: ns('a', { status: { phase: 'Terminating' } }), existing: [], want: [] },
    { name: 'namespace gone', ns: undefined, existing: [], want: [] },
  ];
  for (const c of cases) {
    const got = missingServiceAccounts(c.ns, c.existing, c.names);
    t.same(got.map((s) => s.metadata?.name), c.want, c.name);
    for (const s of got) t.equal(s.metadata?.namespace, c.ns?.metadata?.name, `${c.name}: namespace set`);
  }
});

t.test('isNamespaceTerminating', async (t) => {
  t.equal(isNamespaceTerminating(ns('a', { status: { phase: 'Active' } })), false);
  t.equal(isNamespaceTerminating(ns('a', { metadata: { name: 'a', deletionTimestamp: '2024-01-01T00:00:00Z' } })), true);
});
