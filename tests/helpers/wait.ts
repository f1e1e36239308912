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

/** Calls `get` every 250 ms until `ok` accepts its value, which it returns; rejects after `ms` naming what it waited for and the last value. */
export async function poll<T>(what: string, ms: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T = await get();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await get();
  }
  return last;
}
