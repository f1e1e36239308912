/**
 * The namespace controller wired to the API: a namespace with a
 * deletionTimestamp and the `kubernetes` finalizer is emptied — a
 * deleteCollection per namespaced kind of the registry (pods keep their
 * grace period; their node finishes them), then a list of each to see what
 * is left — its conditions updated, and once nothing is left the finalizer
 * is removed through namespaces/NAME/finalize, upon which the API server
 * deletes the namespace. While content remains the key comes back with
 * backoff, sooner when a pod of a terminating namespace goes.
 */
import type { Namespace, Pod } from 'kubernetes-types/core/v1.js';
import { RESOURCES, groupResourceOf, type ResourceType } from '../../api/registry.js';
import type { Client, ObjectLike } from '../../client/client.js';
import { isConflict, isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { ExponentialRateLimiter, WorkQueue } from '../../client/workqueue.js';
import { errorMessage, runControllerLoop, type RunningController } from '../common/loop.js';
import { conditionsChanged, finalizedNamespace, isEmptied, namespaceConditions, needsFinalization, podGraceEstimateMs, type DeletionReport } from './namespace.js';

/** Options of startNamespaceController. */
export interface NamespaceControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  /** Defaults to a recorder for component "namespace-controller". */
  recorder?: EventRecorder;
  /** Concurrent syncs (default 10, as --concurrent-namespace-syncs). */
  workers?: number;
  /** Kinds to empty (default: every namespaced kind of the registry). */
  resources?: readonly ResourceType[];
  /** Backoff between passes while content remains or a pass failed (defaults 100 ms doubling to 60 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  now?: () => Date;
  /** Failed syncs other than "content remains" (default: console.warn). */
  onError?: (key: string, e: unknown) => void;
  signal?: AbortSignal;
}

/** Thrown by a pass that left content behind, so the queue retries it with backoff; not reported. */
export class ContentRemainingError extends Error {
  constructor(readonly namespace: string) {
    super(`namespace ${namespace}: content remains`);
    this.name = 'ContentRemainingError';
  }
}

function isPod(o: ObjectLike): o is Pod {
  return o.kind === 'Pod' && (o.apiVersion ?? 'v1') === 'v1';
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Starts the namespace controller on shared informers; resolves once caches are synced. */
export async function startNamespaceController(opts: NamespaceControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? (() => new Date());
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'namespace-controller' });
  const kinds = (opts.resources ?? RESOURCES).filter((r) => r.namespaced);
  const namespaces = opts.informerFactory.informerFor('namespaces');
  const pods = opts.informerFactory.informerFor('pods');
  const nsClient = client.resource('namespaces');
  const queue = new WorkQueue<string>({ rateLimiter: new ExponentialRateLimiter<string>(opts.backoffBaseMs ?? 100, opts.backoffMaxMs ?? 60_000) });
  const onError = opts.onError ?? ((key: string, e: unknown) => console.warn(`namespace-controller: ${key}:`, errorMessage(e)));

  const enqueue = (ns: Namespace): void => {
    if (needsFinalization(ns) && ns.metadata?.name) queue.add(ns.metadata.name);
  };
  const detach = [
    namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o: Namespace, ns: Namespace) => enqueue(ns) }),
    pods.addEventHandler({
      // The last pods of a terminating namespace going is what it waits for.
      onDelete: (p: Pod) => {
        const ns = namespaces.get(p.metadata?.namespace ?? '');
        if (ns !== undefined) enqueue(ns);
      },
    }),
  ];

  /** Deletes every kind's collection in `name`, then lists what is left. */
  async function deleteContent(name: string): Promise<{ report: DeletionReport; remainingPods: Pod[] }> {
    const report: DeletionReport = { failures: [], remaining: new Map(), finalizers: new Map() };
    let remainingPods: Pod[] = [];
    await Promise.all(
      kinds.map(async (r) => {
        const rc = client.resource<ObjectLike>(r).namespace(name);
        const gr = groupResourceOf(r);
        try {
          await rc.deleteCollection({ propagationPolicy: 'Background' });
        } catch (e) {
          if (!isNotFound(e)) report.failures.push(`${gr}: ${errorMessage(e)}`);
        }
        let items: ObjectLike[];
        try {
          items = (await rc.listAll()).items;
        } catch (e) {
          if (isNotFound(e)) return;
          report.failures.push(`${gr}: ${errorMessage(e)}`);
          return;
        }
        if (items.length === 0) return;
        report.remaining.set(gr, items.length);
        for (const o of items) for (const f of o.metadata?.finalizers ?? []) report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
        if (r.kind === 'Pod' && r.group === '') remainingPods = items.filter(isPod);
      }),
    );
    report.failures.sort();
    return { report, remainingPods };
  }

  async function sync(name: string): Promise<void> {
    const ns = namespaces.get(name);
    if (!needsFinalization(ns)) return;
    const { report, remainingPods } = await deleteContent(name);

    const conditions = namespaceConditions(report, ns.status?.conditions, timestamp(now()));
    if (conditionsChanged(ns.status?.conditions, conditions)) {
      try {
        await nsClient.patch(name, 'merge', { status: { phase: 'Terminating', conditions } }, { subresource: 'status' });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    if (report.failures.length > 0) {
      recorder.event(ns, 'Warning', 'NamespaceDeletionContentFailure', `Failed to delete all resource types: ${report.failures.join(', ')}`);
    }
    if (!isEmptied(report)) {
      // Pods within their grace period: look again in about half of it (the pod informer may call sooner).
      const estimate = podGraceEstimateMs(remainingPods);
      if (estimate !== undefined) queue.addAfter(name, estimate);
      throw new ContentRemainingError(name);
    }

    try {
      await nsClient.updateSubresource<Namespace>(name, 'finalize', finalizedNamespace(ns));
    } catch (e) {
      if (isNotFound(e)) return;
      if (isConflict(e)) throw e;
      recorder.event(ns, 'Warning', 'NamespaceFinalizeFailed', `Failed to finalize namespace: ${errorMessage(e)}`);
      throw e;
    }
  }

  return runControllerLoop({
    informerFactory: opts.informerFactory,
    queue,
    workers: opts.workers ?? 10,
    sync,
    detach,
    recorder,
    onError: (key, e) => {
      if (!(e instanceof ContentRemainingError)) onError(key, e);
    },
    signal: opts.signal,
  });
}
