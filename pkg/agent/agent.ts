/**
 * `orch agent`: join a server with the token, register this machine as a
 * Node, heartbeat, and run the kubelet (injected, so this package does not
 * load Docker code and tests can run without one).
 */
import type { Taint } from 'kubernetes-types/core/v1.js';
import { Client } from '../client/client.js';
import { httpsTransport, type Transport } from '../client/transport.js';
import type { ContainerRuntime } from '../kubelet/runtime/types.js';
import { TokenError, parseToken } from '../server/token.js';
import { AgentError, describeNetworkError, isUnreachable } from './errors.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { ensureNodePassword, fetchTrustedCa, loadCredential, requestCredential, saveCredential } from './join.js';
import { defaultNodeIP, hostFacts, runtimeVersionString, type NodeIdentity } from './node.js';
import { credentialTransport } from './transport.js';
import type { NodeNetworkConfig } from './network-config.js';

/** What the kubelet gets from the agent. */
export interface KubeletDeps {
  client: Client;
  nodeName: string;
  nodeIP: string;
  dataDir: string;
  runtime?: ContainerRuntime;
  /** Where the runtime listens (the pod network creates its Docker network there). */
  runtimeEndpoint?: string;
  log: (msg: string) => void;
  /** Where the kubelet opens its logs/exec tunnel, and with which (current) credential. */
  tunnel?: TunnelEndpoint & { credential: () => string };
  /** The node's pod network, Service proxy and cluster DNS (default: all on, with the default addresses). */
  network?: NodeNetworkConfig;
}

/** The server's HTTPS endpoint for the agent's tunnel. */
export interface TunnelEndpoint {
  /** https://host:port */
  server: string;
  /** The cluster CA the server's certificate chains to. */
  caPem?: string;
}

/** Starts the kubelet of a node; what `orch agent` passes in once pkg/kubelet exists. */
export type StartKubelet = (deps: KubeletDeps) => Promise<{ stop(): Promise<void> }>;

/** Options of startAgent. */
export interface AgentOptions {
  /** https://host:port of the server. */
  server: string;
  /** The join token (K10<ca hash>::server:<secret>). */
  token: string;
  nodeName: string;
  /** InternalIP of the node (default: the first non-internal IPv4 of the host). */
  nodeIP?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  dataDir: string;
  /** Adds node-role.kubernetes.io/control-plane=true (the server's embedded agent). */
  controlPlane?: boolean;
  /** The container runtime (its version goes into nodeInfo; the kubelet drives it). */
  runtime?: ContainerRuntime;
  startKubelet?: StartKubelet;
  /** Where the runtime listens, for messages. */
  runtimeEndpoint?: string;
  /** Passed to the kubelet (see KubeletDeps.network). */
  network?: NodeNetworkConfig;
  log?: (msg: string) => void;
  /** Heartbeat periods (defaults 10 s and 60 s, as the kubelet). */
  leaseRenewIntervalMs?: number;
  statusReportIntervalMs?: number;
}

/** A running agent. */
export interface Agent {
  nodeName: string;
  client: Client;
  /** Stops heartbeats and the kubelet; containers keep running. */
  stop(): Promise<void>;
}

const USER_AGENT = 'orch-agent/v1.32.0';

/** How a node reaches the server: a transport for the join (carrying the join secret) and one for a credential. */
export interface NodeConnection {
  /** The server, for messages. */
  server: string;
  joinTransport(): Transport;
  credentialTransport(credential: string): Transport;
  /** Where the kubelet's tunnel connects (absent: no logs/exec through the API). */
  tunnel?: TunnelEndpoint;
}

/** Options shared by startAgent and the server's embedded agent. */
export type NodeOptions = Omit<AgentOptions, 'server' | 'token'>;

/** Joins through `conn`, registers the node and heartbeats; the part common to remote and embedded agents. */
export async function runNode(conn: NodeConnection, o: NodeOptions): Promise<Agent> {
  const log = o.log ?? (() => {});
  const password = await ensureNodePassword(o.dataDir);
  const join = async (): Promise<string> => {
    const t = conn.joinTransport();
    try {
      const fresh = await requestCredential(t, conn.server, o.nodeName, password);
      await saveCredential(o.dataDir, o.nodeName, fresh);
      current = fresh;
      return fresh;
    } finally {
      await t.close();
    }
  };
  // The credential in use (a rejoin replaces it); the tunnel reads it on each reconnect.
  let current = '';
  const credential = (await loadCredential(o.dataDir, o.nodeName)) ?? (await join());
  current = credential;
  const transport = credentialTransport({ make: (c) => conn.credentialTransport(c), credential, renew: join });
  const client = new Client(transport);
  const describe = (e: unknown): string => (e instanceof AgentError ? e.message : isUnreachable(e) ? describeNetworkError(conn.server, e) : e instanceof Error ? e.message : String(e));

  let heartbeat: Heartbeat | undefined;
  let kubelet: { stop(): Promise<void> } | undefined;
  try {
    const [facts, runtimeVersion] = await Promise.all([
      hostFacts(o.dataDir),
      o.runtime ? runtimeVersionOf(o.runtime, o.runtimeEndpoint) : Promise.resolve(''),
    ]);
    const identity: NodeIdentity = {
      nodeName: o.nodeName,
      nodeIP: o.nodeIP ?? defaultNodeIP(),
      labels: o.labels ?? {},
      taints: o.taints ?? [],
      controlPlane: o.controlPlane === true,
    };
    try {
      heartbeat = await startHeartbeat({
        client,
        identity,
        facts,
        containerRuntimeVersion: runtimeVersion,
        leaseRenewIntervalMs: o.leaseRenewIntervalMs,
        statusReportIntervalMs: o.statusReportIntervalMs,
        log,
        describeError: describe,
      });
    } catch (e) {
      throw e instanceof AgentError ? e : new AgentError(`registering node ${o.nodeName}: ${describe(e)}`);
    }
    log(`orch agent: node ${o.nodeName} registered with ${conn.server}`);
    if (o.startKubelet) {
      const tunnel = conn.tunnel ? { ...conn.tunnel, credential: () => current } : undefined;
      kubelet = await o.startKubelet({ client, nodeName: o.nodeName, nodeIP: identity.nodeIP, dataDir: o.dataDir, runtime: o.runtime, runtimeEndpoint: o.runtimeEndpoint, log, tunnel, ...(o.network ? { network: o.network } : {}) });
    }
  } catch (e) {
    await heartbeat?.stop();
    await transport.close();
    throw e;
  }
  const hb = heartbeat;
  let stopping: Promise<void> | undefined;
  return {
    nodeName: o.nodeName,
    client,
    stop() {
      stopping ??= (async () => {
        // Heartbeats first: a stopped agent must look gone, whatever the kubelet does on the way out.
        const beats = hb.stop();
        await kubelet?.stop();
        await transport.close();
        await beats;
      })();
      return stopping;
    },
  };
}

/** The runtime's version for nodeInfo; an unreachable runtime is a one-line error that says what to do. */
async function runtimeVersionOf(runtime: ContainerRuntime, endpoint: string | undefined): Promise<string> {
  try {
    return runtimeVersionString(runtime.type, await runtime.version());
  } catch (e) {
    const where = endpoint ? ` at ${endpoint}` : '';
    const why = e instanceof Error ? e.message : String(e);
    throw new AgentError(
      `cannot reach the ${runtime.type} daemon${where} (${why}): start it (systemctl start ${runtime.type}) or point --container-runtime-endpoint at it; orch server --disable-agent runs without one`,
    );
  }
}

/** Joins `opts.server` with the token (checking its CA first), registers the node, heartbeats and starts the kubelet. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  let url: URL;
  try {
    url = new URL(opts.server);
  } catch {
    throw new AgentError(`--server ${JSON.stringify(opts.server)} is not a URL (e.g. https://10.0.0.1:6443)`);
  }
  if (url.protocol !== 'https:') throw new AgentError(`--server ${opts.server} must be an https:// URL`);
  const server = url.origin;
  let parsed;
  try {
    parsed = parseToken(opts.token);
  } catch (e) {
    throw new AgentError(e instanceof TokenError ? `--token: ${e.message}` : String(e));
  }
  if (parsed.caHash === undefined) {
    // A bare secret cannot vouch for the server: we would hand the secret to whoever answers.
    throw new AgentError(
      '--token is a bare secret without the CA hash; use the full K10… token from the server\'s <data-dir>/server/node-token so the agent can verify the server',
    );
  }
  const ca = await fetchTrustedCa(server, parsed.caHash);
  const secret = parsed.secret;
  return runNode(
    {
      server,
      joinTransport: () => httpsTransport({ server, ca, token: secret, userAgent: USER_AGENT }),
      credentialTransport: (credential) => httpsTransport({ server, ca, token: credential, userAgent: USER_AGENT }),
      tunnel: { server, caPem: ca },
    },
    opts,
  );
}
