import t from 'tap';
import { applyJsonPatch, jsonPatch, parsePointer } from '../../../pkg/apiserver/patch/json-patch.js';
import { PatchError } from '../../../pkg/apiserver/patch/errors.js';
import type { JsonObject, JsonValue } from '../../../pkg/apiserver/patch/json.js';

// RFC 6902 Appendix A examples that succeed (A.13, a duplicate-key document, cannot exist once parsed).
const rfcOk: { name: string; doc: JsonValue; patch: JsonValue; want: JsonValue }[] = [
  { name: 'A.1 adding an object member', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz', value: 'qux' }], want: { baz: 'qux', foo: 'bar' } },
  { name: 'A.2 adding an array element', doc: { foo: ['bar', 'baz'] }, patch: [{ op: 'add', path: '/foo/1', value: 'qux' }], want: { foo: ['bar', 'qux', 'baz'] } },
  { name: 'A.3 removing an object member', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'remove', path: '/baz' }], want: { foo: 'bar' } },
  { name: 'A.4 removing an array element', doc: { foo: ['bar', 'qux', 'baz'] }, patch: [{ op: 'remove', path: '/foo/1' }], want: { foo: ['bar', 'baz'] } },
  { name: 'A.5 replacing a value', doc: { baz: 'qux', foo: 'bar' }, patch: [{ op: 'replace', path: '/baz', value: 'boo' }], want: { baz: 'boo', foo: 'bar' } },
  {
    name: 'A.6 moving a value',
    doc: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
    patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
    want: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  },
  {
    name: 'A.7 moving an array element',
    doc: { foo: ['all', 'grass', 'cows', 'eat'] },
    patch: [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
    want: { foo: ['all', 'cows', 'eat', 'grass'] },
  },
  {
    name: 'A.8 testing a value: success',
    doc: { baz: 'qux', foo: ['a', 2, 'c'] },
    patch: [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
    ],
    want: { baz: 'qux', foo: ['a', 2, 'c'] },
  },
  {
    name: 'A.10 adding a nested member object',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/child', value: { grandchild: {} } }],
    want: { foo: 'bar', child: { grandchild: {} } },
  },
  {
    name: 'A.11 ignoring unrecognized elements',
    doc: { foo: 'bar' },
    patch: [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }],
    want: { foo: 'bar', baz: 'qux' },
  },
  { name: 'A.14 ~ escape ordering', doc: { '/': 9, '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: 10 }], want: { '/': 9, '~1': 10 } },
  {
    name: 'A.16 adding an array value',
    doc: { foo: ['bar'] },
    patch: [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
    want: { foo: ['bar', ['abc', 'def']] },
  },
  // Beyond the appendix.
  { name: 'copy', doc: { a: { b: [1] } }, patch: [{ op: 'copy', from: '/a', path: '/c' }], want: { a: { b: [1] }, c: { b: [1] } } },
  { name: 'add replaces an existing member', doc: { a: 1 }, patch: [{ op: 'add', path: '/a', value: 2 }], want: { a: 2 } },
  { name: 'add at the end index', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/1', value: 2 }], want: { a: [1, 2] } },
  { name: 'replace the whole document', doc: { a: 1 }, patch: [{ op: 'replace', path: '', value: { b: 2 } }], want: { b: 2 } },
  { name: '~1 and ~0 escapes', doc: { 'a/b': { 'c~d': 1 } }, patch: [{ op: 'replace', path: '/a~1b/c~0d', value: 2 }], want: { 'a/b': { 'c~d': 2 } } },
  { name: 'empty-string member', doc: { '': 1 }, patch: [{ op: 'remove', path: '/' }], want: {} },
  { name: 'test compares objects structurally', doc: { a: { x: 1, y: [1, 2] } }, patch: [{ op: 'test', path: '/a', value: { y: [1, 2], x: 1 } }], want: { a: { x: 1, y: [1, 2] } } },
  {
    name: 'client-node style metadata label patch',
    doc: { metadata: { name: 'p', labels: { a: '1' } } },
    patch: [
      { op: 'test', path: '/metadata/labels/a', value: '1' },
      { op: 'add', path: '/metadata/labels/example.com~1role', value: 'db' },
      { op: 'remove', path: '/metadata/labels/a' },
    ],
    want: { metadata: { name: 'p', labels: { 'example.com/role': 'db' } } },
  },
];

t.test('operations', async (t) => {
  for (const c of rfcOk) {
    const before = structuredClone(c.doc);
    t.strictSame(jsonPatch(c.doc, c.patch), c.want, c.name);
    t.strictSame(c.doc, before, `${c.name}: input untouched`);
  }
});

const failures: { name: string; doc: JsonObject; patch: JsonValue; code: 400 | 422; message: RegExp }[] = [
  { name: 'A.9 testing a value: error', doc: { baz: 'qux' }, patch: [{ op: 'test', path: '/baz', value: 'bar' }], code: 422, message: /test operation failed at \/baz/ },
  { name: 'A.12 adding to a nonexistent target', doc: { foo: 'bar' }, patch: [{ op: 'add', path: '/baz/bat', value: 'qux' }], code: 422, message: /\/baz does not exist/ },
  { name: 'A.15 comparing strings and numbers', doc: { '/': 9, '~1': 10 }, patch: [{ op: 'test', path: '/~01', value: '10' }], code: 422, message: /test operation failed at \/~01/ },
  {
    name: 'test failure names the path',
    doc: { spec: { replicas: 2 } },
    patch: [{ op: 'test', path: '/spec/replicas', value: 3 }],
    code: 422,
    message: /^json patch test operation failed at \/spec\/replicas/,
  },
  { name: 'add past the end', doc: { a: [1] }, patch: [{ op: 'add', path: '/a/2', value: 0 }], code: 422, message: /index 2 is out of bounds/ },
  { name: 'remove past the end', doc: { a: [1] }, patch: [{ op: 'remove', path: '/a/1' }], code: 422, message: /index 1 is out of bounds/ },
  { name: 'replace with "-"', doc: { a: [1] }, patch: [{ op: 'replace', path: '/a/-', value: 0 }], code: 422, message: /"-" does not name/ },
  { name: 'leading zero index', doc: { a: [1, 2] }, patch: [{ op: 'remove', path: '/a/01' }], code: 422, message: /is not an array index/ },
  { name: 'remove a missing member', doc: { a: 1 }, patch: [{ op: 'remove', path: '/b' }], code: 422, message: /no value at that path/ },
  { name: 'replace a missing member', doc: { a: 1 }, patch: [{ op: 'replace', path: '/b', value: 1 }], code: 422, message: /no value at that path/ },
  { name: 'copy from a missing member', doc: { a: 1 }, patch: [{ op: 'copy', from: '/b', path: '/c' }], code: 422, message: /no value at that path/ },
  { name: 'move into its own child', doc: { a: { b: 1 } }, patch: [{ op: 'move', from: '/a', path: '/a/b/c' }], code: 422, message: /into one of its children/ },
  { name: 'remove the document', doc: { a: 1 }, patch: [{ op: 'remove', path: '' }], code: 422, message: /whole document/ },
  { name: 'result is not an object', doc: { a: 1 }, patch: [{ op: 'replace', path: '', value: [1] }], code: 422, message: /replaced the object with array/ },
  { name: 'not an array', doc: {}, patch: { op: 'add' }, code: 400, message: /must be a JSON array/ },
  { name: 'unknown op', doc: {}, patch: [{ op: 'merge', path: '/a' }], code: 400, message: /unknown op "merge"/ },
  { name: 'missing value', doc: {}, patch: [{ op: 'add', path: '/a' }], code: 400, message: /missing "value"/ },
  { name: 'missing from', doc: {}, patch: [{ op: 'move', path: '/a' }], code: 400, message: /missing "from"/ },
  { name: 'missing path', doc: {}, patch: [{ op: 'remove' }], code: 400, message: /missing "path"/ },
  { name: 'pointer without leading slash', doc: { a: 1 }, patch: [{ op: 'remove', path: 'a' }], code: 400, message: /invalid json pointer/ },
  { name: 'bad escape', doc: { a: 1 }, patch: [{ op: 'remove', path: '/a~2' }], code: 400, message: /bad escape/ },
];

t.test('errors', async (t) => {
  for (const c of failures) {
    t.throws(() => applyJsonPatch(c.doc, c.patch), { name: 'PatchError', code: c.code, message: c.message }, c.name);
  }
});

t.test('operations apply atomically', async (t) => {
  const doc: JsonObject = { spec: { replicas: 1, paused: false } };
  const patch: JsonValue = [
    { op: 'replace', path: '/spec/replicas', value: 5 },
    { op: 'remove', path: '/spec/paused' },
    { op: 'test', path: '/spec/replicas', value: 1 }, // fails: replicas is already 5
  ];
  t.throws(() => applyJsonPatch(doc, patch), PatchError);
  t.strictSame(doc, { spec: { replicas: 1, paused: false } }, 'nothing changed');
});

t.test('added values do not alias the patch', async (t) => {
  const value: JsonObject = { x: 1 };
  const out = applyJsonPatch({}, [{ op: 'add', path: '/a', value }]);
  value.x = 2;
  t.strictSame(out, { a: { x: 1 } });
});

t.test('parsePointer', async (t) => {
  t.strictSame(parsePointer(''), []);
  t.strictSame(parsePointer('/'), ['']);
  t.strictSame(parsePointer('/a~1b/~0/~01'), ['a/b', '~', '~1']);
});
