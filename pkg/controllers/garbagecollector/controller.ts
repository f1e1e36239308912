/**
 * The garbage collector wired to the API. The owner → dependents graph is
 * the shared informers themselves: every served kind (but events, as in
 * kube-controller-manager) gets an index of its objects by owner uid, so
 * "dependents of X" is one index lookup per kind and "is owner X alive" is
 * a cache lookup by name checked against the uid. The cache of the owner's
 * kind can lag behind the dependent's, so an owner missing from the cache
 * is looked up on the server before anything is deleted, and every action
 * is taken on a freshly read object with uid and resourceVersion
 * preconditions.
 */
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { RESOURCES, findResourceByKind, groupResourceOf, type ResourceType } from '../../api/registry.js';
import type { Client, ObjectLike, ResourceClient } from '../../client/client.js';
import { isConflict, isNotFound } from '../../client/errors.js';
import { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type Informer, type SharedInformerFactory } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { runControllerLoop } from '../common/loop.js';
import {
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  hasFinalizer,
  isDeleting,
  isDeletingDependents,
  ownerStateOf,
  planDeletingOwner,
  planDependent,
  unblockOwnerRefs,
  withoutFinalizer,
  withoutOwnerRefs,
  type OwnerState,
} from './plan.js';

/** Index of every informer the collector watches: owner uids of each object. */
export const OWNER_UID_INDEX = 'orch-gc-owner-uid';

/** Options of startGarbageCollector. */
export interface GarbageCollectorOptions {
  client: Client;
  informerFactory: SharedInformerFactory;
  recorder?: EventRecorder;
  /** Concurrent syncs (default 20, as --concurrent-gc-syncs). */
  workers?: number;
  /** Kinds not watched, as 'pods' or 'deployments.apps' (default ['events'], as kube-controller-manager). */
  ignoredResources?: string[];
  onError?: (key: string, e: unknown) => void;
}

/** A running garbage collector. */
export interface RunningGarbageCollector {
  /** Processes one queue key ('<group resource>|<namespace>/<name>') now (tests). */
  sync(key: string): Promise<void>;
  stop(): Promise<void>;
}

interface Watched {
  resource: ResourceType;
  informer: Informer<ObjectLike>;
  client: ResourceClient<ObjectLike>;
}

interface Dependent {
  gr: string;
  obj: ObjectLike;
}

function ownerUids(o: ObjectLike): string[] {
  return (o.metadata?.ownerReferences ?? []).map((r) => r.uid);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function refsChanged(a: ObjectLike, b: ObjectLike): boolean {
  return !sameJson(a.metadata?.ownerReferences, b.metadata?.ownerReferences);
}

function deletionChanged(a: ObjectLike, b: ObjectLike): boolean {
  return isDeleting(a) !== isDeleting(b) || !sameJson(a.metadata?.finalizers, b.metadata?.finalizers);
}

function waitsOnUs(o: ObjectLike): boolean {
  return isDeleting(o) && (hasFinalizer(o, ORPHAN_FINALIZER) || hasFinalizer(o, FOREGROUND_FINALIZER));
}

/** Starts the garbage collector on shared informers of every served kind; resolves once caches are synced. */
export async function startGarbageCollector(opts: GarbageCollectorOptions): Promise<RunningGarbageCollector> {
  const { client } = opts;
  const recorder = opts.recorder ?? new EventRecorder(client, { component: 'garbage-collector-controller' });
  const ignored = new Set(opts.ignoredResources ?? ['events']);
  const watched = new Map<string, Watched>();
  for (const r of RESOURCES) {
    const gr = groupResourceOf(r);
    if (ignored.has(gr) || ignored.has(r.plural)) continue;
    const informer = opts.informerFactory.informerFor<ObjectLike>(gr);
    try {
      informer.addIndexer(OWNER_UID_INDEX, ownerUids);
    } catch {
      // Already there: a collector started earlier on this factory added the same index.
    }
    watched.set(gr, { resource: r, informer, client: client.resource<ObjectLike>(r) });
  }
  const queue = new WorkQueue<string>();

  const enqueue = (gr: string, obj: ObjectLike): void => queue.add(`${gr}|${keyOf(obj)}`);

  /** The queue key of the object a reference points to, if its kind is watched. */
  const ownerKey = (dep: ObjectLike, ref: OwnerReference): string | undefined => {
    const r = findResourceByKind(ref.apiVersion, ref.kind);
    if (r === undefined || !watched.has(groupResourceOf(r))) return undefined;
    const ns = r.namespaced ? dep.metadata?.namespace : undefined;
    return `${groupResourceOf(r)}|${ns ? `${ns}/` : ''}${ref.name}`;
  };
  const enqueueOwners = (dep: ObjectLike): void => {
    for (const ref of dep.metadata?.ownerReferences ?? []) {
      const k = ownerKey(dep, ref);
      if (k !== undefined) queue.add(k);
    }
  };
  const dependentsOf = (uid: string | undefined): Dependent[] => {
    if (!uid) return [];
    const out: Dependent[] = [];
    for (const [gr, w] of watched) for (const obj of w.informer.byIndex(OWNER_UID_INDEX, uid)) out.push({ gr, obj });
    return out;
  };

  const detach = [...watched].map(([gr, w]) =>
    w.informer.addEventHandler({
      onAdd: (o) => {
        if (ownerUids(o).length > 0 || waitsOnUs(o)) enqueue(gr, o);
      },
      onUpdate: (old, o) => {
        if (old.metadata?.resourceVersion === o.metadata?.resourceVersion) return;
        const refs = refsChanged(old, o);
        if (refs || deletionChanged(old, o)) enqueue(gr, o);
        // A foreground owner waiting on this object may be free now.
        if (refs) enqueueOwners(old);
      },
      onDelete: (o) => {
        for (const d of dependentsOf(o.metadata?.uid)) enqueue(d.gr, d.obj);
        enqueueOwners(o);
      },
    }),
  );

  /** Resolves one owner reference of `dep`, asking the server when the cache does not have the owner. */
  async function ownerState(dep: ObjectLike, ref: OwnerReference): Promise<OwnerState> {
    const r = findResourceByKind(ref.apiVersion, ref.kind);
    if (r === undefined) return 'unknown';
    const depNs = dep.metadata?.namespace;
    if (r.namespaced && !depNs) {
      // A cluster-scoped object cannot be owned by a namespaced one: Kubernetes treats the owner as absent.
      recorder.event(dep, 'Warning', 'OwnerRefInvalidNamespace', `ownerRef ${JSON.stringify(ref)} does not resolve to a cluster-scoped object`);
      return 'dangling';
    }
    const ns = r.namespaced ? depNs : undefined;
    const cached = watched.get(groupResourceOf(r))?.informer.getByName(ns, ref.name);
    if (cached !== undefined && cached.metadata?.uid === ref.uid) return ownerStateOf(ref, cached);
    try {
      const live = await client.resource<ObjectLike>(r).namespace(ns).get(ref.name);
      return ownerStateOf(ref, live);
    } catch (e) {
      if (isNotFound(e)) return 'dangling';
      throw e;
    }
  }

  async function statesOf(dep: ObjectLike, known: Map<string, OwnerState>): Promise<Map<string, OwnerState>> {
    for (const ref of dep.metadata?.ownerReferences ?? []) {
      if (!known.has(ref.uid)) known.set(ref.uid, await ownerState(dep, ref));
    }
    return known;
  }

  function planFor(obj: ObjectLike, states: Map<string, OwnerState>): ReturnType<typeof planDependent> {
    const deps = dependentsOf(obj.metadata?.uid);
    return planDependent(obj, states, {
      hasDependents: deps.length > 0,
      dependentDeletingDependents: deps.some((d) => isDeletingDependents(d.obj)),
    });
  }

  /** Re-reads an object; undefined when it is gone or was replaced by another with the same name. */
  async function latest(w: Watched, obj: ObjectLike): Promise<ObjectLike | undefined> {
    try {
      const live = await w.client.namespace(obj.metadata?.namespace).get(obj.metadata?.name ?? '');
      return live.metadata?.uid === obj.metadata?.uid ? live : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async function syncDependent(w: Watched, cached: ObjectLike): Promise<void> {
    const states = await statesOf(cached, new Map());
    if (planFor(cached, states).type === 'none') return;
    // Decide again on the server's copy: the cache may not show an owner reference added meanwhile.
    const obj = await latest(w, cached);
    if (obj === undefined || isDeleting(obj)) return;
    const action = planFor(obj, await statesOf(obj, states));
    const rc = w.client.namespace(obj.metadata?.namespace);
    const name = obj.metadata?.name ?? '';
    const rv = obj.metadata?.resourceVersion;
    try {
      switch (action.type) {
        case 'none':
          return;
        case 'removeOwnerRefs':
          await rc.patch(name, 'merge', { metadata: { ownerReferences: withoutOwnerRefs(obj.metadata?.ownerReferences, action.uids) ?? null, resourceVersion: rv } });
          return;
        case 'unblockAndDelete': {
          const patched = await rc.patch(name, 'merge', {
            metadata: { ownerReferences: unblockOwnerRefs(obj.metadata?.ownerReferences, action.uids), resourceVersion: rv },
          });
          await rc.delete(name, { propagationPolicy: action.policy, preconditions: { uid: obj.metadata?.uid, resourceVersion: patched.metadata?.resourceVersion } });
          return;
        }
        case 'delete':
          await rc.delete(name, { propagationPolicy: action.policy, preconditions: { uid: obj.metadata?.uid, resourceVersion: rv } });
          return;
      }
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** Removes `finalizer` from the owner, re-reading it when the cached copy is stale. */
  async function removeFinalizer(w: Watched, cached: ObjectLike, finalizer: string): Promise<void> {
    const rc = w.client.namespace(cached.metadata?.namespace);
    const name = cached.metadata?.name ?? '';
    let obj: ObjectLike | undefined = cached;
    for (let attempt = 0; obj !== undefined && hasFinalizer(obj, finalizer); attempt++) {
      try {
        await rc.patch(name, 'merge', {
          metadata: { finalizers: withoutFinalizer(obj.metadata?.finalizers, finalizer) ?? null, resourceVersion: obj.metadata?.resourceVersion },
        });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
      }
      obj = await latest(w, cached);
    }
  }

  /** Drops the reference to `ownerUid` from a dependent, re-reading it when the cached copy is stale. */
  async function orphan(dep: Dependent, ownerUid: string): Promise<void> {
    const w = watched.get(dep.gr);
    if (w === undefined) return;
    const rc = w.client.namespace(dep.obj.metadata?.namespace);
    const name = dep.obj.metadata?.name ?? '';
    let obj: ObjectLike | undefined = dep.obj;
    for (let attempt = 0; obj !== undefined && ownerUids(obj).includes(ownerUid); attempt++) {
      try {
        await rc.patch(name, 'merge', {
          metadata: { ownerReferences: withoutOwnerRefs(obj.metadata?.ownerReferences, [ownerUid]) ?? null, resourceVersion: obj.metadata?.resourceVersion },
        });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
      }
      obj = await latest(w, dep.obj);
    }
  }

  async function syncDeletingOwner(w: Watched, owner: ObjectLike): Promise<void> {
    const uid = owner.metadata?.uid ?? '';
    const deps = dependentsOf(uid);
    const action = planDeletingOwner(
      owner,
      deps.map((d) => d.obj),
    );
    if (action.type === 'orphan') {
      await Promise.all(deps.map((d) => orphan(d, uid)));
      await removeFinalizer(w, owner, ORPHAN_FINALIZER);
    } else if (action.type === 'foreground') {
      const process = new Set(action.process);
      for (const d of deps) if (process.has(d.obj)) enqueue(d.gr, d.obj);
      if (action.removeFinalizer) await removeFinalizer(w, owner, FOREGROUND_FINALIZER);
    }
  }

  async function sync(key: string): Promise<void> {
    const bar = key.indexOf('|');
    const w = watched.get(key.slice(0, bar));
    if (w === undefined) return;
    const { namespace, name } = splitKey(key.slice(bar + 1));
    const obj = w.informer.getByName(namespace, name);
    if (obj === undefined) return;
    if (isDeleting(obj)) {
      await syncDeletingOwner(w, obj);
      return;
    }
    if (ownerUids(obj).length > 0) await syncDependent(w, obj);
  }

  return runControllerLoop({ informerFactory: opts.informerFactory, queue, workers: opts.workers ?? 20, sync, detach, recorder, onError: opts.onError });
}
