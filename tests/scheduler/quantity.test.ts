import t from 'tap';
import { isQuantity, quantityMilliValue, quantityValue } from '../../pkg/scheduler/quantity.js';

t.test('Value() and MilliValue() as resource.Quantity computes them', async (t) => {
  const cases: [string, number, number][] = [
    // input, Value(), MilliValue()
    ['100m', 1, 100],
    ['0.5', 1, 500],
    ['0.1', 1, 100],
    ['1', 1, 1000],
    ['2.5', 3, 2500],
    ['1Gi', 1024 ** 3, 1024 ** 3 * 1000],
    ['512Mi', 512 * 1024 ** 2, 512 * 1024 ** 2 * 1000],
    ['1Ki', 1024, 1024000],
    ['1e3', 1000, 1_000_000],
    ['1E3', 1000, 1_000_000],
    ['1.5e-3', 1, 2],
    ['1k', 1000, 1_000_000],
    ['1M', 1_000_000, 1_000_000_000],
    ['1G', 1e9, 1e12],
    ['2T', 2e12, 2e15],
    ['1500m', 2, 1500],
    ['250u', 1, 1],
    ['5n', 1, 1],
    ['0', 0, 0],
    ['.5', 1, 500],
    ['+3', 3, 3000],
    ['-100m', 0, -100],
    ['1.5Gi', 1.5 * 1024 ** 3, 1.5 * 1024 ** 3 * 1000],
    ['128974848', 128974848, 128974848000],
  ];
  for (const [q, value, milli] of cases) {
    t.equal(quantityValue(q), value, `${q} value`);
    t.equal(quantityMilliValue(q), milli, `${q} milli`);
  }
  t.equal(quantityValue(3), 3, 'numbers are accepted');
});

t.test('rejects what is not a quantity', async (t) => {
  for (const bad of ['', 'abc', '1Kb', '1 Gi', '1.2.3', 'Mi', '1ki', '--1', '1e']) {
    t.notOk(isQuantity(bad), bad);
    t.throws(() => quantityValue(bad), { name: 'QuantityError' }, bad);
  }
  t.ok(isQuantity('1e3'));
});
