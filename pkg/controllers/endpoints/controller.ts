/**
 * The endpoints controller wired to the API. Handlers only enqueue Service
 * keys: Service changes at once, pod changes after a batch period, so a
 * rollout touching many pods folds into a few writes per Service (the
 * queue keeps one pending entry per key). sync(key) reads the caches,
 * plans with planEndpoints and writes only a difference.
 */
import type { Endpoints, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { errorMessage, isNamespaceTerminating, runControllerLoop, type RunningController } from '../common/loop.js';
import { managesEndpoints, planEndpoints, podChangeMatters, selectsPod } from './endpoints.js';

/** Options of startEndpointsController. */
export interface EndpointsControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  /** Defaults to a recorder for component "endpoint-controller". */
  recorder?: EventRecorder;
  /** Concurrent syncs (default 5, as --concurrent-endpoint-syncs). */
  workers?: number;
  /** Pod changes wait this long before their Services sync, batching a burst into one write (default 500 ms; --endpoint-updates-batch-period). */
  batchPeriodMs?: number;
  now?: () => number;
  onError?: (key: string, e: unknown) => void;
  signal?: AbortSignal;
}

/** Marks an Endpoints used as a leader-election lock (Kubernetes leaves those alone). */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** The Service the API server itself keeps the Endpoints of. */
const API_SERVICE_KEY = 'default/kubernetes';

/** Starts the endpoints controller on shared informers; resolves once caches are synced. */
export async function startEndpointsController(opts: EndpointsControllerOptions): Promise<RunningController> {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const batchMs = opts.batchPeriodMs ?? 500;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'endpoint-controller' });
  const services = opts.informerFactory.informerFor('services');
  const pods = opts.informerFactory.informerFor('pods');
  const endpoints = opts.informerFactory.informerFor('endpoints');
  const epClient = client.resource('endpoints');
  const queue = new WorkQueue<string>();
  /** Per Service key: when its oldest unsynced change was seen (the trigger-time annotation). */
  const triggers = new Map<string, number>();

  const enqueue = (key: string, delayMs = 0): void => {
    if (key === API_SERVICE_KEY) return;
    if (!triggers.has(key)) triggers.set(key, now());
    if (delayMs > 0) queue.addAfter(key, delayMs);
    else queue.add(key);
  };
  const enqueueServicesOf = (pod: Pod, also?: Pod): void => {
    const ns = pod.metadata?.namespace ?? '';
    for (const svc of services.byNamespace(ns)) {
      if (selectsPod(svc.spec?.selector, pod.metadata?.labels) || (also !== undefined && selectsPod(svc.spec?.selector, also.metadata?.labels))) {
        enqueue(keyOf(svc), batchMs);
      }
    }
  };

  const detach = [
    services.addEventHandler({
      onAdd: (s: Service) => enqueue(keyOf(s)),
      onUpdate: (_o: Service, s: Service) => enqueue(keyOf(s)),
      onDelete: (s: Service) => enqueue(keyOf(s)),
    }),
    pods.addEventHandler({
      onAdd: (p: Pod) => enqueueServicesOf(p),
      onUpdate: (o: Pod, p: Pod) => {
        if (podChangeMatters(o, p)) enqueueServicesOf(p, o);
      },
      onDelete: (p: Pod) => enqueueServicesOf(p),
    }),
    endpoints.addEventHandler({
      // Someone else changed or removed an Endpoints we manage (or one is left over from a deleted Service): put it right.
      onAdd: (e: Endpoints) => {
        if (!services.get(keyOf(e))) enqueue(keyOf(e));
      },
      onUpdate: (o: Endpoints, e: Endpoints) => {
        if (o.metadata?.resourceVersion !== e.metadata?.resourceVersion) queue.add(keyOf(e));
      },
      onDelete: (e: Endpoints) => enqueue(keyOf(e)),
    }),
  ];

  async function sync(key: string): Promise<void> {
    if (key === API_SERVICE_KEY) return;
    const trigger = triggers.get(key);
    triggers.delete(key);
    try {
      await syncService(key, trigger);
    } catch (e) {
      if (trigger !== undefined && !triggers.has(key)) triggers.set(key, trigger);
      throw e;
    }
  }

  async function syncService(key: string, trigger: number | undefined): Promise<void> {
    const { namespace = '', name } = splitKey(key);
    const svc = services.get(key);
    const current = endpoints.get(key);
    const nsClient = epClient.namespace(namespace);
    if (svc === undefined) {
      // Old-style leader election records live in Endpoints without a Service: not ours.
      if (current === undefined || current.metadata?.annotations?.[LEADER_ANNOTATION] !== undefined) return;
      try {
        await nsClient.delete(name, { preconditions: { uid: current.metadata?.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    if (!managesEndpoints(svc)) return; // user-managed Endpoints
    const plan = planEndpoints(svc, pods.byNamespace(namespace), current, trigger === undefined ? undefined : new Date(trigger));
    if (plan.action === 'none') return;
    try {
      if (plan.action === 'create') await nsClient.create(plan.endpoints);
      else await nsClient.update(plan.endpoints);
    } catch (e) {
      // The namespace is going away with the Service: nothing to do or report.
      if (isNamespaceTerminating(e)) return;
      // A stale cache (our own last write not seen yet): retried, not worth an event.
      if (!isConflict(e) && !isAlreadyExists(e)) {
        const reason = plan.action === 'create' ? 'FailedToCreateEndpoint' : 'FailedToUpdateEndpoint';
        recorder.event(svc, 'Warning', reason, `Failed to ${plan.action} endpoint ${key}: ${errorMessage(e)}`);
      }
      throw e;
    }
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 5, sync, detach, recorder, onError: opts.onError, signal: opts.signal });
}
