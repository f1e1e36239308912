/**
 * The kubelet: watches the pods bound to its node and drives the container
 * runtime to match them, then writes their status back.
 *
 * One sync per pod uid at a time (a work queue keyed by uid, several
 * workers), triggered by pod changes, runtime events (a container died),
 * probe result flips, back-off expiry and a periodic resync. Each sync reads
 * the runtime's containers of the pod, decides with computePodActions, acts,
 * and writes computePodStatus when it changed.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigMap, Container, Pod, PodStatus, Secret, Service, Volume } from 'kubernetes-types/core/v1.js';
import type { Client, ObjectLike } from '../client/client.js';
import { isConflict, isNotFound } from '../client/errors.js';
import { EventRecorder, type EventType } from '../client/events.js';
import { SharedInformerFactory, type Informer } from '../client/informer.js';
import { WorkQueue, runWorkers } from '../client/workqueue.js';
import { backoffKey, computePodActions, containerHash, groupObserved, readySandbox, stableStringify, type ContainerToStart } from './actions.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { formatResolvConf, hostsFile, parseResolvConf, podDnsConfig, podHostname } from './dns.js';
import { ContainerConfigError, expandCommand, makeEnvironment, parseQuantity } from './env.js';
import { ensureImage, ImagePullError, loadImageArchives } from './images.js';
import { ProbeManager, unhealthyMessage } from './probes.js';
import type { ContainerInfo, ContainerRuntime, ContainerSpec, DnsConfig, Mount, PortMapping } from './runtime/types.js';
import { computePodStatus, type WaitingReason } from './status.js';
import { cleanupPodDir, containerMounts, MountError, podDir, setupVolumes } from './volumes.js';

export interface KubeletOptions {
  client: Client;
  runtime: ContainerRuntime;
  nodeName: string;
  nodeIP: string;
  /** e.g. <data-dir>/agent: volumes under <dataDir>/pods/<uid>/volumes/... */
  dataDir: string;
  clusterDNS?: string[];
  /** Default 'cluster.local'. */
  clusterDomain?: string;
  /** Default: a recorder for component 'kubelet' (flushed on stop). */
  recorder?: EventRecorder;
  /** Every pod is synced at least this often (default 10 s). */
  resyncMs?: number;
  /** Image archives loaded once at start (air gap). */
  imageArchiveDir?: string;
  /** Concurrent pod syncs (default 16). */
  workers?: number;
  /** CrashLoopBackOff (default 10 s doubling to 300 s). */
  restartBackoff?: BackoffOptions;
  /** ImagePullBackOff (default 10 s doubling to 300 s). */
  imageBackoff?: BackoffOptions;
  /** Retry delay of a pod waiting for a volume or a config source (default 2 s). */
  retryMs?: number;
  /** Docker network of pod sandboxes (default: the runtime's). */
  podNetwork?: string;
  /** Runs after each new sandbox is up (the pod network puts its bridge port in hairpin mode); a failure is reported, not fatal. */
  afterSandboxStart?: () => Promise<void>;
  /** The node's resolv.conf and hosts (defaults /etc/resolv.conf, /etc/hosts). */
  resolvConfPath?: string;
  hostsPath?: string;
  /** Grace period for containers of pods gone from the API (default 1 s). */
  orphanGraceSeconds?: number;
  /** Where failures of a sync are reported (default console.warn). */
  onError?: (e: unknown, what: string) => void;
}

/** A logs/exec lookup that failed: code and reason as the API error to return. */
export class KubeletLookupError extends Error {
  constructor(
    readonly code: 400 | 404,
    readonly reason: 'BadRequest' | 'NotFound',
    message: string,
  ) {
    super(message);
    this.name = 'KubeletLookupError';
  }
}

export interface Kubelet {
  stop(): Promise<void>;
  /** The runtime container for logs/exec (default container: annotation kubectl.kubernetes.io/default-container, else the first). */
  findContainer(namespace: string, pod: string, container?: string, previous?: boolean): Promise<{ id: string; name: string } | undefined>;
}

interface PodState {
  /** Why containers are not running, by container name. */
  waiting: Map<string, WaitingReason>;
  volumes?: Map<string, string>;
  /** When configMap/secret/downwardAPI files were last written (they follow their sources, as the kubelet's). */
  volumesAt?: number;
  lastStatus?: string;
}

const uidOf = (p: Pod): string => p.metadata?.uid ?? '';
const podRef = (p: Pod): ObjectLike => ({ apiVersion: 'v1', kind: 'Pod', metadata: p.metadata });
const isProjected = (v: Volume): boolean => v.configMap !== undefined || v.secret !== undefined || v.downwardAPI !== undefined || v.projected !== undefined;
const isFinished = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** A duration as Go prints it (300ms, 10s, 5m0s), for Kubernetes-identical messages. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(3))}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Number((s - m * 60).toFixed(3))}s`;
}

function cpuMillis(q: string | number | undefined): number | undefined {
  return q === undefined ? undefined : Math.round(parseQuantity(q) * 1000);
}

/** Starts the kubelet of `opts.nodeName`; resolves once its pod cache has synced. */
export async function startKubelet(opts: KubeletOptions): Promise<Kubelet> {
  const { client, runtime, nodeName, nodeIP } = opts;
  const clusterDomain = opts.clusterDomain ?? 'cluster.local';
  const ownRecorder = opts.recorder === undefined;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'kubelet', host: nodeName });
  const onError = opts.onError ?? ((e: unknown, what: string) => console.warn(`kubelet ${nodeName}: ${what}:`, e instanceof Error ? e.message : e));
  const retryMs = opts.retryMs ?? 2000;
  const resyncMs = opts.resyncMs ?? 10_000;
  const restartBackoff = new Backoff(opts.restartBackoff);
  const imageBackoff = new Backoff(opts.imageBackoff);
  const pods = client.resource('pods');
  const states = new Map<string, PodState>();
  const podsByUid = new Map<string, Pod>();
  /** Pods seen deleted from the API: their last state, for the grace period of what is left. */
  const queue = new WorkQueue<string>();
  let stopped = false;

  const event = (pod: Pod, type: EventType, reason: string, message: string): void => recorder.event(podRef(pod), type, reason, message);
  const state = (uid: string): PodState => {
    let s = states.get(uid);
    if (!s) {
      s = { waiting: new Map() };
      states.set(uid, s);
    }
    return s;
  };

  const probes = new ProbeManager({
    runtime,
    onChange: (uid) => queue.add(uid),
    onFailure: (pod, c, kind, output) => event(pod, 'Warning', 'Unhealthy', unhealthyMessage(kind, output)),
  });

  const nodeDns = async (): Promise<DnsConfig> => parseResolvConf(await readFile(opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8').catch(() => ''));
  const nodeHosts = async (): Promise<string | undefined> => readFile(opts.hostsPath ?? '/etc/hosts', 'utf8').catch(() => undefined);

  async function getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    try {
      return await client.resource('configmaps').namespace(namespace).get(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async function getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    try {
      return await client.resource('secrets').namespace(namespace).get(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  async function serviceLinks(pod: Pod): Promise<Service[]> {
    const ns = pod.metadata?.namespace ?? 'default';
    const out: Service[] = [];
    if (pod.spec?.enableServiceLinks !== false) out.push(...(await client.resource('services').namespace(ns).list()).items);
    if (ns !== 'default' || pod.spec?.enableServiceLinks === false) {
      const k = await client
        .resource('services')
        .namespace('default')
        .get('kubernetes')
        .catch(() => undefined);
      if (k) out.push(k);
    }
    return out;
  }

  let pauseImage: Promise<string> | undefined;
  const ensurePause = (): Promise<string> => {
    if (!pauseImage) {
      pauseImage = runtime.ensurePauseImage();
      pauseImage.catch(() => (pauseImage = undefined));
    }
    return pauseImage;
  };

  async function observe(uid: string): Promise<ContainerInfo[]> {
    return runtime.listPodContainers(nodeName, uid);
  }

  const files = (uid: string) => ({ hosts: join(podDir(opts.dataDir, uid), 'etc-hosts'), resolv: join(podDir(opts.dataDir, uid), 'resolv.conf') });

  async function writePodFiles(pod: Pod, podIP: string | undefined, dns: DnsConfig): Promise<void> {
    const f = files(uidOf(pod));
    await mkdir(podDir(opts.dataDir, uidOf(pod)), { recursive: true });
    await writeFile(f.resolv, formatResolvConf(dns));
    await writeFile(f.hosts, hostsFile(pod, podIP, { clusterDomain, nodeHosts: await nodeHosts() }));
  }

  async function ensurePodFiles(pod: Pod, podIP: string | undefined): Promise<void> {
    const f = files(uidOf(pod));
    const ok = await Promise.all([access(f.hosts), access(f.resolv)]).then(
      () => true,
      () => false,
    );
    if (!ok) await writePodFiles(pod, podIP, podDnsConfig(pod, { clusterDNS: opts.clusterDNS ?? [], clusterDomain, node: await nodeDns() }));
  }

  // ---- acting ----

  async function stopAll(pod: Pod | undefined, observed: ContainerInfo[], graceSeconds: number, withEvents: boolean): Promise<void> {
    const apps = observed.filter((c) => c.type === 'container' && c.state === 'running');
    await Promise.all(
      apps.map(async (c) => {
        if (pod && withEvents) event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
        await runtime.stopContainer(c.id, graceSeconds);
      }),
    );
    for (const s of observed) if (s.type === 'podsandbox' && s.state === 'running') await runtime.stopContainer(s.id, 0);
  }

  async function removeAll(observed: ContainerInfo[]): Promise<void> {
    for (const c of observed.filter((x) => x.type === 'container')) await runtime.removeContainer(c.id);
    for (const c of observed.filter((x) => x.type === 'podsandbox')) await runtime.removeContainer(c.id);
  }

  async function startOne(pod: Pod, t: ContainerToStart, sandboxId: string, podIP: string | undefined, observed: ContainerInfo[]): Promise<boolean> {
    const uid = uidOf(pod);
    const st = state(uid);
    const list = t.kind === 'init' ? (pod.spec?.initContainers ?? []) : (pod.spec?.containers ?? []);
    const c: Container = list[t.index];
    const previous = groupObserved(observed)[t.kind === 'init' ? 'init' : 'regular'].get(c.name)?.[0];
    try {
      await ensureImage(c, uid, { runtime, backoff: imageBackoff, event: (type, reason, message) => event(pod, type, reason, message), nowMs: Date.now });
    } catch (e) {
      if (!(e instanceof ImagePullError)) throw e;
      st.waiting.set(c.name, { reason: e.reason, message: e.message });
      const wait = imageBackoff.remainingSinceUpdate(`${uid}/${c.image ?? ''}`, Date.now());
      if (e.reason !== 'ErrImageNeverPull') queue.addAfter(uid, Math.max(wait, 100));
      return false;
    }
    let env: { name: string; value: string }[];
    let mounts: Mount[];
    try {
      env = await makeEnvironment(pod, c, { nodeIP, podIP, getConfigMap, getSecret, services: await serviceLinks(pod) });
      mounts = await containerMounts(pod, c, st.volumes ?? new Map(), env);
    } catch (e) {
      if (!(e instanceof ContainerConfigError) && !(e instanceof MountError)) throw e;
      st.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
      event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      queue.addAfter(uid, retryMs);
      return false;
    }
    const f = files(uid);
    const own = new Set(mounts.map((m) => m.containerPath));
    if (!own.has('/etc/hosts')) mounts.push({ hostPath: f.hosts, containerPath: '/etc/hosts', readOnly: false });
    if (!own.has('/etc/resolv.conf')) mounts.push({ hostPath: f.resolv, containerPath: '/etc/resolv.conf', readOnly: false });
    const sc = c.securityContext ?? {};
    const psc = pod.spec?.securityContext ?? {};
    const limits = c.resources?.limits ?? {};
    const spec: ContainerSpec = {
      podUid: uid,
      namespace: pod.metadata?.namespace ?? 'default',
      podName: pod.metadata?.name ?? '',
      nodeName,
      name: c.name,
      kind: t.kind,
      sandboxId,
      hostNetwork: pod.spec?.hostNetwork === true,
      image: c.image ?? '',
      command: expandCommand(c.command, env),
      args: expandCommand(c.args, env),
      env,
      workingDir: c.workingDir,
      mounts,
      tty: c.tty === true,
      stdin: c.stdin === true,
      stdinOnce: c.stdinOnce === true,
      resources: {
        cpuMillis: cpuMillis(limits.cpu),
        // Requests default to limits, as Kubernetes defaults them.
        cpuRequestMillis: cpuMillis(c.resources?.requests?.cpu ?? limits.cpu),
        memoryBytes: limits.memory === undefined ? undefined : Math.round(parseQuantity(limits.memory)),
      },
      restartCount: t.restartCount,
      specHash: containerHash(c),
      terminationGracePeriodSeconds: pod.spec?.terminationGracePeriodSeconds ?? 30,
      privileged: sc.privileged,
      runAsUser: sc.runAsUser ?? psc.runAsUser,
      runAsGroup: sc.runAsGroup ?? psc.runAsGroup,
    };
    // A restart after the container ended counts towards its CrashLoopBackOff.
    if (previous?.state === 'exited') restartBackoff.next(backoffKey(uid, c), Date.now());
    let id: string | undefined;
    try {
      id = await runtime.createContainer(spec);
      event(pod, 'Normal', 'Created', `Created container ${c.name}`);
      await runtime.startContainer(id);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      event(pod, 'Warning', 'Failed', `Error: ${message}`);
      st.waiting.set(c.name, { reason: id === undefined ? 'CreateContainerError' : 'RunContainerError', message });
      if (id !== undefined) await runtime.removeContainer(id).catch(() => undefined);
      if (previous?.state !== 'exited') restartBackoff.next(backoffKey(uid, c), Date.now());
      queue.addAfter(uid, Math.max(restartBackoff.delay(backoffKey(uid, c)), 100));
      return false;
    }
    event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    st.waiting.delete(c.name);
    return true;
  }

  /** Keeps the newest two instances of each container (current and --previous) and the newest sandbox. */
  async function collectGarbage(observed: ContainerInfo[]): Promise<void> {
    const o = groupObserved(observed);
    const dead: ContainerInfo[] = [];
    for (const m of [o.init, o.regular]) for (const list of m.values()) dead.push(...list.slice(2).filter((c) => c.state !== 'running'));
    dead.push(...o.sandboxes.slice(1).filter((c) => c.state !== 'running'));
    for (const c of dead) await runtime.removeContainer(c.id);
  }

  // ---- status ----

  async function writeStatus(pod: Pod, computed: PodStatus): Promise<void> {
    const uid = uidOf(pod);
    const st = state(uid);
    const merged: PodStatus = { ...(pod.status ?? {}), ...computed };
    const s = stableStringify(merged);
    if (s === st.lastStatus || s === stableStringify(pod.status ?? {})) return;
    const rc = pods.namespace(pod.metadata?.namespace);
    let base = pod;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await rc.updateStatus({ ...base, status: { ...(base.status ?? {}), ...computed } });
        st.lastStatus = s;
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
        base = await rc.get(pod.metadata?.name ?? '');
        if (uidOf(base) !== uid) return;
      }
    }
    throw new Error(`status of pod ${pod.metadata?.namespace}/${pod.metadata?.name}: too many conflicts`);
  }

  // ---- syncs ----

  async function syncPod(pod: Pod, initial: ContainerInfo[]): Promise<void> {
    const uid = uidOf(pod);
    const st = state(uid);
    const now = Date.now();
    let observed = initial;

    // Projected files are refreshed once per resync period: a changed ConfigMap or Secret shows in running pods.
    const refresh = st.volumes !== undefined && now - (st.volumesAt ?? 0) >= resyncMs && (pod.spec?.volumes ?? []).some(isProjected);
    if ((!st.volumes || refresh) && !isFinished(pod)) {
      try {
        st.volumes = await setupVolumes(pod, { dataDir: opts.dataDir, nodeIP, podIP: pod.status?.podIP, getConfigMap, getSecret });
        st.volumesAt = now;
      } catch (e) {
        if (!(e instanceof MountError)) throw e;
        event(pod, 'Warning', 'FailedMount', e.message);
        if (refresh) st.volumesAt = now; // a source gone later: its files stay, retried next period
        else queue.addAfter(uid, retryMs);
      }
    }

    if (st.volumes) {
      const actions = computePodActions(pod, observed, {
        nowMs: now,
        backoffRemaining: (key, finishedAtMs) => restartBackoff.remaining(key, finishedAtMs, now),
        backoffDelay: (key) => restartBackoff.delay(key),
        unhealthy: probes.unhealthy(uid),
      });
      let changed = false;
      if (actions.killPod) {
        await stopAll(pod, observed, pod.spec?.terminationGracePeriodSeconds ?? 30, false);
        changed = true;
      }
      for (const k of actions.toKill) {
        event(pod, 'Normal', 'Killing', k.message);
        await runtime.stopContainer(k.id, pod.spec?.terminationGracePeriodSeconds ?? 30);
        changed = true;
      }
      let sandboxId = actions.sandboxId;
      let podIP = pod.spec?.hostNetwork ? nodeIP : readySandbox(groupObserved(observed))?.ip;
      if (actions.createSandbox) {
        const dns = podDnsConfig(pod, { clusterDNS: opts.clusterDNS ?? [], clusterDomain, node: await nodeDns() });
        await ensurePause();
        const portMappings: PortMapping[] = [];
        for (const c of pod.spec?.containers ?? []) {
          for (const p of c.ports ?? []) {
            if (p.hostPort) portMappings.push({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP', ...(p.hostIP ? { hostIP: p.hostIP } : {}) });
          }
        }
        const extraHosts = (pod.spec?.hostAliases ?? []).flatMap((a) => (a.hostnames ?? []).map((h) => `${h}:${a.ip ?? ''}`));
        const sb = await runtime.runSandbox({
          podUid: uid,
          namespace: pod.metadata?.namespace ?? 'default',
          name: pod.metadata?.name ?? '',
          nodeName,
          hostname: podHostname(pod),
          hostNetwork: pod.spec?.hostNetwork === true,
          network: opts.podNetwork,
          portMappings,
          // Docker refuses DNS options with a shared (host) network; our own resolv.conf is bind-mounted anyway.
          ...(pod.spec?.hostNetwork ? {} : { dns }),
          extraHosts,
        });
        sandboxId = sb.id;
        podIP = pod.spec?.hostNetwork ? nodeIP : sb.ip;
        if (opts.afterSandboxStart && !pod.spec?.hostNetwork) await opts.afterSandboxStart().catch((e: unknown) => onError(e, `after the sandbox of ${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''} started`));
        await writePodFiles(pod, podIP, dns);
        changed = true;
      }
      if (sandboxId && actions.toStart.length > 0) {
        await ensurePodFiles(pod, podIP);
        for (const t of actions.toStart) {
          const ok = await startOne(pod, t, sandboxId, podIP, observed);
          changed = true;
          // Init containers run one at a time; a failure to start stops the line.
          if (!ok && t.kind === 'init') break;
        }
      }
      for (const b of actions.backOff) {
        const name = `${pod.metadata?.name ?? ''}_${pod.metadata?.namespace ?? ''}(${uid})`;
        st.waiting.set(b.name, { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(b.delayMs)} restarting failed container=${b.name} pod=${name}` });
        event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${b.name} in pod ${name}`);
        queue.addAfter(uid, b.remainingMs + 10);
      }
      if (changed) observed = await observe(uid);
      await collectGarbage(observed);
    }

    const host = pod.spec?.hostNetwork ? '127.0.0.1' : (readySandbox(groupObserved(observed))?.ip ?? '127.0.0.1');
    probes.syncPod(pod, observed, host);
    // A container the API has as ready (adopted after a restart) stays ready until its probe decides:
    // no NotReady flap of every pod, and of the Services behind them, each time the agent restarts.
    const wasReady = new Set((pod.status?.containerStatuses ?? []).filter((s) => s.ready && s.containerID).map((s) => s.containerID));
    const status = computePodStatus(pod, observed, {
      now: new Date(),
      nodeIP,
      runtimeType: runtime.type,
      readiness: (id) => (probes.readinessPending(id) && wasReady.has(`${runtime.type}://${id}`) ? true : probes.readiness(id)),
      startup: (id) => probes.startup(id),
      waiting: st.waiting,
    });
    await writeStatus(pod, status);
  }

  /** A pod marked for deletion: stop its containers within its grace period, clean up, and delete it for good. */
  async function terminatePod(pod: Pod, observed: ContainerInfo[]): Promise<void> {
    const uid = uidOf(pod);
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    probes.removePod(uid);
    await stopAll(pod, observed, grace, true);
    await removeAll(await observe(uid));
    await cleanupPodDir(opts.dataDir, uid);
    try {
      await pods.namespace(pod.metadata?.namespace).delete(pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  /** Containers of a pod gone from the API (or never ours): stop, remove, forget. */
  async function removeOrphan(uid: string, observed: ContainerInfo[]): Promise<void> {
    probes.removePod(uid);
    if (observed.length > 0) {
      await stopAll(undefined, observed, opts.orphanGraceSeconds ?? 1, false);
      await removeAll(await observe(uid));
    }
    await cleanupPodDir(opts.dataDir, uid);
    states.delete(uid);
    restartBackoff.resetPrefix(`${uid}/`);
    imageBackoff.resetPrefix(`${uid}/`);
  }

  async function sync(uid: string): Promise<void> {
    if (stopped) return;
    const pod = podsByUid.get(uid);
    const observed = await observe(uid);
    if (!pod) return removeOrphan(uid, observed);
    if (pod.metadata?.deletionTimestamp) return terminatePod(pod, observed);
    return syncPod(pod, observed);
  }

  // ---- wiring ----

  if (opts.imageArchiveDir) await loadImageArchives(runtime, opts.imageArchiveDir, (file, e) => onError(e, `loading image archive ${file}`));

  const factory = new SharedInformerFactory(client);
  const informer: Informer<Pod> = factory.informerFor('pods', { fieldSelector: `spec.nodeName=${nodeName}` });
  informer.addEventHandler({
    onAdd: (p) => {
      podsByUid.set(uidOf(p), p);
      queue.add(uidOf(p));
    },
    onUpdate: (old, p) => {
      if (uidOf(old) !== uidOf(p)) {
        podsByUid.delete(uidOf(old));
        queue.add(uidOf(old));
      }
      podsByUid.set(uidOf(p), p);
      // Our own status writes come back as updates: only spec or deletion changes need a sync.
      const same = uidOf(old) === uidOf(p) && old.metadata?.generation !== undefined && old.metadata.generation === p.metadata?.generation && old.metadata?.deletionTimestamp === p.metadata?.deletionTimestamp;
      if (!same) queue.add(uidOf(p));
    },
    onDelete: (p) => {
      podsByUid.delete(uidOf(p));
      queue.add(uidOf(p));
    },
  });
  const unwatch = runtime.watchEvents(nodeName, (e) => {
    if (e.podUid) queue.add(e.podUid);
  });
  factory.start();
  await factory.waitForSync();

  /** Everything we know of: the API's pods and the runtime's (orphans included). */
  const resyncAll = async (): Promise<void> => {
    for (const uid of podsByUid.keys()) queue.add(uid);
    for (const c of await runtime.listContainers(nodeName)) if (c.podUid) queue.add(c.podUid);
    restartBackoff.gc(Date.now());
    imageBackoff.gc(Date.now());
  };
  const workersDone = runWorkers(queue, opts.workers ?? 16, sync, { onError: (uid, e) => onError(e, `sync of pod ${uid}`) });
  // Adoption: containers of pods that still exist are synced like any (no restart); the rest are orphans.
  await resyncAll();
  const timer = setInterval(() => {
    resyncAll().catch((e: unknown) => onError(e, 'resync'));
  }, resyncMs);

  return {
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      unwatch();
      probes.stop();
      queue.shutDown();
      await workersDone;
      await factory.stop();
      if (ownRecorder) await recorder.flush();
    },

    async findContainer(namespace, name, container, previous) {
      const pod = informer.getByName(namespace, name);
      if (!pod) throw new KubeletLookupError(404, 'NotFound', `pods "${name}" not found`);
      const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
      const wanted = container || pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] || pod.spec?.containers[0]?.name || '';
      if (!all.some((c) => c.name === wanted)) throw new KubeletLookupError(400, 'BadRequest', `container ${wanted} is not valid for pod ${name}`);
      const instances = (await observe(uidOf(pod))).filter((c) => c.type === 'container' && c.name === wanted).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      const pick = previous ? instances[1] : instances[0];
      if (!pick) {
        if (previous) throw new KubeletLookupError(400, 'BadRequest', `previous terminated container "${wanted}" in pod "${name}" not found`);
        const reason = state(uidOf(pod)).waiting.get(wanted)?.reason ?? 'ContainerCreating';
        throw new KubeletLookupError(400, 'BadRequest', `container "${wanted}" in pod "${name}" is waiting to start: ${reason}`);
      }
      return { id: pick.id, name: wanted };
    },
  };
}
