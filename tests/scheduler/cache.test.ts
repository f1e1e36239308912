import t from 'tap';
import { SchedulerCache } from '../../pkg/scheduler/cache.js';
import { podInfoOf } from '../../pkg/scheduler/podinfo.js';
import { makeNode, makePod } from './fixtures.js';

function bound(name: string, node: string, o: Parameters<typeof makePod>[1] = {}) {
  return makePod(name, { ...o, nodeName: node });
}

t.test('sums follow pod add, update, delete', async (t) => {
  const c = new SchedulerCache();
  c.addNode(makeNode('n1'));
  const a = bound('a', 'n1', { cpu: '1', memory: '1Gi', owner: 'web', hostPorts: [{ hostPort: 80 }] });
  const b = bound('b', 'n1', { cpu: '500m', owner: 'web' });
  c.addPod(a);
  c.addPod(b);
  const ni = c.nodeInfo('n1')!;
  t.equal(ni.requested.milliCPU, 1500);
  t.equal(ni.requested.memory, 2 ** 30);
  t.equal(ni.podCount, 2);
  t.equal(ni.ownerCounts.get('rs-web'), 2);
  t.ok(ni.usedPorts.get('TCP/80'));

  const bigger = { ...b, spec: { ...b.spec!, containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '2' } } }] } };
  c.updatePod(bigger);
  t.equal(ni.requested.milliCPU, 3000, 'update replaces the old requests');
  t.equal(ni.podCount, 2);

  c.removePod(a);
  t.equal(ni.requested.milliCPU, 2000);
  t.equal(ni.requested.memory, 0);
  t.equal(ni.ownerCounts.get('rs-web'), 1);
  t.notOk(ni.usedPorts.has('TCP/80'), 'ports released');

  c.updatePod({ ...bigger, status: { phase: 'Succeeded' } });
  t.equal(ni.podCount, 0, 'a finished pod no longer counts');
  t.equal(ni.requested.milliCPU, 0);
});

t.test('assumed pods count until confirmed or forgotten', async (t) => {
  const c = new SchedulerCache();
  c.addNode(makeNode('n1'));
  c.addNode(makeNode('n2'));
  const p = makePod('p', { cpu: '1' });
  const info = podInfoOf(p);
  c.assumePod(info, 'n1');
  t.ok(c.isAssumed(info.key));
  t.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000);

  c.addPod(p); // an older, unassigned version arrives: the assumption stays
  t.ok(c.isAssumed(info.key));
  t.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000);

  c.addPod({ ...p, spec: { ...p.spec!, nodeName: 'n1' } });
  t.notOk(c.isAssumed(info.key), 'confirmed by the watch');
  t.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000, 'not counted twice');
  c.forgetPod(info.key);
  t.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000, 'a confirmed pod is not forgotten');

  const q = makePod('q', { cpu: '2' });
  c.assumePod(podInfoOf(q), 'n2');
  c.forgetPod(podInfoOf(q).key);
  t.equal(c.nodeInfo('n2')!.requested.milliCPU, 0, 'binding failed: released');
  t.equal(c.nodeOf(podInfoOf(q).key), undefined);
});

t.test('nodes: list, update keeps sums, delete with pods lingers unlisted', async (t) => {
  const c = new SchedulerCache();
  c.addPod(bound('early', 'n1', { cpu: '1' })); // pod before its node
  t.equal(c.numNodes, 0, 'a node known only from pods is not schedulable');
  c.addNode(makeNode('n1', { cpu: '2' }));
  c.addNode(makeNode('n2'));
  t.same(c.nodeInfos().map((n) => n.name), ['n1', 'n2']);
  t.equal(c.nodeInfo('n1')!.requested.milliCPU, 1000, 'the early pod counts');
  c.updateNode(makeNode('n1', { cpu: '8', unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }] }));
  const n1 = c.nodeInfo('n1')!;
  t.equal(n1.allocatable.milliCPU, 8000);
  t.ok(n1.unschedulable);
  t.equal(n1.taints.length, 1);
  t.equal(n1.requested.milliCPU, 1000, 'sums kept across node updates');
  c.removeNode('n1');
  t.same(c.nodeInfos().map((n) => n.name), ['n2']);
  t.ok(c.nodeInfo('n1'), 'lingers while its pod is there');
  c.removePod(bound('early', 'n1'));
  // a different uid: build the same key by reusing the pod
  t.ok(c.nodeInfo('n1'), 'a pod with another uid does not remove it');
  const early = bound('x', 'n3');
  c.addPod(early);
  c.removePod(early);
  t.notOk(c.nodeInfo('n3'), 'an unlisted node disappears with its last pod');
});
