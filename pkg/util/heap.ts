/**
 * Heap sizing of the long-running processes (server, agent).
 *
 * V8 lets the old generation grow to up to 4× what survived the last full
 * GC before collecting again: a server holding 15,000 pods (~150 MiB live)
 * sat at 545 MiB RSS, most of it garbage waiting for a collection. Growing
 * by half instead kept it at 345 MiB with the same idle CPU (measured with
 * scripts/bench/idle-cluster.ts). `--heap-growing-percent` is read at each
 * GC, so setting it at start-up, before the heap has grown, takes effect;
 * ORCH_HEAP_GROWING_PERCENT overrides it (0 restores V8's own heuristics).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The node flags orch runs with (the bin's first line, `npm start`, and the
 * benchmarks that start it). V8 reads the young generation's size only when
 * the heap is set up, so unlike --heap-growing-percent it cannot be set from
 * inside: 16 MiB semi-spaces (V8's default) made the server scavenge ~560
 * times while binding 10,000 pods, promoting request garbage; 32 MiB bound
 * ~9 % more pods/s (scripts/bench/scheduler-e2e.ts --backlog, alternating
 * runs) for ~40 MiB more RSS under that load.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** Default old-generation growth over the live size after a full GC, in percent. */
export const DEFAULT_HEAP_GROWING_PERCENT = 50;

/** Applies the heap growth policy; returns the percentage in effect (0: V8's default). */
export function tuneHeap(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ORCH_HEAP_GROWING_PERCENT;
  const percent = raw === undefined || raw === '' ? DEFAULT_HEAP_GROWING_PERCENT : Number(raw);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new Error(`ORCH_HEAP_GROWING_PERCENT must be an integer from 0 to 1000, got ${JSON.stringify(raw)}`);
  }
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
