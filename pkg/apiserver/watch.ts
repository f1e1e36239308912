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
  /**
   * Names the encoding when equal objects always encode to the same bytes
   * (not a Table, whose first row carries the columns): such a watcher's
   * lines are cached on the event and shared with other watchers.
   */
  wireKey?: string;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** False when `keep` accepts everything: no selector transitions to work out. */
  selective?: boolean;
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
    sendLine(encoder.encode(JSON.stringify(e) + '\n'));
  }

  function bookmark(annotations?: Record<string, string>): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(store.backend.currentRevision()) };
    if (annotations) metadata.annotations = annotations;
    send({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: apiVersionOf(r), metadata } });
  }

  function sendLine(line: Uint8Array): void {
    if (closed) return;
    controller.enqueue(line);
    // A client that stops reading would make us buffer forever: end its watch, it will re-watch.
    if ((controller.desiredSize ?? 0) < -maxBuffered) finish(true);
  }

  /** Sends a live event as `type`, reusing the line another watcher already encoded the same way. */
  function sendEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', e: ObjectEvent): void {
    if (closed) return;
    if (p.wireKey === undefined || e.wire === undefined) return send({ type, object: p.encode(e.object) });
    const key = `${type} ${p.wireKey}`;
    let line = e.wire.get(key);
    if (line === undefined) {
      line = encoder.encode(JSON.stringify({ type, object: p.encode(e.object) }) + '\n');
      e.wire.set(key, line);
    }
    sendLine(line);
  }

  // Everything a watcher matches on is in the new object except for a
  // selector watch, which needs the old one to see an object leave it.
  const selective = p.selective ?? true;

  function onEvent(e: ObjectEvent): void {
    if (!selective) return sendEvent(e.type, e);
    const nowMatches = p.keep(e.object);
    if (e.type === 'ADDED') {
      if (nowMatches) sendEvent('ADDED', e);
      return;
    }
    if (e.type === 'DELETED') {
      if (p.keep(e.previous ?? e.object)) sendEvent('DELETED', e);
      return;
    }
    const before = e.previous ? p.keep(e.previous) : false;
    if (nowMatches && before) sendEvent('MODIFIED', e);
    else if (nowMatches) sendEvent('ADDED', e);
    else if (before) sendEvent('DELETED', e);
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
