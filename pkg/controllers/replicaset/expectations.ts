/**
 * Controller expectations (k8s.io/kubernetes/pkg/controller
 * ControllerExpectations / UIDTrackingControllerExpectations): after a sync
 * creates or deletes pods, the next sync waits until the watch has shown
 * those changes, so a stale cache cannot make it create the same pods twice.
 * Expectations older than the TTL count as satisfied, so a lost event
 * cannot wedge a controller.
 */

/** How long an expectation blocks syncs at most (Kubernetes' ExpectationsTimeout). */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Entry {
  adds: number;
  /** UIDs of pods whose deletion we wait to see. */
  deletes: Set<string>;
  at: number;
}

/** Pending creations and deletions per controller key. */
export class Expectations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now, private readonly ttlMs = EXPECTATIONS_TTL_MS) {}

  /** Replaces the expectations of `key`. */
  expect(key: string, adds: number, deleteUids: Iterable<string> = []): void {
    this.entries.set(key, { adds, deletes: new Set(deleteUids), at: this.now() });
  }

  /** A pod of `key` showed up (or a create failed / was skipped). */
  creationObserved(key: string, n = 1): void {
    const e = this.entries.get(key);
    if (e !== undefined) e.adds -= n;
  }

  /** A pod of `key` went away (or its delete failed). */
  deletionObserved(key: string, uid: string): void {
    this.entries.get(key)?.deletes.delete(uid);
  }

  /** True when nothing is pending, nothing was ever expected, or the expectation expired. */
  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return true;
    if (e.adds <= 0 && e.deletes.size === 0) return true;
    return this.now() - e.at > this.ttlMs;
  }

  /** Forgets `key` (its controller was deleted). */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
