import t from 'tap';
import type { Event, Node, Pod } from 'kubernetes-types/core/v1.js';
import { Client } from '../../pkg/client/client.js';
import { SharedInformerFactory } from '../../pkg/client/informer.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { startScheduler } from '../../pkg/scheduler/run.js';
import { MetricsRegistry } from '../../pkg/util/metrics.js';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';
import { waitFor } from '../helpers/wait.js';

function node(name: string, cpu: string, unschedulable = false): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { unschedulable },
    status: {
      capacity: { cpu, memory: '4Gi', pods: '110' },
      allocatable: { cpu, memory: '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok', lastHeartbeatTime: '2025-01-01T00:00:00Z', lastTransitionTime: '2025-01-01T00:00:00Z' }],
    },
  };
}

function pod(name: string, cpu: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu } } }] },
  };
}

async function eventsAbout(client: Client, name: string): Promise<Event[]> {
  return (await client.resource('events').namespace('default').list({ fieldSelector: `involvedObject.name=${name}` })).items;
}

/** Calls `get` until `ok` holds of its answer (events are written in the background). */
async function eventually<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() - start > ms) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('against the real API server: binds, reports unschedulable pods, retries on uncordon', async (t) => {
  const api = await startTestApi();
  const transport = inProcessTransport(api.api.app.fetch, TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  const errors: unknown[] = [];
  const metrics = new MetricsRegistry();
  const running = await startScheduler({ client, informerFactory: factory, metrics, onError: (e) => errors.push(e) });
  t.teardown(async () => {
    await running.stop();
    await factory.stop();
    await transport.close();
    await api.close();
  });
  const nodes = client.resource('nodes');
  const pods = client.resource('pods').namespace('default');
  for (const n of [node('n1', '2'), node('n2', '2')]) {
    const created = await nodes.create(n);
    await nodes.updateStatus({ ...created, status: n.status });
  }
  const informerPods = factory.informerFor('pods');
  const podNode = (name: string) => informerPods.getByName('default', name)?.spec?.nodeName;

  for (let i = 0; i < 6; i++) await pods.create(pod(`web-${i}`, '500m'));
  await waitFor(() => [...Array(6).keys()].every((i) => podNode(`web-${i}`)), 15_000, 'six pods bound');
  const placed = [...Array(6).keys()].map((i) => podNode(`web-${i}`));
  t.ok(placed.includes('n1') && placed.includes('n2'), 'both nodes used');
  const fetched = await pods.get('web-0');
  t.equal(fetched.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True', 'binding set PodScheduled=True');

  await pods.create(pod('big', '3'));
  const msg2 = '0/2 nodes are available: 2 Insufficient cpu.';
  await waitFor(() => informerPods.getByName('default', 'big')?.status?.conditions?.some((c) => c.message === msg2) === true, 15_000, 'condition');
  const cond = (await pods.get('big')).status?.conditions?.find((c) => c.type === 'PodScheduled');
  t.match(cond, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg2 });
  const failed = await eventually(() => eventsAbout(client, 'big'), (es) => es.some((e) => e.reason === 'FailedScheduling'));
  t.ok(failed.some((e) => e.type === 'Warning' && e.reason === 'FailedScheduling' && e.message === msg2), 'FailedScheduling event');

  const cordoned = await nodes.create(node('n3', '4', true));
  await nodes.updateStatus({ ...cordoned, status: node('n3', '4').status });
  const msg3 = '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.';
  await waitFor(() => informerPods.getByName('default', 'big')?.status?.conditions?.some((c) => c.message === msg3) === true, 15_000, 'condition with 3 nodes');
  t.notOk(podNode('big'));

  await nodes.patch('n3', 'merge', { spec: { unschedulable: false } });
  await waitFor(() => podNode('big') === 'n3', 15_000, 'big bound after uncordon');
  t.equal(podNode('big'), 'n3');
  const scheduled = await eventually(() => eventsAbout(client, 'web-0'), (es) => es.length > 0);
  t.ok(scheduled.some((e) => e.reason === 'Scheduled' && /^Successfully assigned default\/web-0 to n[12]$/.test(e.message ?? '')), 'Scheduled event');
  t.same(errors, [], 'no API errors');

  // The counters behind /metrics, under kube-scheduler's names.
  const text = metrics.render();
  t.match(text, '# TYPE scheduler_schedule_attempts_total counter\n');
  t.match(text, 'scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 7\n', 'six web pods and big');
  const unschedulable = Number(/result="unschedulable"\} (\d+)/.exec(text)?.[1]);
  t.ok(unschedulable >= 2, `big failed at least twice before it fit (${unschedulable})`);
  t.match(text, 'scheduler_pending_pods{queue="active"} 0\n');
  await running.stop();
  t.notMatch(metrics.render(), 'scheduler_schedule_attempts_total', 'a stopped scheduler unregisters its metrics');
});
