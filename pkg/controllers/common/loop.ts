/**
 * The part every controller's start function shares: once its handlers are
 * registered, start the shared informers, wait for their caches (a sync
 * against a half-filled cache would delete what it has not seen yet), run
 * the workers, and on stop detach, drain and flush events. Used by the
 * endpoints, serviceaccount, namespace and podgc controllers.
 *
 * The shape of a controller's start function:
 *   start<Name>Controller({ client, informerFactory, recorder?, workers?, onError?, signal?, ...own options })
 *     → Promise<RunningController>   (resolves once the informer caches have synced)
 * It registers its handlers on the factory's shared informers and starts the
 * factory; stop() leaves the informers running (they belong to the factory).
 */
import { ApiStatusError } from '../../client/errors.js';
import type { EventRecorder } from '../../client/events.js';
import type { SharedInformerFactory } from '../../client/informer.js';
import { runWorkers, type WorkQueue } from '../../client/workqueue.js';

/** What every start*Controller function resolves to. */
export interface RunningController {
  /** Syncs one key now, outside the queue (tests and benchmarks). */
  sync(key: string): Promise<void>;
  /** Detaches from the informers, lets running syncs finish and flushes events; the informers belong to the factory. */
  stop(): Promise<void>;
}

export interface ControllerLoop {
  informerFactory: SharedInformerFactory;
  queue: WorkQueue<string>;
  workers: number;
  sync(key: string): Promise<void>;
  /** Unsubscribes of the informer handlers (and any timers) to undo on stop. */
  detach: (() => void)[];
  recorder: EventRecorder;
  onError?: (key: string, e: unknown) => void;
  signal?: AbortSignal;
}

/** Starts the informers, waits for their sync, runs the workers; resolves once the workers run. */
export async function runControllerLoop(loop: ControllerLoop): Promise<RunningController> {
  loop.informerFactory.start();
  try {
    await loop.informerFactory.waitForSync(loop.signal);
  } catch (e) {
    for (const d of loop.detach) d();
    loop.queue.shutDown();
    throw e;
  }
  const running = runWorkers(loop.queue, loop.workers, loop.sync, { onError: loop.onError });
  let stopped: Promise<void> | undefined;
  return {
    sync: loop.sync,
    stop() {
      stopped ??= (async () => {
        for (const d of loop.detach) d();
        loop.queue.shutDown();
        await running;
        await loop.recorder.flush();
      })();
      return stopped;
    },
  };
}

/** The message of an error, for events and conditions. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The API refused to create in a namespace that is being deleted (Kubernetes' NamespaceTerminating cause, or its message). */
export function isNamespaceTerminating(e: unknown): boolean {
  if (!(e instanceof ApiStatusError) || e.code !== 403) return false;
  if (e.status.details?.causes?.some((c) => c.reason === 'NamespaceTerminating') === true) return true;
  return /because it is being terminated/.test(e.message);
}
