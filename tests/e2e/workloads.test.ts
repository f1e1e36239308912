/**
 * Issue 3 end to end: kubectl against `orch server` (scheduler and
 * controllers in it) with hollow kubelets on three nodes — deployments roll
 * out and back, scale, respect cordon/taint/drain, pods of a dead node are
 * replaced elsewhere, and a deleted namespace empties itself.
 */
import t from 'tap';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startServerProcess } from '../helpers/server-process.js';
import { startHollowKubelets } from '../helpers/hollow-kubelet.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';
import { waitFor } from '../helpers/wait.js';

const ready = (p: Pod) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

t.test('deployments, scheduling and node failure through kubectl', async (t) => {
  const s = await startServerProcess([
    '--node-monitor-grace-period', '3s',
    '--node-monitor-period', '500ms',
    '--default-unreachable-toleration-seconds', '2',
    '--default-not-ready-toleration-seconds', '2',
  ]);
  t.teardown(() => s.stop());
  const kubelets = await startHollowKubelets({ url: `https://127.0.0.1:${s.port}`, dataDir: s.dataDir, nodes: ['n1', 'n2', 'n3'], heartbeatMs: 500 });
  t.teardown(() => kubelets.stop());
  const k = (...args: string[]) => s.kubectl(args).then((r) => r.stdout);

  t.match(await k('get', 'nodes'), /n1\s+Ready/);

  // Watch pods the whole time: availability during the rollout is checked from here.
  const factory = new SharedInformerFactory(kubelets.client);
  const pods = factory.informerFor('pods', { namespace: 'default' });
  factory.start();
  await factory.waitForSync();
  t.teardown(() => factory.stop());
  const webPods = () => pods.list().filter((p) => p.metadata?.labels?.app === 'web');

  t.match(await k('create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=4'), /created/);
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  const nodesUsed = new Set(webPods().map((p) => p.spec?.nodeName));
  t.ok(nodesUsed.size >= 2, `pods spread over nodes (${[...nodesUsed].join(',')})`);
  t.same(JSON.parse(await k('get', 'pods', '-o', 'json')).items.map((p: Pod) => p.spec?.tolerations?.length), [2, 2, 2, 2], 'default tolerations admitted');

  // A rolling update never drops below replicas - maxUnavailable (25% of 4 = 1).
  let minReady = Infinity;
  const probe = setInterval(() => (minReady = Math.min(minReady, webPods().filter(ready).length)), 5);
  t.match(await k('set', 'image', 'deployment/web', 'nginx=nginx:1.26'), /image updated/);
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  clearInterval(probe);
  t.ok(minReady >= 3, `at least 3 of 4 pods ready throughout the rollout (min ${minReady})`);
  t.match(await k('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'nginx:1.26');
  t.match(await k('rollout', 'history', 'deployment/web'), /1\s+<none>[\s\S]*2\s+<none>/);
  t.match(await k('rollout', 'undo', 'deployment/web'), /rolled back/);
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  t.equal(await k('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'nginx:1.25');

  t.match(await k('scale', 'deployment/web', '--replicas=6'), /scaled/);
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  await waitFor(() => webPods().filter(ready).length === 6, 20_000, '6 ready pods');

  // Cordon and drain n1: its pods move to n2/n3 and nothing new lands on n1.
  t.match(await k('cordon', 'n1'), /cordoned/);
  t.match(await k('get', 'node', 'n1'), /SchedulingDisabled/);
  t.match(await k('drain', 'n1', '--ignore-daemonsets', '--timeout=60s'), /drained/);
  await waitFor(() => webPods().filter(ready).length === 6 && webPods().every((p) => p.spec?.nodeName !== 'n1'), 30_000, 'pods off n1');
  t.pass('drain moved every pod off n1');

  // A NoSchedule taint on n2 keeps new pods off it.
  t.match(await k('taint', 'nodes', 'n2', 'dedicated=infra:NoSchedule'), /tainted/);
  t.match(await k('uncordon', 'n1'), /uncordoned/);
  const before = new Set(webPods().map((p) => p.metadata?.name));
  await k('scale', 'deployment/web', '--replicas=8');
  await waitFor(() => webPods().filter(ready).length === 8, 30_000, '8 ready pods');
  const fresh = webPods().filter((p) => !before.has(p.metadata?.name));
  t.ok(fresh.length >= 2 && fresh.every((p) => p.spec?.nodeName !== 'n2'), `new pods avoid the tainted node (${fresh.map((p) => p.spec?.nodeName).join(',')})`);

  // n3 stops heartbeating: Unknown, tainted, its pods evicted after 2 s and replaced elsewhere.
  const onN3 = webPods().filter((p) => p.spec?.nodeName === 'n3').length;
  t.ok(onN3 > 0, `pods on n3 before it dies (${onN3})`);
  kubelets.silence('n3');
  await waitFor(() => webPods().filter((p) => ready(p) && p.spec?.nodeName !== 'n3').length === 8, 60_000, '8 ready pods off n3');
  t.match(await k('get', 'node', 'n3'), /n3\s+NotReady/);
  const taints = JSON.parse(await k('get', 'node', 'n3', '-o', 'json')).spec.taints.map((x: { key: string; effect: string }) => `${x.key}:${x.effect}`);
  t.ok(taints.includes('node.kubernetes.io/unreachable:NoExecute'), 'unreachable NoExecute taint');
  const events = await k('get', 'events', '-A');
  t.match(events, /TaintManagerEviction|NodeNotReady/);
});

t.test('deleting a namespace empties it', async (t) => {
  const s = await startServerProcess();
  t.teardown(() => s.stop());
  const kubelets = await startHollowKubelets({ url: `https://127.0.0.1:${s.port}`, dataDir: s.dataDir, nodes: ['m1'] });
  t.teardown(() => kubelets.stop());
  const k = (...args: string[]) => s.kubectl(args).then((r) => r.stdout);
  await k('create', 'namespace', 'team');
  await k('-n', 'team', 'create', 'deployment', 'api', '--image=busybox', '--replicas=2');
  await k('-n', 'team', 'create', 'configmap', 'settings', '--from-literal=a=b');
  await k('-n', 'team', 'create', 'service', 'clusterip', 'api', '--tcp=80:8080');
  t.match(await k('-n', 'team', 'rollout', 'status', 'deployment/api', '--timeout=60s'), /successfully rolled out/);
  t.match(await k('-n', 'team', 'get', 'serviceaccount', 'default'), /default/);
  t.match(await k('-n', 'team', 'get', 'endpoints', 'api'), /api/);
  t.match(await k('delete', 'namespace', 'team', '--timeout=60s'), /namespace "team" deleted/);
  const gone = await s.kubectl(['get', 'namespace', 'team'], { allowFail: true });
  t.match(gone.stderr, /NotFound/);
  t.match(await k('get', 'pods', '-A'), /^(?![\s\S]*team)/, 'no pod of the namespace is left');
});
