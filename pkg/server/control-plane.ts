/**
 * The controller manager and scheduler of `orch server`: every component
 * talks to the API through the in-process transport (the hono app's own
 * fetch, no socket) and shares one informer per kind.
 */
import type { ApiServer } from '../apiserver/app.js';
import { Client } from '../client/client.js';
import { SharedInformerFactory } from '../client/informer.js';
import { inProcessTransport } from '../client/transport.js';
import { startScheduler } from '../scheduler/run.js';
import { startReplicaSetController } from '../controllers/replicaset/controller.js';
import { startDeploymentController } from '../controllers/deployment/controller.js';
import { startDaemonSetController } from '../controllers/daemonset/controller.js';

export interface ControlPlaneOptions {
  /** Token the components authenticate with (the admin credential for now). */
  token: string;
  log?: (msg: string) => void;
}

export interface RunningControlPlane {
  client: Client;
  informerFactory: SharedInformerFactory;
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): Promise<void>;
}

/** Starts the scheduler and the controllers; resolves once their caches synced. */
export async function startControlPlane(api: ApiServer, opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const client = new Client(inProcessTransport(api.app.fetch, opts.token, { userAgent: 'orch-controller-manager/v1.32.0' }));
  const informerFactory = new SharedInformerFactory(client);
  const running: Stoppable[] = [];
  const common = { client, informerFactory };
  try {
    running.push(await startReplicaSetController(common));
    running.push(await startDeploymentController(common));
    running.push(await startDaemonSetController(common));
    running.push(await startScheduler(common));
    informerFactory.start();
    await informerFactory.waitForSync();
  } catch (e) {
    await Promise.allSettled(running.map((r) => r.stop()));
    informerFactory.stop();
    throw e;
  }
  return {
    client,
    informerFactory,
    async stop() {
      await Promise.allSettled(running.map((r) => r.stop()));
      informerFactory.stop();
    },
  };
}
