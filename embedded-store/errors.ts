/** Typed store errors: each maps to exactly one API Status in pkg/apiserver. */

export class StoreError extends Error {}

/** create() on a key that is live. */
export class KeyExistsError extends StoreError {
  constructor(readonly key: string) {
    super(`key ${key} already exists`);
  }
}

/** update()/delete() on a key that is absent or deleted. */
export class KeyNotFoundError extends StoreError {
  constructor(readonly key: string) {
    super(`key ${key} not found`);
  }
}

/** Compare-and-swap failed: the key moved on since the caller read it. */
export class ConflictError extends StoreError {
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    readonly actualRevision: number,
  ) {
    super(`key ${key} is at revision ${actualRevision}, not ${expectedRevision}`);
  }
}

/** A read or watch from before the compacted revision. */
export class CompactedError extends StoreError {
  constructor(
    readonly requestedRevision: number,
    readonly compactedRevision: number,
  ) {
    super(`revision ${requestedRevision} has been compacted (compacted at ${compactedRevision})`);
  }
}

/** A read at a revision the store has not reached yet. */
export class FutureRevisionError extends StoreError {
  constructor(
    readonly requestedRevision: number,
    readonly currentRevision: number,
  ) {
    super(`revision ${requestedRevision} is newer than the current revision ${currentRevision}`);
  }
}

/** Any call on a backend after close(). */
export class StoreClosedError extends StoreError {
  constructor() {
    super('store is closed');
  }
}
