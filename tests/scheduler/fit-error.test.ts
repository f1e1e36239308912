import t from 'tap';
import { FitError, fitErrorMessage } from '../../pkg/scheduler/fit-error.js';

t.test('aggregated message reads like kube-scheduler', async (t) => {
  const cases: { name: string; nodes: number; reasons: string[][]; want: string }[] = [
    {
      name: 'the issue example',
      nodes: 3,
      reasons: [['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'], ['Insufficient memory'], ['Insufficient memory']],
      want: '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.',
    },
    {
      name: 'one node with two reasons counts both',
      nodes: 2,
      reasons: [['Insufficient cpu', 'Insufficient memory'], ['node(s) were unschedulable']],
      want: '0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) were unschedulable.',
    },
    {
      name: 'bytewise sort, as Go sort.Strings ("10 …" before "2 …", capitals before lower case)',
      nodes: 12,
      reasons: [...Array(10).fill(["node(s) didn't match Pod's node affinity/selector"]), ['Too many pods'], ['Too many pods']],
      want: "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, 2 Too many pods.",
    },
    { name: 'no reasons at all', nodes: 1, reasons: [], want: '0/1 nodes are available:' },
  ];
  for (const c of cases) t.equal(fitErrorMessage(c.nodes, c.reasons), c.want, c.name);
});

t.test('FitError', async (t) => {
  const e = new FitError(1, new Map([['n1', ['Insufficient cpu']]]));
  t.equal(e.message, '0/1 nodes are available: 1 Insufficient cpu.');
  t.equal(new FitError(0, new Map()).message, 'no nodes available to schedule pods');
});
