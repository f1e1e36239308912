import t from 'tap';
import { MetricsRegistry, METRICS_CONTENT_TYPE } from '../../pkg/util/metrics.js';

t.test('renders families in the Prometheus text format, read at scrape time', async (t) => {
  const m = new MetricsRegistry();
  let n = 1;
  m.register({ name: 'a_total', help: 'Things.', type: 'counter', samples: () => [{ labels: { kind: 'x', note: 'say "hi"\\ \nnow' }, value: n }] });
  m.register({ name: 'b', help: 'Level.', type: 'gauge', samples: () => [{ value: 2.5 }] });
  t.equal(m.render(), '# HELP a_total Things.\n# TYPE a_total counter\na_total{kind="x",note="say \\"hi\\"\\\\ \\nnow"} 1\n# HELP b Level.\n# TYPE b gauge\nb 2.5\n');
  n = 5;
  t.match(m.render(), 'a_total{kind="x",note="say \\"hi\\"\\\\ \\nnow"} 5\n', 'values are read when scraped');
  t.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
});

t.test('unregistering removes a family, but not one that replaced it', async (t) => {
  const m = new MetricsRegistry();
  const off = m.register({ name: 'x', help: 'h', type: 'gauge', samples: () => [{ value: 1 }] });
  const offAgain = m.register({ name: 'x', help: 'h', type: 'gauge', samples: () => [{ value: 2 }] });
  off();
  t.match(m.render(), 'x 2\n', 'the replacement stays');
  offAgain();
  t.equal(m.render(), '\n');
});
