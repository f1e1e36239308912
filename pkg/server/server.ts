/**
 * `orch server`: prepares the data dir, certificates, tokens and store,
 * creates the objects a cluster starts with, and serves the API over HTTPS.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { getRequestListener } from '@hono/node-server';
import { openBackend } from '../../embedded-store/index.js';
import type { Backend } from '../../embedded-store/types.js';
import { createApiServer, type ApiServer } from '../apiserver/app.js';
import { prepareDataDir, type ServerPaths } from './datadir.js';
import { ensureServerTls } from './tls.js';
import { MetricsRegistry } from '../util/metrics.js';
import { ensureServerToken, loadCredentials, bearerChecker } from './token.js';
import { defaultKubeconfigPath, writeKubeconfig } from './kubeconfig.js';
import { bootstrapObjects } from './bootstrap.js';
import type { ControllerSettings } from './control-plane.js';
import type { DefaultTolerationOptions } from '../apiserver/admission/default-tolerations.js';
import { Client } from '../client/client.js';
import { inProcessTransport } from '../client/transport.js';
import { NodeCredentials } from './node-credentials.js';
import type { Agent } from '../agent/agent.js';
import type { EmbeddedAgentConfig } from '../agent/embedded.js';

export interface ServerConfig {
  dataDir: string;
  httpsListenPort: number;
  bindAddress: string;
  writeKubeconfig?: string;
  writeKubeconfigMode?: string;
  token?: string;
  clusterCidr: string;
  serviceCidr: string;
  serviceNodePortRange: string;
  tlsSans: string[];
  advertiseAddress?: string;
  isRoot: boolean;
  /** 'memory' keeps nothing across restarts: for tests only. */
  storeBackend?: 'sqlite' | 'memory';
  log?: (msg: string) => void;
  /** Settings of the controller manager (defaults as in Kubernetes). */
  controllers?: Partial<ControllerSettings>;
  /** --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds. */
  defaultTolerations?: DefaultTolerationOptions;
  /** --disable-scheduler: every controller runs, the scheduler does not. */
  disableScheduler?: boolean;
  /** The embedded agent's node; absent with --disable-agent. */
  agent?: EmbeddedAgentConfig;
  /** The kube-dns Service's address and the cluster domain; absent with --disable-cluster-dns (no kube-dns Service). */
  clusterDns?: { address: string; domain: string };
}

export interface RunningServer {
  api: ApiServer;
  backend: Backend;
  paths: ServerPaths;
  /** The port actually bound (differs from the config when it asked for 0). */
  port: number;
  url: string;
  kubeconfigPath: string;
  token: string;
  adminToken: string;
  caPem: string;
  /** Issues and checks the credentials agents authenticate with. */
  nodeCredentials: NodeCredentials;
  /** The embedded agent, unless disabled. */
  agent?: Agent;
  close(): Promise<void>;
}

/** A typed start-up failure with a message meant for the operator. */
export class ServerStartError extends Error {}

/** The first non-internal IPv4 address of this host, else loopback. */
export function defaultAdvertiseAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === 'IPv4' && !i.internal) return i.address;
  }
  return '127.0.0.1';
}

function listen(server: HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new ServerStartError(`port ${port} on ${host} is already in use (is another orch or Kubernetes API server running?)`));
      else if (e.code === 'EACCES') reject(new ServerStartError(`no permission to listen on ${host}:${port}`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new ServerStartError(`cannot bind ${host}:${port}: the address is not on this host`));
      else reject(e);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the control plane; resolves once it serves /readyz. */
export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const log = cfg.log ?? (() => {});
  const paths = await prepareDataDir(cfg.dataDir);
  const advertise = cfg.advertiseAddress ?? defaultAdvertiseAddress();
  const tlsSans = cfg.advertiseAddress ? [...cfg.tlsSans, cfg.advertiseAddress] : cfg.tlsSans;
  const [tls, creds, backend] = await Promise.all([
    ensureServerTls({ dataDir: cfg.dataDir, serviceCidr: cfg.serviceCidr, tlsSans }),
    loadCredentials(cfg.dataDir),
    openBackend(cfg.storeBackend ?? 'sqlite', paths.dbPath),
  ]);
  let httpsServer: HttpsServer | undefined;
  let ready = false;
  const nodeCredentials = new NodeCredentials();
  try {
    const { token, secret } = await ensureServerToken({ dataDir: cfg.dataDir, caPem: tls.caCertPem, token: cfg.token });
    const isAdmin = bearerChecker(creds.adminToken);
    const isJoinSecret = bearerChecker(secret);
    const metrics = new MetricsRegistry();
    const api = createApiServer({
      metrics,
      backend,
      isReady: () => ready,
      // The admin check first: it is the common case and costs one hash.
      // Nodes get full access for now (no Node authorizer yet).
      authenticate: (h) => isAdmin(h) || nodeCredentials.authenticate(h) !== undefined,
      // A node's tunnel only with that node's credential (or the admin's).
      authorizeTunnel: (h, node) => isAdmin(h) || nodeCredentials.authenticate(h) === node,
      nodeJoin: { checkJoinSecret: isJoinSecret, join: (name, password) => nodeCredentials.join(name, password) },
      serverAddress: `${advertise}:${cfg.httpsListenPort}`,
      caBundle: tls.caCertPem,
      serviceCidr: cfg.serviceCidr,
      nodePortRange: cfg.serviceNodePortRange,
      defaultTolerations: cfg.defaultTolerations,
    });
    const sockets = new Set<Socket>();
    httpsServer = createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, getRequestListener(api.app.fetch));
    // WebSockets (agent tunnels, exec/attach/portforward): hono does not upgrade; streaming.ts does.
    httpsServer.on('upgrade', api.handleUpgrade);
    httpsServer.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    const port = await listen(httpsServer, cfg.httpsListenPort, cfg.bindAddress);
    // The port is known only now (it may have been 0): the kubernetes Endpoints need it.
    await bootstrapObjects(api, { advertiseAddress: advertise, port, serviceCidr: cfg.serviceCidr, ...(cfg.clusterDns ? { clusterDns: cfg.clusterDns.address } : {}) });
    // Before ready: agents that joined before a restart must be let in at once.
    await nodeCredentials.start(new Client(inProcessTransport(api.app.fetch, creds.adminToken, { userAgent: 'orch-apiserver/v1.32.0' })));
    ready = true;
    const host = cfg.bindAddress === '0.0.0.0' || cfg.bindAddress === '::' ? '127.0.0.1' : cfg.bindAddress;
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const kubeconfigPath = cfg.writeKubeconfig ?? defaultKubeconfigPath({ isRoot: cfg.isRoot, dataDir: cfg.dataDir });
    await writeKubeconfig({ path: kubeconfigPath, mode: cfg.writeKubeconfigMode, server: url, caPem: tls.caCertPem, token: creds.adminToken });
    log(`orch server listening on ${url}; kubeconfig written to ${kubeconfigPath}`);
    // Loaded once the API serves and the kubeconfig is written: the controllers are not on the path to /readyz.
    const { startControlPlane } = await import('./control-plane.js');
    const controlPlane = await startControlPlane(api, {
      clusterCidr: cfg.clusterCidr,
      nodeCidrMaskSize: 24,
      nodeMonitorGracePeriodMs: 50_000,
      nodeMonitorPeriodMs: 5_000,
      terminatedPodGCThreshold: 12_500,
      ...cfg.controllers,
      disableScheduler: cfg.disableScheduler ?? false,
      token: creds.adminToken,
      metrics,
      log,
    });

    let agent: Agent | undefined;
    if (cfg.agent) {
      try {
        const { startEmbeddedAgent } = await import('../agent/embedded.js');
        agent = await startEmbeddedAgent({ ...cfg.agent, fetch: api.app.fetch, joinSecret: secret, server: url, caPem: tls.caCertPem, dataDir: cfg.dataDir, log });
      } catch (e) {
        await controlPlane.stop();
        throw e;
      }
    }

    const server = httpsServer;
    let closing: Promise<void> | undefined;
    return {
      api,
      backend,
      paths,
      port,
      url,
      kubeconfigPath,
      token,
      adminToken: creds.adminToken,
      caPem: tls.caCertPem,
      nodeCredentials,
      agent,
      close() {
        closing ??= (async () => {
          await agent?.stop();
          await controlPlane.stop();
          await nodeCredentials.stop();
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            // Watches are long-lived: end them so close() does not wait 30 minutes.
            for (const s of sockets) s.destroy();
            api.tunnels.close();
          });
          await backend.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    await nodeCredentials.stop();
    httpsServer?.close();
    await backend.close();
    throw e;
  }
}
