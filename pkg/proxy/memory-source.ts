/**
 * An in-memory ProxySource: objects set by hand instead of listed and
 * watched from an API server. The second implementation beside the client's
 * Informer, for tests and benchmarks that drive the proxy without an API.
 */
import type { ObjectLike } from '../client/client.js';
import type { EventHandlers } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { ProxySource } from './proxy.js';

/** A synced cache whose content the caller sets; handlers run synchronously, as an informer's do. */
export class MemorySource<T extends ObjectLike> implements ProxySource<T> {
  private readonly objects = new Map<string, T>();
  private readonly handlers = new Set<EventHandlers<T>>();

  constructor(initial: T[] = []) {
    for (const o of initial) this.objects.set(keyOf(o), o);
  }

  /** Adds or replaces an object, calling onAdd or onUpdate. */
  set(obj: T): void {
    const key = keyOf(obj);
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    for (const h of this.handlers) {
      if (old) h.onUpdate?.(old, obj);
      else h.onAdd?.(obj);
    }
  }

  /** Removes an object by key ("ns/name"), calling onDelete; false when absent. */
  delete(key: string): boolean {
    const old = this.objects.get(key);
    if (!old) return false;
    this.objects.delete(key);
    for (const h of this.handlers) h.onDelete?.(old);
    return true;
  }

  addEventHandler(h: EventHandlers<T>): () => void {
    this.handlers.add(h);
    if (h.onAdd) for (const o of this.objects.values()) h.onAdd(o);
    return () => this.handlers.delete(h);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  waitForSync(): Promise<void> {
    return Promise.resolve();
  }
}
