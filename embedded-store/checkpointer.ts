/**
 * WAL checkpoints on a worker thread. A checkpoint copies every page the WAL
 * holds into the database file and fsyncs it: ~10 ms per thousand 1 KB
 * writes here, which on the event loop would stall every request in flight.
 * A PASSIVE checkpoint from a second connection never blocks the writer, so
 * it runs on its own thread; the writer restarts the WAL (truncated to
 * journal_size_limit) once a checkpoint has caught up.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

export interface CheckpointResult {
  /** Frames in the WAL when the checkpoint ran. */
  log: number;
  /** Frames copied into the database (log when it caught up). */
  checkpointed: number;
}

// Plain CommonJS run with `eval`: no file of ours to resolve, so it works the
// same from dist/ and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
parentPort.on('message', (msg) => {
  if (msg === 'close') { db.close(); parentPort.close(); return; }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: row.log, checkpointed: row.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
`;

type Reply = { ok: true; log: number; checkpointed: number } | { ok: false; error: string };

/** One worker thread with its own connection to the database file. */
export class Checkpointer {
  private readonly worker: Worker;
  private waiting: { resolve: (r: CheckpointResult) => void; reject: (e: Error) => void } | undefined;
  private inFlight: Promise<CheckpointResult> | undefined;
  private closed = false;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    // The store must not keep the process alive by itself.
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (!w) return;
      if (reply.ok) w.resolve({ log: reply.log, checkpointed: reply.checkpointed });
      else w.reject(new Error(reply.error));
    });
    this.worker.on('error', (e) => {
      this.waiting?.reject(e);
      this.waiting = undefined;
    });
  }

  /** Runs a PASSIVE checkpoint; a request while one runs shares it. */
  checkpoint(): Promise<CheckpointResult> {
    if (this.closed) return Promise.reject(new Error('checkpointer closed'));
    this.inFlight ??= new Promise<CheckpointResult>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage('checkpoint');
    }).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Whether a checkpoint is running now. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight?.catch(() => undefined);
    await new Promise<void>((resolve) => {
      // Keep the process alive until the worker has closed its connection.
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage('close');
    });
  }
}
