/**
 * The controller manager and scheduler of `orch server`: every component
 * talks to the API through the in-process transport (the hono app's own
 * fetch, no socket) and shares one informer per kind.
 */
import type { ApiServer } from '../apiserver/app.js';
import { Client } from '../client/client.js';
import { SharedInformerFactory, stripManagedFields } from '../client/informer.js';
import { inProcessTransport } from '../client/transport.js';
import { startScheduler } from '../scheduler/run.js';
import type { MetricsRegistry } from '../util/metrics.js';
import { startReplicaSetController } from '../controllers/replicaset/controller.js';
import { startDeploymentController } from '../controllers/deployment/controller.js';
import { startDaemonSetController } from '../controllers/daemonset/controller.js';
import { startEndpointsController } from '../controllers/endpoints/controller.js';
import { startServiceAccountController } from '../controllers/serviceaccount/controller.js';
import { startNamespaceController } from '../controllers/namespace/controller.js';
import { startPodGCController } from '../controllers/podgc/controller.js';
import { startGarbageCollector } from '../controllers/garbagecollector/controller.js';
import { startNodeIpamController } from '../controllers/nodeipam/controller.js';
import { startNodeLifecycleController } from '../controllers/nodelifecycle/controller.js';

/** Controller settings, named after the kube-controller-manager flags they mirror. */
export interface ControllerSettings {
  clusterCidr: string;
  nodeCidrMaskSize: number;
  nodeMonitorGracePeriodMs: number;
  nodeMonitorPeriodMs: number;
  terminatedPodGCThreshold: number;
}

export interface ControlPlaneOptions extends ControllerSettings {
  /** Token the components authenticate with (the admin credential for now). */
  token: string;
  log?: (msg: string) => void;
  /** Where the components expose their metrics (the API's /metrics). */
  metrics?: MetricsRegistry;
  /** --disable-scheduler: start the controllers only; pods stay unbound until another scheduler binds them. */
  disableScheduler?: boolean;
}

export interface RunningControlPlane {
  client: Client;
  informerFactory: SharedInformerFactory;
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): Promise<void>;
}

/** Starts the controllers and (unless disabled) the scheduler; resolves once their caches synced. */
export async function startControlPlane(api: ApiServer, opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const client = new Client(inProcessTransport(api.app.fetch, opts.token, { userAgent: 'orch-controller-manager/v1.32.0' }));
  const informerFactory = new SharedInformerFactory(client, { transform: stripManagedFields });
  const running: Stoppable[] = [];
  const common = { client, informerFactory };
  try {
    // Informers first, one sync for all: each start below registers its
    // handlers and waits for caches that are then already warm.
    running.push(await startNodeIpamController({ ...common, clusterCidr: opts.clusterCidr, nodeCidrMaskSize: opts.nodeCidrMaskSize }));
    running.push(
      await startNodeLifecycleController({ ...common, nodeMonitorGracePeriod: opts.nodeMonitorGracePeriodMs, nodeMonitorPeriod: opts.nodeMonitorPeriodMs }),
    );
    running.push(await startReplicaSetController(common));
    running.push(await startDeploymentController(common));
    running.push(await startDaemonSetController(common));
    running.push(await startEndpointsController(common));
    running.push(await startServiceAccountController(common));
    running.push(await startNamespaceController(common));
    running.push(await startPodGCController({ ...common, terminatedPodGCThreshold: opts.terminatedPodGCThreshold }));
    running.push(await startGarbageCollector(common));
    if (!opts.disableScheduler) running.push(await startScheduler({ ...common, metrics: opts.metrics }));
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
