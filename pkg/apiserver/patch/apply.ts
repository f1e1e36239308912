/**
 * Server-side apply (`application/apply-patch+yaml`): a faithful-enough
 * subset of Kubernetes' structured-merge-diff.
 *
 * - The applied configuration is merged into the live object (keyed lists
 *   merge by key, sets by value, everything else is replaced).
 * - Fields this manager applied last time and no longer applies are removed,
 *   unless another manager also owns them.
 * - Changing a field another manager owns is a conflict (ApplyConflictError,
 *   409) unless `force`, which moves the field to the applier.
 * - Ordinary writes (create/update/patch) record an 'Update' entry with
 *   `recordUpdate`, which also takes changed fields away from other managers.
 *
 * managedFields never take part in the diffs.
 */
import { ApplyConflictError, PatchError, type ApplyConflict } from './errors.js';
import { asJsonValue, cloneJson, getMember, isJsonObject, jsonEqual, setMember, type JsonObject, type JsonValue } from './json.js';
import {
  diffFieldSets,
  FieldSet,
  fieldSetOf,
  formatPath,
  keyElement,
  listShape,
  removeAt,
  valueAt,
  type FieldPath,
  type ManagedFieldsEntry,
} from './managed-fields.js';
import { patchMetaFor, UNKNOWN_PATCH_META, type FieldPatchInfo, type PatchMeta } from './patch-meta.js';

export type { ManagedFieldsEntry } from './managed-fields.js';

export interface ApplyOptions {
  /** fieldManager of the request. */
  manager: string;
  /** `force=true`: take over conflicting fields instead of failing. */
  force: boolean;
  /** apiVersion of the request (recorded in the manager's entry; selects patch metadata). */
  apiVersion: string;
  now: Date;
  /** Patch metadata; looked up from apiVersion and the applied kind when absent (unknown kinds: every list atomic). */
  meta?: PatchMeta;
  /** Top-level fields this endpoint ignores, e.g. ['status'] on the main resource of a kind with a status subresource. */
  resetFields?: readonly string[];
}

export interface UpdateOptions {
  /** apiVersion of the request; defaults to the object's apiVersion. */
  apiVersion?: string;
  meta?: PatchMeta;
  /** 'status' for writes through the status subresource. */
  subresource?: string;
}

/** Server-side apply of `applied` onto `live` (undefined: the object is created); returns the new object with managedFields. */
export function serverSideApply(live: JsonObject | undefined, applied: JsonObject, opts: ApplyOptions): JsonObject {
  const meta = opts.meta ?? patchMetaFor(opts.apiVersion, stringField(applied, 'kind') ?? '') ?? UNKNOWN_PATCH_META;
  const config = withoutManagedFields(applied);
  for (const f of opts.resetFields ?? []) delete config[f];
  const appliedSet = fieldSetOf(config, meta);

  if (live === undefined) {
    const created = mergeApplied(undefined, config, {}, meta);
    if (!isJsonObject(created)) throw new PatchError('apply did not produce an object');
    return withManagedFields(created, [applyEntry(opts, appliedSet)]);
  }

  const liveObj = withoutManagedFields(live);
  const entries = readManagedFields(live);
  const mine = entries.findIndex((e) => e.manager === opts.manager && e.operation === 'Apply' && e.subresource === undefined);
  const prevSet = mine >= 0 ? FieldSet.fromFieldsV1(entries[mine].fieldsV1) : new FieldSet();
  const sets = entries.map((e) => FieldSet.fromFieldsV1(e.fieldsV1));

  const merged = mergeApplied(cloneJson(liveObj), config, {}, meta);
  if (!isJsonObject(merged)) throw new PatchError('apply did not produce an object');

  // Conflicts: fields this apply changes that someone else owns.
  const conflicts: { entry: number; path: FieldPath }[] = [];
  for (const path of appliedSet.leaves()) {
    if (jsonEqual(valueAt(liveObj, path), valueAt(merged, path))) continue;
    sets.forEach((s, i) => {
      if (i !== mine && s.has(path)) conflicts.push({ entry: i, path });
    });
  }
  if (conflicts.length > 0 && !opts.force) {
    throw new ApplyConflictError(conflicts.map(({ entry, path }): ApplyConflict => describe(entries[entry], path)));
  }
  for (const { entry, path } of conflicts) sets[entry].delete(path);

  // Prune what this manager applied before, no longer applies, and nobody else owns.
  let owned = appliedSet;
  sets.forEach((s, i) => {
    if (i !== mine) owned = owned.union(s);
  });
  for (const path of prevSet.difference(appliedSet)) {
    if (owned.has(path) || owned.hasDescendant(path) || isKeyOfKeptItem(path, merged)) continue;
    removeAt(merged, path);
  }

  const unchanged = jsonEqual(merged, liveObj) && conflicts.length === 0 && mine >= 0 && prevSet.equals(appliedSet);
  if (unchanged) return cloneJson(live);

  const next: ManagedFieldsEntry[] = [];
  entries.forEach((e, i) => {
    if (i === mine) next.push(applyEntry(opts, appliedSet));
    else if (sets[i].size > 0) next.push({ ...e, fieldsV1: sets[i].toFieldsV1() });
  });
  if (mine < 0) next.push(applyEntry(opts, appliedSet));
  return withManagedFields(merged, next.filter((e) => Object.keys(e.fieldsV1).length > 0));
}

/**
 * Records an ordinary write (create, update, patch) by `manager` as an
 * 'Update' managedFields entry on `updated`: the manager gains the fields
 * it changed, which other managers lose; removed fields leave every set.
 * If the client sent managedFields different from the stored ones, they
 * replace them (an empty list clears them), as in Kubernetes.
 */
export function recordUpdate(old: JsonObject | undefined, updated: JsonObject, manager: string, now: Date, opts: UpdateOptions = {}): JsonObject {
  const apiVersion = opts.apiVersion ?? stringField(updated, 'apiVersion') ?? 'v1';
  const meta = opts.meta ?? patchMetaFor(apiVersion, stringField(updated, 'kind') ?? '') ?? UNKNOWN_PATCH_META;
  const sent = managedFieldsValue(updated);
  const stored = old === undefined ? undefined : managedFieldsValue(old);
  // A fresh top level and metadata: the entries are written into them, the rest is shared with `updated`.
  const newObj = withoutManagedFields(updated, true);
  if (sent !== undefined && !jsonEqual(sent, stored)) {
    return withManagedFields(newObj, parseManagedFields(sent));
  }

  const oldObj = old === undefined ? undefined : withoutManagedFields(old);
  const { changed, removed } = oldObj === undefined ? { changed: fieldSetOf(newObj, meta, true), removed: new FieldSet() } : diffFieldSets(oldObj, newObj, meta);
  // Nothing changed: every manager keeps its entry as it is (the common no-op status write).
  if (changed.size === 0 && removed.size === 0 && old !== undefined) {
    const entries = managedFieldsValue(old);
    const md = getMember(newObj, 'metadata');
    if (entries !== undefined && isJsonObject(md)) setMember(md, 'managedFields', entries);
    return newObj;
  }

  const entries = old === undefined ? [] : readManagedFields(old);
  const isMine = (e: ManagedFieldsEntry): boolean =>
    e.manager === manager && e.operation === 'Update' && e.apiVersion === apiVersion && e.subresource === opts.subresource;
  const next: ManagedFieldsEntry[] = [];
  let found = false;
  // In place on each entry's set: changed and removed are small, the sets may not be.
  for (const e of entries) {
    const set = FieldSet.fromFieldsV1(e.fieldsV1);
    if (isMine(e)) {
      found = true;
      set.addAll(changed);
      set.removeAll(removed);
      if (set.size > 0) next.push({ ...e, time: changed.size > 0 ? rfc3339(now) : e.time, fieldsV1: set.toFieldsV1() });
    } else {
      const lost = set.removeAll(changed) + set.removeAll(removed);
      if (lost === 0) next.push(e);
      else if (set.size > 0) next.push({ ...e, fieldsV1: set.toFieldsV1() });
    }
  }
  if (!found && changed.size > 0) {
    next.push({
      manager,
      operation: 'Update',
      apiVersion,
      time: rfc3339(now),
      fieldsType: 'FieldsV1',
      fieldsV1: changed.toFieldsV1(),
      ...(opts.subresource === undefined ? {} : { subresource: opts.subresource }),
    });
  }
  return withManagedFields(newObj, next);
}

/** The managedFields entries of an object (PatchError 400 when malformed). */
export function readManagedFields(obj: JsonObject): ManagedFieldsEntry[] {
  const v = managedFieldsValue(obj);
  return v === undefined ? [] : parseManagedFields(v);
}

/** Validates a `metadata.managedFields` value. */
export function parseManagedFields(value: JsonValue): ManagedFieldsEntry[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new PatchError('metadata.managedFields must be a list', 400);
  return value.map((raw, i) => {
    const bad = (why: string): PatchError => new PatchError(`metadata.managedFields[${i}]: ${why}`, 400);
    if (!isJsonObject(raw)) throw bad('not an object');
    const manager = getMember(raw, 'manager');
    const operation = getMember(raw, 'operation');
    const apiVersion = getMember(raw, 'apiVersion');
    const time = getMember(raw, 'time');
    const fieldsType = getMember(raw, 'fieldsType');
    const fieldsV1 = getMember(raw, 'fieldsV1') ?? {};
    const subresource = getMember(raw, 'subresource');
    if (typeof manager !== 'string') throw bad('manager must be a string');
    if (operation !== 'Apply' && operation !== 'Update') throw bad('operation must be Apply or Update');
    if (typeof apiVersion !== 'string') throw bad('apiVersion must be a string');
    if (fieldsType !== undefined && fieldsType !== 'FieldsV1') throw bad('fieldsType must be FieldsV1');
    if (!isJsonObject(fieldsV1)) throw bad('fieldsV1 must be an object');
    FieldSet.fromFieldsV1(fieldsV1); // validates the keys
    const entry: ManagedFieldsEntry = { manager, operation, apiVersion, fieldsType: 'FieldsV1', fieldsV1 };
    if (typeof time === 'string') entry.time = time;
    if (typeof subresource === 'string' && subresource !== '') entry.subresource = subresource;
    return entry;
  });
}

/** Merges an applied configuration value into a live value (structured-merge-diff merge, applied side wins). */
function mergeApplied(live: JsonValue | undefined, cfg: JsonValue, info: FieldPatchInfo, meta: PatchMeta): JsonValue | undefined {
  if (cfg === null) return undefined;
  if (isJsonObject(cfg)) {
    const out: JsonObject = isJsonObject(live) && info.mapType !== 'atomic' ? live : {};
    for (const [k, v] of Object.entries(cfg)) {
      const r = mergeApplied(getMember(out, k), v, meta.field(k), meta.child(k));
      if (r === undefined) delete out[k];
      else setMember(out, k, r);
    }
    return out;
  }
  if (Array.isArray(cfg)) {
    const shape = listShape(info);
    const liveList = Array.isArray(live) ? live : [];
    if (shape.kind === 'set') {
      return [...liveList, ...cfg.filter((x, i) => !liveList.some((l) => jsonEqual(l, x)) && cfg.findIndex((y) => jsonEqual(x, y)) === i)];
    }
    if (shape.kind === 'keyed' && cfg.every(isJsonObject)) return mergeKeyedList(liveList, cfg, shape.keys, meta);
    return cfg.map((x) => mergeApplied(undefined, x, {}, UNKNOWN_PATCH_META) ?? null);
  }
  return cfg;
}

/** Keyed list merge: applied items in applied order, live-only items kept where they were relative to them. */
function mergeKeyedList(live: JsonValue[], cfg: JsonObject[], keys: readonly string[], meta: PatchMeta): JsonValue[] {
  const liveKeys = live.map((x) => keyElement(x, keys));
  const right: JsonValue[] = [];
  const rightKeys: string[] = [];
  for (const item of cfg) {
    const k = keyElement(item, keys) ?? '';
    if (rightKeys.includes(k)) throw new PatchError(`duplicate entries for key ${k.slice(2)} in an applied list`);
    const at = liveKeys.indexOf(k);
    const merged = mergeApplied(at >= 0 ? live[at] : undefined, item, {}, meta);
    right.push(merged ?? {});
    rightKeys.push(k);
  }
  const left = live.filter((_, i) => !rightKeys.includes(liveKeys[i] ?? ''));
  const leftKeys = left.map((x) => keyElement(x, keys));
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = liveKeys.indexOf(leftKeys[i]);
      const ri = liveKeys.indexOf(rightKeys[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** A key field (e.g. `name`) of a list item that stays: removing it would leave an item without its key. */
function isKeyOfKeptItem(path: FieldPath, obj: JsonObject): boolean {
  if (path.length < 2) return false;
  const parent = path[path.length - 2];
  const last = path[path.length - 1];
  if (!parent.startsWith('k:') || !last.startsWith('f:')) return false;
  let key: JsonValue | undefined;
  try {
    key = asJsonValue(JSON.parse(parent.slice(2)));
  } catch {
    return false;
  }
  return isJsonObject(key) && Object.hasOwn(key, last.slice(2)) && valueAt(obj, path.slice(0, -1)) !== undefined;
}

function describe(e: ManagedFieldsEntry, path: FieldPath): ApplyConflict {
  return { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, field: formatPath(path) };
}

function applyEntry(opts: ApplyOptions, set: FieldSet): ManagedFieldsEntry {
  return {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: opts.apiVersion,
    time: rfc3339(opts.now),
    fieldsType: 'FieldsV1',
    fieldsV1: set.toFieldsV1(),
  };
}

function managedFieldsValue(obj: JsonObject): JsonValue | undefined {
  const md = getMember(obj, 'metadata');
  return isJsonObject(md) ? getMember(md, 'managedFields') : undefined;
}

/**
 * A shallow view without metadata.managedFields: shares everything else with
 * `obj`, so never mutate below its top level (nor its metadata, unless
 * `ownMetadata` asked for a copy of it).
 */
function withoutManagedFields(obj: JsonObject, ownMetadata = false): JsonObject {
  const md = getMember(obj, 'metadata');
  if (!isJsonObject(md)) return { ...obj };
  if (!Object.hasOwn(md, 'managedFields')) return ownMetadata ? { ...obj, metadata: { ...md } } : { ...obj };
  const metadata: JsonObject = {};
  for (const [k, v] of Object.entries(md)) if (k !== 'managedFields') setMember(metadata, k, v);
  return { ...obj, metadata };
}

/** Sets metadata.managedFields (removed when there are no entries). */
function withManagedFields(obj: JsonObject, entries: ManagedFieldsEntry[]): JsonObject {
  const md = getMember(obj, 'metadata');
  const metadata: JsonObject = isJsonObject(md) ? md : {};
  if (entries.length === 0) delete metadata.managedFields;
  else metadata.managedFields = entries.map(entryJson);
  if (isJsonObject(md) || entries.length > 0) obj.metadata = metadata;
  return obj;
}

function entryJson(e: ManagedFieldsEntry): JsonObject {
  const out: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
  if (e.time !== undefined) out.time = e.time;
  out.fieldsType = e.fieldsType;
  out.fieldsV1 = cloneJson(e.fieldsV1);
  if (e.subresource !== undefined) out.subresource = e.subresource;
  return out;
}

function stringField(obj: JsonObject, name: string): string | undefined {
  const v = getMember(obj, name);
  return typeof v === 'string' ? v : undefined;
}

/** Kubernetes metav1.Time format: RFC 3339 in UTC, whole seconds. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
