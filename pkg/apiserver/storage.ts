/**
 * Objects over the revisioned key-value store: key layout, encoding, and the
 * resourceVersion ⇄ revision mapping. `metadata.resourceVersion` is never
 * stored; it is the row's revision, set on every read (as etcd3 storage does).
 */
import type { Backend, KeyValue, WatchEvent } from '../../embedded-store/types.js';
import { groupResourceOf, type ResourceType } from '../api/registry.js';
import type { KubeObject } from '../api/object.js';

export interface StoredList {
  items: KubeObject[];
  revision: number;
  /** Key of the last item returned when the list was cut short. */
  lastKey?: string;
  remaining: number;
}

/**
 * One change to an object. Every watcher of a collection gets the same
 * ObjectEvent (decoded once, not once per watcher): treat it as read-only.
 */
export interface ObjectEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /** The object before this change (MODIFIED, DELETED). */
  previous?: KubeObject;
  revision: number;
  /** Encoded wire lines of this event, shared by watchers that encode it the same way. */
  wire?: Map<string, Uint8Array>;
}

/** Key of one object: /registry/<group-resource>/<namespace>/<name>. */
export function objectKey(r: ResourceType, namespace: string | undefined, name: string): string {
  return r.namespaced ? `/registry/${groupResourceOf(r)}/${namespace}/${name}` : `/registry/${groupResourceOf(r)}/${name}`;
}

/** Prefix of a collection, all namespaces when `namespace` is absent. */
export function collectionPrefix(r: ResourceType, namespace?: string): string {
  return r.namespaced && namespace !== undefined ? `/registry/${groupResourceOf(r)}/${namespace}/` : `/registry/${groupResourceOf(r)}/`;
}

function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return JSON.stringify({ ...obj, metadata: meta });
}

/** Decodes a stored value, stamping its revision as resourceVersion. */
export function decode(kv: KeyValue): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

// What was just written need not be parsed back: the caller's object is what the row holds.
function stamped(obj: KubeObject, kv: KeyValue): KubeObject {
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

export class ObjectStore {
  constructor(readonly backend: Backend) {}

  async get(r: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.backend.get(objectKey(r, namespace, name));
    return kv ? decode(kv) : undefined;
  }

  /**
   * Reads a collection at one revision, keeping only objects `keep` accepts,
   * until `limit` of them are found; filtering happens before the limit as
   * the Kubernetes API server does.
   */
  async list(
    r: ResourceType,
    namespace: string | undefined,
    opts: { limit?: number; startAfter?: string; revision?: number; keep?: (o: KubeObject) => boolean },
  ): Promise<StoredList> {
    const prefix = collectionPrefix(r, namespace);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    let startAfter = opts.startAfter;
    let revision = opts.revision ?? 0;
    for (;;) {
      const batch = await this.backend.list(prefix, {
        limit: limit ? Math.max(limit - items.length, 64) : 0,
        startAfter,
        revision,
      });
      revision = batch.revision;
      for (let i = 0; i < batch.items.length; i++) {
        const obj = decode(batch.items[i]);
        if (opts.keep && !opts.keep(obj)) continue;
        items.push(obj);
        if (limit && items.length === limit) {
          const moreInBatch = i < batch.items.length - 1;
          if (moreInBatch || batch.more) {
            const remaining = batch.items.length - 1 - i + (batch.more ? batch.remaining : 0);
            return { items, revision, lastKey: batch.items[i].key, remaining };
          }
          return { items, revision, remaining: 0 };
        }
      }
      if (!batch.more || batch.items.length === 0) return { items, revision, remaining: 0 };
      startAfter = batch.items[batch.items.length - 1].key;
    }
  }

  /** Stores a new object; returns `obj` itself (the caller's to keep) stamped with its resourceVersion. */
  async create(r: ResourceType, obj: KubeObject): Promise<KubeObject> {
    const kv = await this.backend.create(objectKey(r, obj.metadata.namespace, obj.metadata.name ?? ''), encode(obj));
    return stamped(obj, kv);
  }

  /** Compare-and-swap on the object's current revision; returns `obj` stamped with the new resourceVersion. */
  async update(r: ResourceType, obj: KubeObject, expectedRevision: number): Promise<KubeObject> {
    const kv = await this.backend.update(objectKey(r, obj.metadata.namespace, obj.metadata.name ?? ''), encode(obj), expectedRevision);
    return stamped(obj, kv);
  }

  /** Deletes, returning the last value stamped with the deletion's revision. */
  async delete(r: ResourceType, namespace: string | undefined, name: string, expectedRevision?: number): Promise<KubeObject> {
    const kv = await this.backend.delete(objectKey(r, namespace, name), expectedRevision);
    return decode(kv);
  }

  /** Streams changes to a collection after `afterRevision`. */
  async watch(
    r: ResourceType,
    namespace: string | undefined,
    afterRevision: number,
    onEvent: (e: ObjectEvent) => void,
  ): Promise<{ close(): void }> {
    return this.backend.watch({ prefix: collectionPrefix(r, namespace), afterRevision }, (e: WatchEvent) => {
      onEvent(toObjectEvent(e));
    });
  }
}

/** A store event decoded on first use; `previous` only when a watcher asks (selector transitions). */
class DecodedEvent implements ObjectEvent {
  readonly type: ObjectEvent['type'];
  readonly object: KubeObject;
  readonly revision: number;
  readonly wire = new Map<string, Uint8Array>();
  private prev: KubeObject | undefined;
  private prevDecoded = false;

  constructor(private readonly event: WatchEvent) {
    this.type = event.type === 'create' ? 'ADDED' : event.type === 'update' ? 'MODIFIED' : 'DELETED';
    this.object = decode(event.kv);
    this.revision = event.kv.modRevision;
  }

  get previous(): KubeObject | undefined {
    if (!this.prevDecoded) {
      this.prevDecoded = true;
      this.prev = this.event.prevKv ? decode(this.event.prevKv) : undefined;
    }
    return this.prev;
  }
}

// The watch hub hands the same WatchEvent to every watcher of a prefix: decode it once.
const decodedEvents = new WeakMap<WatchEvent, DecodedEvent>();

function toObjectEvent(e: WatchEvent): ObjectEvent {
  let decoded = decodedEvents.get(e);
  if (decoded === undefined) {
    decoded = new DecodedEvent(e);
    decodedEvents.set(e, decoded);
  }
  return decoded;
}
