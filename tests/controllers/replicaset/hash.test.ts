import t from 'tap';
import { canonicalJson, computeTemplateHash, fnv32a, safeEncodeString } from '../../../pkg/controllers/replicaset/hash.js';

t.test('FNV-32a reference vectors', async (t) => {
  const enc = new TextEncoder();
  t.equal(fnv32a(enc.encode('')), 0x811c9dc5);
  t.equal(fnv32a(enc.encode('a')), 0xe40c292c);
  t.equal(fnv32a(enc.encode('foobar')), 0xbf9cf968);
});

t.test('SafeEncodeString maps digits like Kubernetes', async (t) => {
  // '0'..'9' are code points 48..57; 48 % 27 = 21 -> '4'.
  t.equal(safeEncodeString('0123456789'), '456789bcdf');
});

t.test('template hash: stable, order-insensitive, collision count changes it', async (t) => {
  const a = { metadata: { labels: { app: 'x', tier: 'y' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const b = { spec: { containers: [{ image: 'i', name: 'c' }] }, metadata: { labels: { tier: 'y', app: 'x' }, annotations: {} } };
  t.equal(computeTemplateHash(a), computeTemplateHash(b));
  t.match(computeTemplateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  t.not(computeTemplateHash(a), computeTemplateHash(a, 1));
  t.not(computeTemplateHash(a, 1), computeTemplateHash(a, 2));
  t.not(computeTemplateHash(a), computeTemplateHash({ ...a, spec: { containers: [{ name: 'c', image: 'j' }] } }));
  t.equal(canonicalJson({ b: [], a: null, c: { d: {} } }), '{}');
});
