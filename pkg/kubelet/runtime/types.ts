/**
 * The container runtime interface of the kubelet.
 *
 * The kubelet speaks only these types; the Docker implementation
 * (runtime/docker*.ts, the only place dockerode types may appear) and the
 * hollow one used by benchmarks and unit tests both implement
 * `ContainerRuntime`. The shape follows the CRI: a pod is a sandbox (the
 * pause container holding the network namespace) plus containers that join it.
 */

import type { Readable, Writable } from 'node:stream';

/** Labels every container we create carries, so a restarted agent can adopt them. */
export const LABELS = {
  podUid: 'io.kubernetes.pod.uid',
  podNamespace: 'io.kubernetes.pod.namespace',
  podName: 'io.kubernetes.pod.name',
  containerName: 'io.kubernetes.container.name',
  /** 'podsandbox' | 'container' (dockershim's values). */
  type: 'io.kubernetes.docker.type',
  /** The node (agent) that owns the container: agents sharing one Docker daemon touch only their own. */
  node: 'io.orch.node',
  /** 'init' | 'regular' for app containers. */
  containerKind: 'io.orch.container.kind',
  restartCount: 'io.kubernetes.container.restartCount',
  /** Hash of the container's spec: a changed spec means the container is replaced. */
  specHash: 'io.kubernetes.container.hash',
  terminationGracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
} as const;

/** A port published on the node for a pod (hostPort). */
export interface PortMapping {
  containerPort: number;
  hostPort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  hostIP?: string;
}

/** resolv.conf content of a pod. */
export interface DnsConfig {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** What the runtime needs to create a pod's sandbox (pause container). */
export interface SandboxSpec {
  podUid: string;
  namespace: string;
  name: string;
  nodeName: string;
  hostname: string;
  hostNetwork: boolean;
  /** Docker network to attach to (the node's pod bridge); default: the daemon's default bridge. */
  network?: string;
  portMappings: PortMapping[];
  dns?: DnsConfig;
  /** Extra /etc/hosts lines (hostAliases). */
  extraHosts?: string[];
}

/** A bind mount into a container. */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** What the runtime needs to create one app or init container of a pod. */
export interface ContainerSpec {
  podUid: string;
  namespace: string;
  podName: string;
  nodeName: string;
  name: string;
  kind: 'init' | 'regular';
  /** The sandbox whose namespaces the container joins. */
  sandboxId: string;
  /** Sandbox uses the host network (container then does too). */
  hostNetwork: boolean;
  image: string;
  /** Entrypoint override (pod `command`); undefined keeps the image's. */
  command?: string[];
  /** Arguments (pod `args`); undefined keeps the image's CMD when command is also undefined. */
  args?: string[];
  env: { name: string; value: string }[];
  workingDir?: string;
  mounts: Mount[];
  tty: boolean;
  stdin: boolean;
  stdinOnce: boolean;
  /** Docker limits from resources.limits (and cpu shares from requests). */
  resources: { cpuMillis?: number; cpuRequestMillis?: number; memoryBytes?: number };
  restartCount: number;
  specHash: string;
  terminationGracePeriodSeconds: number;
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
}

/** State of a container as the runtime reports it. */
export type ContainerStateName = 'created' | 'running' | 'exited' | 'unknown';

/** One container (sandbox or app) as listed or inspected. */
export interface ContainerInfo {
  id: string;
  type: 'podsandbox' | 'container';
  podUid: string;
  podNamespace: string;
  podName: string;
  /** Container name in the pod spec ('POD' for a sandbox). */
  name: string;
  kind?: 'init' | 'regular';
  state: ContainerStateName;
  exitCode?: number;
  /** Docker's reason, e.g. 'OOMKilled' or 'Error'; set when exited. */
  reason?: string;
  /** Runtime error message when the container could not start. */
  message?: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  image: string;
  /** Image id, e.g. 'sha256:…'. */
  imageId: string;
  restartCount: number;
  specHash: string;
  /** For a sandbox: the pod IP on its network (undefined with hostNetwork). */
  ip?: string;
  labels: Record<string, string>;
}

/** Options for reading a container's logs. */
export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  timestamps: boolean;
  sinceSeconds?: number;
  sinceTime?: Date;
  limitBytes?: number;
}

/** Options of an interactive exec or attach. */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A live exec/attach session. stdout and stderr are demultiplexed (stderr is absent with a tty). */
export interface StreamSession {
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  /** Resize the tty (no-op without one). */
  resize(width: number, height: number): Promise<void>;
  /** Resolves with the process' exit code when it ends (attach: the container's). */
  done: Promise<number>;
  /** Ends the session early (client went away). */
  close(): void;
}

/** Result of a short non-interactive exec (probes). */
export interface ExecResult {
  exitCode: number;
  /** stdout and stderr combined, truncated to a few KiB. */
  output: string;
  timedOut: boolean;
}

/** A container event the kubelet reacts to at once (rather than on its next resync). */
export interface RuntimeEvent {
  containerId: string;
  podUid: string;
  action: 'start' | 'die' | 'oom' | 'destroy';
}

/** Why an image is not available. */
export class ImageError extends Error {
  constructor(
    /** 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName' */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** The runtime a kubelet drives. */
export interface ContainerRuntime {
  /** 'docker'. */
  readonly type: string;
  /** Runtime version for node.status.nodeInfo.containerRuntimeVersion ('docker://<v>'). */
  version(): Promise<string>;

  /** Whether an image is present locally. */
  hasImage(ref: string): Promise<boolean>;
  /** Pulls an image; throws ImageError('ErrImagePull', …) on failure. */
  pullImage(ref: string): Promise<void>;
  /** Loads a `docker save` tarball (air-gap images); returns the loaded refs. */
  loadImageArchive(path: string): Promise<string[]>;
  /** Builds (once) and returns the pause image ref, with no registry. */
  ensurePauseImage(): Promise<string>;

  /** Creates and starts a pod's sandbox; returns its id and IP. */
  runSandbox(spec: SandboxSpec): Promise<{ id: string; ip?: string }>;
  /** Creates an app or init container in a sandbox (not started). */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after graceSeconds; no error when already stopped. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Removes a container (forcefully); no error when already gone. */
  removeContainer(id: string): Promise<void>;

  /** Every container (any state) labelled for this node. */
  listContainers(nodeName: string): Promise<ContainerInfo[]>;
  /** The containers (any state) of one pod of this node: what a pod's sync looks at. */
  listPodContainers(nodeName: string, podUid: string): Promise<ContainerInfo[]>;
  /** One container, or undefined when it no longer exists. */
  inspectContainer(id: string): Promise<ContainerInfo | undefined>;

  /** Runs a command to completion (probes); kills it at the timeout. */
  execSync(id: string, command: string[], timeoutMs: number): Promise<ExecResult>;
  /** Starts an interactive exec. */
  exec(id: string, command: string[], opts: StreamOptions): Promise<StreamSession>;
  /** Attaches to the container's main process. */
  attach(id: string, opts: StreamOptions): Promise<StreamSession>;
  /** The container's log stream (demultiplexed, stdout and stderr interleaved as written). */
  logs(id: string, opts: LogOptions): Promise<Readable>;

  /** Streams container events for this node until the returned function is called. */
  watchEvents(nodeName: string, onEvent: (e: RuntimeEvent) => void): () => void;
}
