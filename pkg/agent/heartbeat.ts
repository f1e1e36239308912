/**
 * Node registration and heartbeats, as the kubelet does them: the Node is
 * created (or brought up to date) once, its Lease in kube-node-lease is
 * renewed every 10 s, and its status is posted every minute, after an
 * outage, or when asked. When the server cannot be reached the loop backs
 * off (up to 10 s) and carries on; nothing else is touched.
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Client } from '../client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.js';
import { nodeConditions, nodeObject, nodeStatusBase, type HostFacts, type NodeIdentity } from './node.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
export const LEASE_RENEW_INTERVAL_MS = 10_000;
export const STATUS_REPORT_INTERVAL_MS = 60_000;
export const MAX_BACKOFF_MS = 10_000;

const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const taintId = (t: Taint): string => `${t.key}:${t.effect}`;

/**
 * Creates the Node, or brings an existing one up to date: our labels set,
 * our taints added when missing (others, e.g. the node controller's, kept).
 */
export async function registerNode(client: Client, id: NodeIdentity, facts: HostFacts): Promise<Node> {
  const nodes = client.resource('nodes');
  const want = nodeObject(id, facts);
  for (let attempt = 0; ; attempt++) {
    let current: Node;
    try {
      current = await nodes.get(id.nodeName);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        return await nodes.create(want);
      } catch (err) {
        if (isAlreadyExists(err) && attempt < 5) continue;
        throw err;
      }
    }
    const labels = { ...current.metadata?.labels, ...want.metadata?.labels };
    const have = new Set((current.spec?.taints ?? []).map(taintId));
    const missing = id.taints.filter((t) => !have.has(taintId(t)));
    const labelsSame = JSON.stringify(labels) === JSON.stringify(current.metadata?.labels ?? {});
    if (labelsSame && missing.length === 0) return current;
    try {
      return await nodes.update({
        ...current,
        metadata: { ...current.metadata, labels },
        spec: { ...current.spec, taints: [...(current.spec?.taints ?? []), ...missing] },
      });
    } catch (e) {
      if (isConflict(e) && attempt < 5) continue;
      throw e;
    }
  }
}

/** Options of startHeartbeat. */
export interface HeartbeatOptions {
  client: Client;
  identity: NodeIdentity;
  facts: HostFacts;
  /** nodeInfo.containerRuntimeVersion, e.g. 'docker://20.10.24'. */
  containerRuntimeVersion: string;
  leaseRenewIntervalMs?: number;
  statusReportIntervalMs?: number;
  log?: (msg: string) => void;
  /** Describes a failed beat for the log (e.g. "cannot reach …: connection refused"). */
  describeError?: (e: unknown) => string;
  now?: () => Date;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** Posts the node status on the next beat, which comes at once. */
  refresh(): void;
  /** Whether the last beat reached the server. */
  healthy(): boolean;
  stop(): Promise<void>;
}

/** Posts the node status once (strategic merge: conditions merge by type, nobody else's writes are raced). */
export async function postNodeStatus(client: Client, opts: Pick<HeartbeatOptions, 'identity' | 'facts' | 'containerRuntimeVersion'>, previous: readonly NodeCondition[] | undefined, now: Date): Promise<Node> {
  const status = { ...nodeStatusBase(opts.identity, opts.facts, opts.containerRuntimeVersion), conditions: nodeConditions(previous, now) };
  return client.resource('nodes').patch(opts.identity.nodeName, 'strategic', { status }, { subresource: 'status' });
}

/** Registers the node, posts its status and renews its Lease; the first beat has happened when this resolves. */
export async function startHeartbeat(opts: HeartbeatOptions): Promise<Heartbeat> {
  const { client, identity } = opts;
  const name = identity.nodeName;
  const now = opts.now ?? (() => new Date());
  const log = opts.log ?? (() => {});
  const describe = opts.describeError ?? ((e: unknown) => (e instanceof Error ? e.message : String(e)));
  const leaseEvery = opts.leaseRenewIntervalMs ?? LEASE_RENEW_INTERVAL_MS;
  const statusEvery = opts.statusReportIntervalMs ?? STATUS_REPORT_INTERVAL_MS;
  const leases = client.resource('leases').namespace(NODE_LEASE_NAMESPACE);

  let node = await registerNode(client, identity, opts.facts);
  let lease: Lease | undefined;
  let lastStatusMs = 0;
  let forceStatus = true;
  let failures = 0;

  async function postStatus(): Promise<void> {
    try {
      node = await postNodeStatus(client, opts, node.status?.conditions, now());
    } catch (e) {
      // Deleted under us (kubectl delete node): register again, as a restarted kubelet would.
      if (!isNotFound(e)) throw e;
      node = await registerNode(client, identity, opts.facts);
      node = await postNodeStatus(client, opts, undefined, now());
      lease = undefined;
    }
    lastStatusMs = now().getTime();
    forceStatus = false;
  }

  async function renewLease(): Promise<void> {
    const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now()) };
    if (lease) {
      try {
        lease = await leases.update({ ...lease, spec: { ...lease.spec, ...spec } });
        return;
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
      }
    }
    try {
      const cur = await leases.get(name);
      lease = await leases.update({ ...cur, spec: { ...cur.spec, ...spec } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const uid = node.metadata?.uid;
      lease = await leases.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name,
          namespace: NODE_LEASE_NAMESPACE,
          // As the kubelet: the Lease goes with its Node.
          ...(uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid }] } : {}),
        },
        spec,
      });
    }
  }

  async function beat(): Promise<void> {
    await renewLease();
    if (forceStatus || now().getTime() - lastStatusMs >= statusEvery) await postStatus();
  }

  await beat();

  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  const loop = (async () => {
    let delay = leaseEvery;
    while (!stopped) {
      await sleep(delay);
      if (stopped) break;
      try {
        await beat();
        if (failures > 0) log(`node ${name}: reached the server again after ${failures} failed heartbeat${failures > 1 ? 's' : ''}`);
        failures = 0;
        delay = leaseEvery;
      } catch (e) {
        failures++;
        // After an outage the node controller may have marked the node Unknown: post status first thing.
        forceStatus = true;
        if (failures === 1) log(`node ${name}: heartbeat failed (${describe(e)}); retrying with back-off`);
        delay = Math.min(500 * 2 ** (failures - 1), MAX_BACKOFF_MS, leaseEvery);
      }
    }
  })();

  return {
    refresh() {
      forceStatus = true;
      clearTimeout(timer);
      wake?.();
    },
    healthy: () => failures === 0,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
