/** The embedded store's public API. */
import { MemoryBackend } from './memory.js';
import { SqliteBackend, type SqliteOptions } from './sqlite.js';
import type { Backend } from './types.js';

export type { Backend, KeyValue, ListOptions, ListResult, WatchEvent, WatchOptions, Watcher } from './types.js';
export {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  StoreClosedError,
  StoreError,
} from './errors.js';
export { MemoryBackend, type MemoryOptions } from './memory.js';
export { SqliteBackend, type SqliteOptions } from './sqlite.js';

/** Open a backend by kind; `path` (the database file) is required for 'sqlite'. */
export async function openBackend(kind: 'sqlite' | 'memory', path?: string, options: SqliteOptions = {}): Promise<Backend> {
  if (kind === 'memory') return new MemoryBackend({ onWatchCallbackError: options.onWatchCallbackError });
  if (path === undefined) throw new Error('the sqlite backend needs a database path');
  return SqliteBackend.open(path, options);
}
