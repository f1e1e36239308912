import t from 'tap';
import { getHeapStatistics } from 'node:v8';
import { DEFAULT_HEAP_GROWING_PERCENT, tuneHeap } from '../../pkg/util/heap.js';

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
