/**
 * A tiny in-memory cluster for stepping the pure controller functions:
 * a Deployment, its ReplicaSets and their Pods, with a "kubelet" that makes
 * pods ready on demand. No API server: actions are applied directly.
 */
import type { Deployment, DeploymentStrategy, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { syncDeployment, type DeploymentSyncResult } from '../../pkg/controllers/deployment/sync.js';
import { computeReplicaSetStatus, planReplicaSet, replicaSetPod } from '../../pkg/controllers/replicaset/reconcile.js';
import { getControllerOf, isPodActive, isPodReady } from '../../pkg/controllers/replicaset/pods.js';

export const T0 = Date.parse('2025-01-01T00:00:00Z');

/** A Deployment as the API server would store it after defaulting. */
export function makeDeployment(opts: { name?: string; replicas?: number; image?: string; strategy?: DeploymentStrategy; revisionHistoryLimit?: number; progressDeadlineSeconds?: number; minReadySeconds?: number } = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: opts.name ?? 'web', namespace: 'default', uid: 'dep-uid', generation: 1, creationTimestamp: new Date(T0).toISOString() },
    spec: {
      replicas: opts.replicas ?? 10,
      selector: { matchLabels: { app: 'web' } },
      strategy: opts.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: opts.revisionHistoryLimit ?? 10,
      progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 600,
      minReadySeconds: opts.minReadySeconds,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'c', image: opts.image ?? 'nginx:1.25' }] },
      },
    },
    status: {},
  };
}

/** Observations after each step. */
export interface StepRecord {
  total: number;
  available: number;
  result: DeploymentSyncResult;
}

/** The simulated cluster. */
export class Cluster {
  now = T0;
  rs: ReplicaSet[] = [];
  pods: Pod[] = [];
  private seq = 0;
  /** When true, the kubelet makes every pod ready at the end of each step. */
  autoReady = true;

  constructor(public d: Deployment) {}

  /** Changes the deployment's spec the way an API update does (generation bump). */
  updateSpec(fn: (spec: NonNullable<Deployment['spec']>) => void): void {
    const spec = structuredClone(this.d.spec);
    if (spec === undefined) throw new Error('no spec');
    fn(spec);
    this.d = { ...this.d, metadata: { ...this.d.metadata, generation: (this.d.metadata?.generation ?? 1) + 1 }, spec };
  }

  private uid(prefix: string): string {
    this.seq++;
    return `${prefix}-${this.seq}`;
  }

  /** Runs the deployment sync and applies what it asks. */
  syncDeployment(): DeploymentSyncResult {
    const result = syncDeployment({ deployment: this.d, replicaSets: this.rs, pods: this.pods, now: this.now });
    for (const a of result.actions) {
      switch (a.kind) {
        case 'createReplicaSet':
          if (this.rs.some((r) => r.metadata?.name === a.replicaSet.metadata?.name)) throw new Error('AlreadyExists');
          this.rs.push({
            ...structuredClone(a.replicaSet),
            metadata: { ...a.replicaSet.metadata, uid: this.uid('rs'), generation: 1, creationTimestamp: new Date(this.now + this.seq).toISOString() },
            status: { replicas: 0 },
          });
          break;
        case 'updateReplicaSet':
          this.rs = this.rs.map((r) => {
            if (r.metadata?.name !== a.replicaSet.metadata?.name) return r;
            const specChanged = JSON.stringify(r.spec) !== JSON.stringify(a.replicaSet.spec);
            return { ...a.replicaSet, metadata: { ...a.replicaSet.metadata, generation: (r.metadata?.generation ?? 1) + (specChanged ? 1 : 0) }, status: r.status };
          });
          break;
        case 'deleteReplicaSet':
          this.rs = this.rs.filter((r) => r.metadata?.name !== a.replicaSet.metadata?.name);
          break;
        case 'setDeploymentAnnotations':
          this.d = { ...this.d, metadata: { ...this.d.metadata, annotations: a.annotations } };
          break;
        case 'updateStatus':
          this.d = { ...this.d, status: a.status };
          break;
        case 'adoptReplicaSet':
        case 'releaseReplicaSet':
          break;
      }
    }
    return result;
  }

  /** Runs every ReplicaSet's sync once: pods created (pending) or deleted, status refreshed. */
  syncReplicaSets(): void {
    for (const rs of this.rs) {
      const plan = planReplicaSet(rs, this.pods);
      for (let i = 0; i < plan.create; i++) {
        const pod = replicaSetPod(rs);
        const uid = this.uid('pod');
        this.pods.push({
          ...pod,
          metadata: { ...pod.metadata, name: `${rs.metadata?.name ?? ''}-${uid}`, uid, creationTimestamp: new Date(this.now).toISOString() },
          status: { phase: 'Pending' },
        });
      }
      const gone = new Set(plan.delete.map((p) => p.metadata?.uid));
      this.pods = this.pods.filter((p) => !gone.has(p.metadata?.uid));
    }
    this.refreshStatuses();
  }

  refreshStatuses(): void {
    this.rs = this.rs.map((rs) => {
      const mine = this.pods.filter((p) => getControllerOf(p)?.uid === rs.metadata?.uid && isPodActive(p));
      return { ...rs, status: computeReplicaSetStatus(rs, mine, this.now) };
    });
  }

  /** Makes up to `n` (default all) unready pods Running and Ready. */
  makeReady(n = Infinity): void {
    let left = n;
    this.pods = this.pods.map((p) => {
      if (left <= 0 || isPodReady(p)) return p;
      left--;
      return {
        ...p,
        spec: { ...p.spec, containers: p.spec?.containers ?? [], nodeName: 'node-1' },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(this.now).toISOString() }] },
      };
    });
    this.refreshStatuses();
  }

  /** One round: deployment sync, replica set syncs, optional readiness; time advances by a second. */
  step(): StepRecord {
    const result = this.syncDeployment();
    this.syncReplicaSets();
    const rec = { total: this.pods.length, available: this.pods.filter(isPodReady).length, result };
    if (this.autoReady) this.makeReady();
    this.now += 1000;
    return rec;
  }

  /** Steps until nothing is written (or `max` steps); returns every step's record. */
  settle(max = 100): StepRecord[] {
    const recs: StepRecord[] = [];
    for (let i = 0; i < max; i++) {
      const rec = this.step();
      recs.push(rec);
      if (rec.result.actions.length === 0) return recs;
    }
    throw new Error(`did not settle in ${max} steps`);
  }

  podsOf(rs: ReplicaSet): Pod[] {
    return this.pods.filter((p) => getControllerOf(p)?.uid === rs.metadata?.uid);
  }
}
