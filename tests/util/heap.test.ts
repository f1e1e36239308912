import t from 'tap';
import { getHeapStatistics } from 'node:v8';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DEFAULT_HEAP_GROWING_PERCENT, NODE_FLAGS, tuneHeap } from '../../pkg/util/heap.js';

t.test('the default and overrides', async (t) => {
  t.equal(tuneHeap({}), DEFAULT_HEAP_GROWING_PERCENT);
  t.equal(tuneHeap({ ORCH_HEAP_GROWING_PERCENT: '' }), DEFAULT_HEAP_GROWING_PERCENT);
  t.equal(tuneHeap({ ORCH_HEAP_GROWING_PERCENT: '30' }), 30);
  t.equal(tuneHeap({ ORCH_HEAP_GROWING_PERCENT: '0' }), 0, '0 leaves V8 its own heuristics');
  t.ok(getHeapStatistics().heap_size_limit > 0, 'the process still runs');
});

t.test('bad overrides are refused with a message naming the variable', async (t) => {
  for (const bad of ['x', '-1', '2.5', '5000']) {
    t.throws(() => tuneHeap({ ORCH_HEAP_GROWING_PERCENT: bad }), /ORCH_HEAP_GROWING_PERCENT must be an integer from 0 to 1000/, bad);
  }
});

t.test('orch runs with NODE_FLAGS however it is started: the bin line and npm start carry them', async (t) => {
  const root = new URL('../../', import.meta.url);
  const shebang = readFileSync(new URL('cmd/orch.ts', root), 'utf8').split('\n')[0];
  t.equal(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  const pkg: unknown = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  const start = typeof pkg === 'object' && pkg !== null && 'scripts' in pkg && typeof pkg.scripts === 'object' && pkg.scripts !== null && 'start' in pkg.scripts ? String(pkg.scripts.start) : '';
  t.match(start, `node ${NODE_FLAGS.join(' ')} dist/cmd/orch.js server`);
  // The flag is one V8 accepts: a node started with it runs.
  const r = spawnSync(process.execPath, [...NODE_FLAGS, '-e', 'process.exit(0)']);
  t.equal(r.status, 0, String(r.stderr));
});
