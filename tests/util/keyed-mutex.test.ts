import t from 'tap';
import { KeyedMutex } from '../../pkg/util/keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

t.test('one key runs one holder at a time, in arrival order; other keys run alongside', async (t) => {
  const m = new KeyedMutex();
  const log: string[] = [];
  let inside = 0;
  let maxInside = 0;
  const job = (key: string, id: string) =>
    m.run(key, async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      log.push(`start ${id}`);
      await tick();
      log.push(`end ${id}`);
      inside--;
      return id;
    });
  const results = await Promise.all([job('a', 'a1'), job('a', 'a2'), job('a', 'a3')]);
  t.same(results, ['a1', 'a2', 'a3']);
  t.same(log, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
  t.equal(maxInside, 1);
  maxInside = 0;
  await Promise.all([job('x', 'x'), job('y', 'y')]);
  t.equal(maxInside, 2, 'different keys do not wait for each other');
  t.equal(m.size, 0, 'no keys are left behind');
});

t.test('a failing holder releases the key', async (t) => {
  const m = new KeyedMutex();
  await t.rejects(m.run('k', async () => {
    throw new Error('boom');
  }), /boom/);
  t.equal(await m.run('k', async () => 'next'), 'next');
  t.equal(m.size, 0);
});
