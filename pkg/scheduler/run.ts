/**
 * Wiring of the scheduler to the API: the shared pod and node informers
 * feed the cache and queue; bindings go through pods/binding, the
 * PodScheduled condition through a strategic-merge PATCH of pods/status
 * (conditions merge by type), events through the client's EventRecorder.
 */
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { Client } from '../client/client.js';
import type { MetricsRegistry } from '../util/metrics.js';
import { EventRecorder } from '../client/events.js';
import type { SharedInformerFactory } from '../client/informer.js';
import { Scheduler, DEFAULT_SCHEDULER_NAME, type SchedulerDeps, type SchedulerOptions } from './scheduler.js';

export interface StartSchedulerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  /** Defaults to a recorder for component "default-scheduler". */
  recorder?: EventRecorder;
  schedulerName?: string;
  percentageOfNodesToScore?: number;
  plugins?: SchedulerOptions['plugins'];
  /** Where failed API calls are reported (default: console.warn). */
  onError?: (err: unknown, pod: Pod, during: string) => void;
  signal?: AbortSignal;
  /** Where scheduler_schedule_attempts_total and scheduler_pending_pods are exposed. */
  metrics?: MetricsRegistry;
}

export interface RunningScheduler {
  scheduler: Scheduler;
  /** Stops the loop, detaches from the informers and flushes events (informers themselves belong to the factory). */
  stop(): Promise<void>;
}

/** The API-backed SchedulerDeps. */
export function apiSchedulerDeps(client: Client, recorder: EventRecorder, onError?: StartSchedulerOptions['onError']): SchedulerDeps {
  const pods = client.resource('pods');
  return {
    async bind(pod: Pod, nodeName: string): Promise<void> {
      await client.bind({ namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid }, nodeName);
    },
    async updatePodStatus(pod: Pod, condition: PodCondition): Promise<void> {
      await pods
        .namespace(pod.metadata?.namespace)
        .patch(pod.metadata?.name ?? '', 'strategic', { status: { conditions: [{ ...condition, lastProbeTime: null }] } }, { subresource: 'status' });
    },
    recordEvent(pod, event): void {
      recorder.event(pod, event.type, event.reason, event.message);
    },
    onError: onError ?? ((err, pod, during) => console.warn(`scheduler: ${during} ${pod.metadata?.namespace}/${pod.metadata?.name}:`, err)),
  };
}

/** kube-scheduler's names for what the scheduler counts, read at scrape time. */
function registerSchedulerMetrics(metrics: MetricsRegistry, scheduler: Scheduler, profile: string): () => void {
  const off = [
    metrics.register({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result. unschedulable means a pod could not be scheduled, error an internal (binding) error.',
      type: 'counter',
      samples: () => (['scheduled', 'unschedulable', 'error'] as const).map((result) => ({ labels: { profile, result }, value: scheduler.attempts[result] })),
    }),
    metrics.register({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type.',
      type: 'gauge',
      samples: () => Object.entries(scheduler.pendingPods()).map(([queue, value]) => ({ labels: { queue }, value })),
    }),
  ];
  return () => off.forEach((f) => f());
}

/**
 * Starts the scheduler: registers informer handlers, starts the factory,
 * waits for the caches to sync (scheduling before every bound pod is known
 * would overcommit nodes), then runs the loop.
 */
export async function startScheduler(opts: StartSchedulerOptions): Promise<RunningScheduler> {
  const recorder = opts.recorder ?? new EventRecorder(opts.client, { component: opts.schedulerName ?? DEFAULT_SCHEDULER_NAME });
  const scheduler = new Scheduler({
    deps: apiSchedulerDeps(opts.client, recorder, opts.onError),
    schedulerName: opts.schedulerName,
    percentageOfNodesToScore: opts.percentageOfNodesToScore,
    plugins: opts.plugins,
  });
  const nodes = opts.informerFactory.informerFor('nodes');
  const pods = opts.informerFactory.informerFor('pods');
  const detach = [
    nodes.addEventHandler({
      onAdd: (n: Node) => scheduler.onNodeAdd(n),
      onUpdate: (o: Node, n: Node) => scheduler.onNodeUpdate(o, n),
      onDelete: (n: Node) => scheduler.onNodeDelete(n),
    }),
    pods.addEventHandler({
      onAdd: (p: Pod) => scheduler.onPodAdd(p),
      onUpdate: (o: Pod, p: Pod) => scheduler.onPodUpdate(o, p),
      onDelete: (p: Pod) => scheduler.onPodDelete(p),
    }),
  ];
  const profile = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  const unregister = opts.metrics ? registerSchedulerMetrics(opts.metrics, scheduler, profile) : () => {};
  opts.informerFactory.start();
  await opts.informerFactory.waitForSync(opts.signal);
  scheduler.start();
  return {
    scheduler,
    async stop() {
      for (const d of detach) d();
      unregister();
      await scheduler.stop();
      await recorder.flush();
    },
  };
}
