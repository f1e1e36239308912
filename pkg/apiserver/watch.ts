/**
 * Watch streams: chunked JSON, one event per line. Initial state as
 * synthetic ADDED events when no resourceVersion is given, history replay
 * and live events after one, BOOKMARKs, selector transitions (an object that
 * stops matching is DELETED for this watcher), 410 Expired when too old.
 */
import { CompactedError } from '../../embedded-store/errors.js';
import { apiVersionOf, type ResourceType } from '../api/registry.js';
import type { KubeObject } from '../api/object.js';
import type { ObjectEvent, ObjectStore } from './storage.js';
import { errors } from './errors.js';

export interface WatchParams {
  store: ObjectStore;
  resource: ResourceType;
  namespace: string | undefined;
  resourceVersion?: string;
  sendInitialEvents?: boolean;
  keep: (o: KubeObject) => boolean;
  /** Wire form of an object (itself, a one-row Table, metadata only). */
  encode: (o: KubeObject) => unknown;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** Events buffered for a slow client before the watch is ended. */
  maxBuffered?: number;
}

type WireEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: unknown };

const encoder = new TextEncoder();

/** Opens a watch; the stream ends on timeout, on client cancel, or after an ERROR event. */
export async function openWatch(p: WatchParams): Promise<ReadableStream<Uint8Array>> {
  const { store, resource: r } = p;
  const maxBuffered = p.maxBuffered ?? 10_000;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let watcher: { close(): void } | undefined;
  const timers: NodeJS.Timeout[] = [];

  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        finish(false);
      },
    },
    { highWaterMark: 0 },
  );

  function finish(closeStream: boolean): void {
    if (closed) return;
    closed = true;
    watcher?.close();
    for (const t of timers) clearTimeout(t), clearInterval(t);
    if (closeStream) {
      try {
        controller.close();
      } catch {
        // already closed by the consumer
      }
    }
  }

  function send(e: WireEvent): void {
    if (closed) return;
    controller.enqueue(encoder.encode(JSON.stringify(e) + '\n'));
    // A client that stops reading would make us buffer forever: end its watch, it will re-watch.
    if ((controller.desiredSize ?? 0) < -maxBuffered) finish(true);
  }

  function bookmark(annotations?: Record<string, string>): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(store.backend.currentRevision()) };
    if (annotations) metadata.annotations = annotations;
    send({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata } });
  }

  function onEvent(e: ObjectEvent): void {
    const nowMatches = p.keep(e.object);
    if (e.type === 'ADDED') {
      if (nowMatches) send({ type: 'ADDED', object: p.encode(e.object) });
      return;
    }
    if (e.type === 'DELETED') {
      if (p.keep(e.previous ?? e.object)) send({ type: 'DELETED', object: p.encode(e.object) });
      return;
    }
    const before = e.previous ? p.keep(e.previous) : false;
    if (nowMatches && before) send({ type: 'MODIFIED', object: p.encode(e.object) });
    else if (nowMatches) send({ type: 'ADDED', object: p.encode(e.object) });
    else if (before) send({ type: 'DELETED', object: p.encode(e.object) });
  }

  const rv = p.resourceVersion;
  const initial = rv === undefined || rv === '' || rv === '0' || p.sendInitialEvents === true;
  let after: number;
  if (initial) {
    const listed = await store.list(r, p.namespace, { keep: p.keep, revision: 0 });
    for (const o of listed.items) send({ type: 'ADDED', object: p.encode(o) });
    after = listed.revision;
    if (p.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
    after = Number(rv);
  }
  try {
    watcher = await store.watch(r, p.namespace, after, onEvent);
  } catch (e) {
    if (!(e instanceof CompactedError)) throw e;
    const status = errors.expired(`too old resource version: ${e.requestedRevision} (${e.compactedRevision})`).toStatus();
    send({ type: 'ERROR', object: status });
    finish(true);
    return stream;
  }
  if (closed) watcher.close();
  if (p.bookmarks) timers.push(setInterval(() => bookmark(), p.bookmarkIntervalMs).unref());
  timers.push(
    setTimeout(() => {
      if (p.bookmarks) bookmark();
      finish(true);
    }, p.timeoutMs).unref(),
  );
  return stream;
}
