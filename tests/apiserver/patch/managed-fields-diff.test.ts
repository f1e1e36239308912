// diffFieldSets must give exactly what comparing the two whole field sets
// gives (the definition recordUpdate used before): checked on seeded random
// pod pairs, where one is a random edit of the other.
import t from 'tap';
import { diffFieldSets, fieldSetOf, FieldSet, valueAt, formatPath } from '../../../pkg/apiserver/patch/managed-fields.js';
import { patchMetaFor } from '../../../pkg/apiserver/patch/patch-meta.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../../../pkg/apiserver/patch/json.js';

function reference(oldObj: JsonObject, newObj: JsonObject, meta: Parameters<typeof fieldSetOf>[1]): { changed: FieldSet; removed: FieldSet } {
  const newSet = fieldSetOf(newObj, meta, true);
  const oldSet = fieldSetOf(oldObj, meta, true);
  const removed = oldSet.difference(newSet);
  const changed = FieldSet.of(
    [...newSet].filter(
      (p) => !oldSet.has(p) || (!newSet.hasDescendant(p) && !oldSet.hasDescendant(p) && JSON.stringify(valueAt(oldObj, p)) !== JSON.stringify(valueAt(newObj, p))),
    ),
  );
  return { changed, removed };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomPod(r: () => number): JsonObject {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const n = (k: number): number => Math.floor(r() * k);
  const containers: JsonObject[] = [];
  for (let i = 0; i < 1 + n(3); i++) {
    const c: JsonObject = { name: `c${i}`, image: pick(['a', 'b', 'c']) };
    if (r() < 0.5) c.args = Array.from({ length: n(3) }, () => pick(['x', 'y']));
    if (r() < 0.5) c.ports = Array.from({ length: n(3) }, (_, j) => ({ containerPort: 80 + j, protocol: pick(['TCP', 'UDP']) }));
    if (r() < 0.5) c.env = Array.from({ length: n(3) }, (_, j) => ({ name: `E${j}`, value: pick(['1', '2']) }));
    if (r() < 0.5) c.resources = r() < 0.3 ? {} : { requests: { cpu: pick(['1', '2']) } };
    containers.push(c);
  }
  const metadata: JsonObject = { name: 'p', namespace: 'default', uid: 'u' };
  if (r() < 0.6) metadata.labels = r() < 0.2 ? {} : r() < 0.5 ? { app: pick(['a', 'b']), tier: 'x' } : { app: pick(['a', 'b']) };
  if (r() < 0.4) metadata.finalizers = Array.from({ length: n(3) }, (_, i) => `f${i}`);
  if (r() < 0.3) metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: pick(['1', '2']), controller: r() < 0.5 }];
  const spec: JsonObject = { containers };
  if (r() < 0.4) spec.nodeName = pick(['n1', 'n2']);
  if (r() < 0.3) spec.tolerations = [{ key: 'k', operator: 'Exists' }];
  const pod: JsonObject = { apiVersion: 'v1', kind: 'Pod', metadata, spec };
  if (r() < 0.7) {
    const status: JsonObject = { phase: pick(['Pending', 'Running']) };
    if (r() < 0.7) status.conditions = ['Ready', 'PodScheduled', 'Initialized'].filter(() => r() < 0.6).map((type) => ({ type, status: pick(['True', 'False']) }));
    if (r() < 0.5) {
      status.containerStatuses = containers.map((c): JsonObject => {
        const state: JsonObject = r() < 0.5 ? { running: {} } : { waiting: { reason: 'X' } };
        return { name: c.name ?? null, ready: r() < 0.5, state };
      });
    }
    if (r() < 0.3) status.podIP = null;
    pod.status = status;
  }
  return pod;
}

/** A random edit: replace, delete or add somewhere, or a whole fresh object. */
function edit(obj: JsonObject, r: () => number): JsonObject {
  const out = cloneJson(obj);
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    if (r() < 0.15) return mergeTop(out, randomPod(r));
    // Walk to a random container node.
    let node: JsonValue = out;
    let parent: JsonObject | JsonValue[] | undefined;
    let key: string | number | undefined = undefined;
    for (let depth = 0; depth < 6; depth++) {
      if (isJsonObject(node)) {
        const names: string[] = Object.keys(node);
        if (names.length === 0 || r() < 0.2) break;
        const name = names[Math.floor(r() * names.length)];
        parent = node;
        key = name;
        node = node[name];
      } else if (Array.isArray(node)) {
        if (node.length === 0 || r() < 0.2) break;
        const at = Math.floor(r() * node.length);
        parent = node;
        key = at;
        node = node[at];
      } else break;
    }
    if (parent === undefined || key === undefined) continue;
    const choice = r();
    const value: JsonValue = choice < 0.3 ? 'v' + Math.floor(r() * 3) : choice < 0.45 ? {} : choice < 0.55 ? null : choice < 0.7 ? { added: 'z' } : [];
    if (Array.isArray(parent) && typeof key === 'number') {
      if (r() < 0.5) parent.splice(key, 1);
      else parent[key] = value;
    } else if (isJsonObject(parent) && typeof key === 'string') {
      if (r() < 0.4 && !['metadata', 'spec'].includes(key)) delete parent[key];
      else parent[key] = value;
    }
  }
  return out;
}

function mergeTop(a: JsonObject, b: JsonObject): JsonObject {
  return { ...a, ...b };
}

const paths = (s: FieldSet): string[] => [...s].map(formatPath).sort();
const meta = patchMetaFor('v1', 'Pod');
if (!meta) throw new Error('no patch meta for Pod');

t.test('diffFieldSets equals the whole-set comparison on random pod edits', async (t) => {
  let mismatches = 0;
  for (let seed = 1; seed <= 1500; seed++) {
    const r = rng(seed);
    const before = randomPod(r);
    const after = edit(before, r);
    const got = diffFieldSets(before, after, meta);
    const want = reference(before, after, meta);
    if (JSON.stringify(paths(got.changed)) !== JSON.stringify(paths(want.changed)) || JSON.stringify(paths(got.removed)) !== JSON.stringify(paths(want.removed))) {
      mismatches++;
      if (mismatches <= 3) {
        t.same({ changed: paths(got.changed), removed: paths(got.removed) }, { changed: paths(want.changed), removed: paths(want.removed) }, `seed ${seed}`);
      }
    }
  }
  t.equal(mismatches, 0, 'no seed differs');
});

t.test('an unchanged object has no changed or removed fields, even when copied', async (t) => {
  const r = rng(7);
  const pod = randomPod(r);
  const { changed, removed } = diffFieldSets(pod, cloneJson(pod), meta);
  t.equal(changed.size, 0);
  t.equal(removed.size, 0);
});
