/**
 * The serviceaccount controller wired to the API: keys are namespace
 * names, enqueued when a namespace appears or changes and when one of the
 * managed ServiceAccounts goes; sync creates what missingServiceAccounts
 * lists.
 */
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { Client } from '../../client/client.js';
import { isAlreadyExists, isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { errorMessage, isNamespaceTerminating, runControllerLoop, type RunningController } from '../common/loop.js';
import { DEFAULT_SERVICE_ACCOUNT, missingServiceAccounts } from './serviceaccount.js';

/** Options of startServiceAccountController. */
export interface ServiceAccountControllerOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  /** Defaults to a recorder for component "serviceaccount-controller". */
  recorder?: EventRecorder;
  /** ServiceAccounts every namespace gets (default ['default']). */
  serviceAccounts?: string[];
  /** Concurrent syncs (default 5, as --concurrent-serviceaccount-token-syncs). */
  workers?: number;
  onError?: (key: string, e: unknown) => void;
  signal?: AbortSignal;
}

/** Starts the serviceaccount controller on shared informers; resolves once caches are synced. */
export async function startServiceAccountController(opts: ServiceAccountControllerOptions): Promise<RunningController> {
  const names = opts.serviceAccounts ?? [DEFAULT_SERVICE_ACCOUNT];
  const recorder = opts.recorder ?? new EventRecorder(opts.client, { component: 'serviceaccount-controller' });
  const namespaces = opts.informerFactory.informerFor('namespaces');
  const accounts = opts.informerFactory.informerFor('serviceaccounts');
  const saClient = opts.client.resource('serviceaccounts');
  const queue = new WorkQueue<string>();
  const enqueue = (name: string | undefined): void => {
    if (name) queue.add(name);
  };

  const detach = [
    namespaces.addEventHandler({
      onAdd: (ns: Namespace) => enqueue(ns.metadata?.name),
      onUpdate: (_o: Namespace, ns: Namespace) => enqueue(ns.metadata?.name),
    }),
    accounts.addEventHandler({
      onDelete: (sa: ServiceAccount) => {
        if (names.includes(sa.metadata?.name ?? '')) enqueue(sa.metadata?.namespace);
      },
    }),
  ];

  async function sync(name: string): Promise<void> {
    const ns = namespaces.get(name);
    for (const sa of missingServiceAccounts(ns, accounts.byNamespace(name), names)) {
      try {
        await saClient.namespace(name).create(sa);
      } catch (e) {
        // Created meanwhile, or the namespace went or started terminating: nothing left to do.
        if (isAlreadyExists(e) || isNotFound(e) || isNamespaceTerminating(e)) continue;
        if (ns !== undefined) recorder.event(ns, 'Warning', 'FailedCreate', `Error creating ServiceAccount ${sa.metadata?.name ?? ''}: ${errorMessage(e)}`);
        throw e;
      }
    }
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 5, sync, detach, recorder, onError: opts.onError, signal: opts.signal });
}
