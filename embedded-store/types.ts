/**
 * The contract every store backend honours. The API server is the only
 * writer, so watch events are produced in-process at commit time.
 *
 * Revisions are global and strictly increasing; the revision of a write is
 * the row id of that write (kine's model). A key's `modRevision` is the
 * revision of its last write, `createRevision` the revision that created it.
 */

/** One stored value at one revision. */
export interface KeyValue {
  key: string;
  /** JSON text of the object (opaque to the store). */
  value: string;
  createRevision: number;
  modRevision: number;
}

/** A change seen by a watcher, in revision order. */
export interface WatchEvent {
  /** `create` when the key did not exist before, `update`, or `delete`. */
  type: 'create' | 'update' | 'delete';
  /**
   * The key after the write. For `delete` this carries the tombstone's
   * revision as `modRevision` and the last live value as `value`.
   */
  kv: KeyValue;
  /** The value before the write (absent for `create`). */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** At most this many items (0 or absent: no limit). */
  limit?: number;
  /** Return keys strictly greater than this one (a continue token's key). */
  startAfter?: string;
  /**
   * Read as of this revision (0 or absent: latest). Older than the compacted
   * revision throws CompactedError; newer than the current one throws
   * FutureRevisionError.
   */
  revision?: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision this snapshot was read at. */
  revision: number;
  /** True when `limit` cut the result short. */
  more: boolean;
  /** How many matching keys follow the last returned item (when `more`). */
  remaining: number;
}

export interface WatchOptions {
  /** Key prefix to watch ('' for everything). */
  prefix: string;
  /**
   * Deliver every event with revision greater than this. Older than the
   * compacted revision rejects with CompactedError.
   */
  afterRevision: number;
}

export interface Watcher {
  /** Stop delivering events; idempotent. */
  close(): void;
}

export interface Backend {
  /** The revision of the last committed write. */
  currentRevision(): number;
  /** Revisions at or below this were compacted away. */
  compactedRevision(): number;
  get(key: string, revision?: number): Promise<KeyValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  count(prefix: string): Promise<number>;
  /** Create the key; rejects with KeyExistsError when it is live. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Compare-and-swap: write when the key's modRevision equals
   * `expectedModRevision`. Rejects with KeyNotFoundError or ConflictError.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Delete, writing a tombstone. With `expectedModRevision`, only when it
   * matches (else ConflictError). Resolves to the deleted value with the
   * tombstone's revision as modRevision.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Replay history after `afterRevision`, then stream live events, in
   * revision order, to `onEvent`. Resolves once the watcher is registered.
   */
  watch(options: WatchOptions, onEvent: (event: WatchEvent) => void): Promise<Watcher>;
  /** Drop superseded history at or below `revision`. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
