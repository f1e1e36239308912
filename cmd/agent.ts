/** `orch agent`: flag parsing, runtime/kubelet wiring and process lifecycle only. */
import type { Argv, CommandModule } from 'yargs';
import { homedir, hostname } from 'node:os';
import { isIP } from 'node:net';
import { defaultDataDir } from '../pkg/server/datadir.js';
import { FlagError, parseNodeLabel, parseNodeTaint } from '../pkg/server/flags.js';
import { isDNS1123Subdomain } from '../pkg/api/validation/names.js';
import type { AgentOptions, StartKubelet } from '../pkg/agent/agent.js';
import {
  DEFAULT_CLUSTER_DNS,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_POD_NETWORK,
  DEFAULT_RESOLV_CONF,
  NETWORK_FLAG_HELP,
  nodeNetworkFromFlags,
  type NetworkFlags,
} from '../pkg/agent/network-config.js';
import type { ContainerRuntime } from '../pkg/kubelet/runtime/types.js';

/** The flags of `orch agent` (the networking ones shared with the server's embedded agent). */
export interface AgentFlags extends NetworkFlags {
  server?: string;
  token?: string;
  nodeName?: string;
  nodeIp?: string;
  nodeLabel: string[];
  nodeTaint: string[];
  dataDir?: string;
  containerRuntimeEndpoint?: string;
}

/** The default node name: this host's name, lowercased (node names are DNS subdomains). */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** The Docker endpoint: DOCKER_HOST, else the local daemon's socket. */
export function defaultRuntimeEndpoint(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** The Docker runtime and the kubelet (with its tunnel), loaded lazily: Docker code is not on the path to joining. */
export async function loadKubeletWiring(endpoint: string): Promise<{ runtime: ContainerRuntime; runtimeEndpoint: string; startKubelet: StartKubelet }> {
  const [{ dockerRuntime }, { startNodeKubelet }] = await Promise.all([import('../pkg/kubelet/runtime/docker.js'), import('../pkg/agent/kubelet-wiring.js')]);
  return { runtime: dockerRuntime({ host: endpoint }), runtimeEndpoint: endpoint, startKubelet: startNodeKubelet };
}

/** Checks the flags into AgentOptions (without the runtime); throws FlagError. */
export function agentOptionsFromFlags(f: AgentFlags, env: NodeJS.ProcessEnv, isRoot: boolean): AgentOptions & { containerRuntimeEndpoint: string } {
  const server = f.server ?? env.ORCH_URL;
  const token = f.token ?? env.ORCH_TOKEN;
  if (!server) throw new FlagError('--server (or ORCH_URL) is required, e.g. --server https://10.0.0.1:6443');
  if (!token) throw new FlagError("--token (or ORCH_TOKEN) is required: the server's <data-dir>/server/node-token");
  const nodeName = f.nodeName ?? defaultNodeName();
  const problems = isDNS1123Subdomain(nodeName);
  if (problems.length > 0) throw new FlagError(`--node-name ${JSON.stringify(nodeName)}: ${problems[0]}`);
  if (f.nodeIp !== undefined && isIP(f.nodeIp) !== 4) throw new FlagError(`--node-ip: ${JSON.stringify(f.nodeIp)} is not an IPv4 address`);
  return {
    server,
    token,
    nodeName,
    nodeIP: f.nodeIp,
    labels: Object.fromEntries(f.nodeLabel.map(parseNodeLabel)),
    taints: f.nodeTaint.map(parseNodeTaint),
    dataDir: f.dataDir ?? defaultDataDir({ isRoot, home: homedir() }),
    containerRuntimeEndpoint: f.containerRuntimeEndpoint ?? defaultRuntimeEndpoint(env),
    network: nodeNetworkFromFlags(f),
  };
}

function fail(e: unknown): never {
  process.stderr.write(`orch agent: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}

/** Validates the flags, starts the agent, and stops it (containers left running) on SIGTERM/SIGINT. */
export async function runAgent(flags: AgentFlags): Promise<void> {
  let opts: ReturnType<typeof agentOptionsFromFlags>;
  try {
    opts = agentOptionsFromFlags(flags, process.env, process.getuid?.() === 0);
  } catch (e) {
    fail(e);
  }
  const log = (m: string) => process.stderr.write(`${m}\n`);
  let stopping: ((signal: string) => void) | undefined;
  let early: string | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => (stopping ? stopping(signal) : (early = signal)));
  }
  const [{ startAgent }, wiring] = await Promise.all([import('../pkg/agent/agent.js'), loadKubeletWiring(opts.containerRuntimeEndpoint)]);
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent({ ...opts, ...wiring, log });
  } catch (e) {
    fail(e);
  }
  stopping = (signal: string) => {
    log(`orch agent: ${signal} received, stopping (containers keep running)`);
    agent.stop().then(
      () => process.exit(0),
      (e: unknown) => fail(`stop failed: ${String(e)}`),
    );
  };
  if (early) stopping(early);
}

const AGENT_OPTIONS = {
  server: { alias: 's', type: 'string', describe: 'URL of the server, https://HOST:6443 (env ORCH_URL)' },
  token: { alias: 't', type: 'string', describe: "Join token: the server's <data-dir>/server/node-token (env ORCH_TOKEN)" },
  'node-name': { type: 'string', describe: 'Name of this node (default: host name, lowercased)' },
  'node-ip': { type: 'string', describe: 'InternalIP of this node (default: first non-loopback IPv4)' },
  'node-label': { type: 'string', array: true, default: [], describe: 'Label for this node, key=value (repeatable)' },
  'node-taint': { type: 'string', array: true, default: [], describe: 'Taint for this node, key[=value]:Effect (repeatable)' },
  'data-dir': { alias: 'd', type: 'string', describe: 'Folder for state (default /var/lib/orch as root, ~/.orch otherwise)' },
  'container-runtime-endpoint': { type: 'string', describe: 'Docker daemon address (default DOCKER_HOST or unix:///var/run/docker.sock)' },
  'flannel-backend': { type: 'string', describe: `${NETWORK_FLAG_HELP['flannel-backend']} (default ${DEFAULT_POD_NETWORK})` },
  'cluster-cidr': { type: 'string', describe: "The server's --cluster-cidr (default 10.42.0.0/16)" },
  'disable-kube-proxy': { type: 'boolean', describe: NETWORK_FLAG_HELP['disable-kube-proxy'] },
  'cluster-dns': { type: 'string', describe: `${NETWORK_FLAG_HELP['cluster-dns']} (default ${DEFAULT_CLUSTER_DNS})` },
  'cluster-domain': { type: 'string', describe: `${NETWORK_FLAG_HELP['cluster-domain']} (default ${DEFAULT_CLUSTER_DOMAIN})` },
  'disable-cluster-dns': { type: 'boolean', describe: NETWORK_FLAG_HELP['disable-cluster-dns'] },
  'resolv-conf': { type: 'string', describe: `${NETWORK_FLAG_HELP['resolv-conf']} (default ${DEFAULT_RESOLV_CONF})` },
} as const;

function withOptions(y: Argv): Argv<AgentFlags> {
  // No .env('ORCH'): ORCH_URL is not a flag name; ORCH_URL and ORCH_TOKEN are read in agentOptionsFromFlags.
  return y.options(AGENT_OPTIONS) as unknown as Argv<AgentFlags>;
}

/** The fast path for `orch agent …`: its own strict parser, one-line errors, exit 1. */
export async function runAgentFromArgv(argv: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  let flags: AgentFlags | undefined;
  await withOptions(yargs(argv))
    // No --no-<flag> negation: --no-x is an unknown flag, not a way to turn x off.
    .parserConfiguration({ 'boolean-negation': false })
    .strict()
    .version(false)
    .help(false)
    .fail((msg: string | undefined, err: Error | undefined) => fail(msg ?? err ?? 'bad flags'))
    .parseAsync()
    .then((a) => {
      if (a._.length > 0) fail(`unexpected argument: ${String(a._[0])}`);
      flags = a;
    });
  if (flags) await runAgent(flags);
}

export const agentCommand: CommandModule<object, AgentFlags> = {
  command: 'agent',
  describe: 'Join a server as a worker node: register, heartbeat and run its pods',
  builder: (y: Argv) => withOptions(y),
  handler: (argv) => runAgent(argv),
};
