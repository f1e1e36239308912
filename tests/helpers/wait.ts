/** Polls `cond` until it holds; rejects after `ms` with what it waited for. */
export function waitFor(cond: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  return new Promise((res, rej) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return res();
      if (Date.now() - start > ms) return rej(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}
