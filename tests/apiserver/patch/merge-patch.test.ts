import t from 'tap';
import { applyMergePatch, mergePatch } from '../../../pkg/apiserver/patch/merge-patch.js';
import { PatchError } from '../../../pkg/apiserver/patch/errors.js';
import { asJsonValue, type JsonObject, type JsonValue } from '../../../pkg/apiserver/patch/json.js';

// RFC 7386 Appendix A, verbatim.
const rfcExamples: [JsonValue, JsonValue, JsonValue][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

t.test('RFC 7386 appendix A', async (t) => {
  for (const [target, patch, want] of rfcExamples) {
    t.strictSame(mergePatch(target, patch), want, `${JSON.stringify(target)} + ${JSON.stringify(patch)}`);
  }
});

t.test('applyMergePatch on API objects', async (t) => {
  const deployment: JsonObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } },
    spec: { replicas: 1, template: { spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
  };
  const cases: { name: string; patch: JsonValue; want: JsonObject }[] = [
    {
      name: 'kubectl scale',
      patch: { spec: { replicas: 3 } },
      want: { ...deployment, spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } },
    },
    {
      name: 'null removes a label, arrays replace',
      patch: { metadata: { labels: { tier: null } }, spec: { template: { spec: { containers: [{ name: 'd' }] } } } },
      want: {
        ...deployment,
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: { replicas: 1, template: { spec: { containers: [{ name: 'd' }] } } },
      },
    },
  ];
  for (const c of cases) {
    const before = structuredClone(deployment);
    t.strictSame(applyMergePatch(deployment, c.patch), c.want, c.name);
    t.strictSame(deployment, before, `${c.name}: input untouched`);
  }
});

t.test('result never aliases the inputs', async (t) => {
  const target: JsonObject = { a: { b: 1 }, keep: { x: 1 } };
  const patch: JsonObject = { a: { c: [1] } };
  const out = applyMergePatch(target, patch);
  t.strictSame(out, { a: { b: 1, c: [1] }, keep: { x: 1 } });
  if (typeof out.keep === 'object' && out.keep !== null && !Array.isArray(out.keep)) out.keep.x = 2;
  t.strictSame(target, { a: { b: 1 }, keep: { x: 1 } });
});

t.test('a non-object patch is a 400', async (t) => {
  const patches: JsonValue[] = [[], 'x', 1, null];
  for (const patch of patches) {
    t.throws(() => applyMergePatch({ a: 1 }, patch), new PatchError('a merge patch must be a JSON object', 400), JSON.stringify(patch));
  }
});

t.test('__proto__ in a patch is an ordinary member', async (t) => {
  const patch = asJsonValue(JSON.parse('{"__proto__": {"polluted": true}}'));
  if (patch === undefined) throw new Error('not JSON');
  const out = applyMergePatch({}, patch);
  t.equal(Object.getPrototypeOf(out), Object.prototype);
  t.ok(Object.hasOwn(out, '__proto__'));
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});
