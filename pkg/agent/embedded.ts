/**
 * The agent `orch server` runs inside itself: the same join, registration
 * and heartbeat as a remote agent, through the in-process transport (the
 * API's own fetch, no socket), on a node labelled as the control plane.
 */
import type { Taint } from 'kubernetes-types/core/v1.js';
import { inProcessTransport } from '../client/transport.js';
import { runNode, type Agent, type StartKubelet } from './agent.js';
import type { ContainerRuntime } from '../kubelet/runtime/types.js';
import type { NodeNetworkConfig } from './network-config.js';

/** What the server's flags say about its node. */
export interface EmbeddedAgentConfig {
  nodeName: string;
  nodeIP?: string;
  labels: Record<string, string>;
  taints: Taint[];
  /** The node's pod network, Service proxy and cluster DNS (the server's flags of the same names). */
  network?: NodeNetworkConfig;
  /** Loads the runtime and kubelet (cmd wiring); absent: the node only registers and heartbeats. */
  loadKubelet?: () => Promise<{ runtime?: ContainerRuntime; runtimeEndpoint?: string; startKubelet?: StartKubelet }>;
}

/** Options of startEmbeddedAgent. */
export interface EmbeddedAgentOptions extends EmbeddedAgentConfig {
  /** The API's fetch handler (hono's app.fetch). */
  fetch: (req: Request) => Response | Promise<Response>;
  /** The join secret (the secret part of the token). */
  joinSecret: string;
  /** URL of the server, for messages and for the kubelet's tunnel (over HTTPS, like a remote agent's). */
  server: string;
  /** The cluster CA, which the tunnel checks the server's certificate against. */
  caPem?: string;
  dataDir: string;
  log?: (msg: string) => void;
}

/** Starts the server's own node agent. */
export async function startEmbeddedAgent(o: EmbeddedAgentOptions): Promise<Agent> {
  const wiring = o.loadKubelet ? await o.loadKubelet() : {};
  return runNode(
    {
      server: o.server,
      joinTransport: () => inProcessTransport(o.fetch, o.joinSecret, { userAgent: 'orch-agent/v1.32.0' }),
      credentialTransport: (credential) => inProcessTransport(o.fetch, credential, { userAgent: 'orch-agent/v1.32.0' }),
      // The tunnel is a WebSocket the API upgrades: one code path with remote agents, over loopback.
      tunnel: { server: o.server, caPem: o.caPem },
    },
    {
      nodeName: o.nodeName,
      nodeIP: o.nodeIP,
      labels: o.labels,
      taints: o.taints,
      dataDir: o.dataDir,
      controlPlane: true,
      runtime: wiring.runtime,
      runtimeEndpoint: wiring.runtimeEndpoint,
      startKubelet: wiring.startKubelet,
      ...(o.network ? { network: o.network } : {}),
      log: o.log,
    },
  );
}
