/**
 * Decoding of Kubernetes protobuf request bodies
 * (`application/vnd.kubernetes.protobuf`) into the plain object the JSON
 * encoding of the same value would be. kubectl's typed commands
 * (`create secret`, `create deployment`, drain's eviction, ...) send these.
 */
import { KINDS, MESSAGES } from './tables.js';
import type { FieldSpec } from './types.js';
import { int64Of, ProtobufError, Reader, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './wire.js';

export { ProtobufError } from './wire.js';

/** The media type of Kubernetes' protobuf encoding. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** `k8s\0`: the prefix of every Kubernetes protobuf envelope. */
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/**
 * Decodes a Kubernetes protobuf envelope (magic + runtime.Unknown) into the
 * JSON form of the object, `apiVersion`/`kind` included.
 */
export function decodeKubeProtobuf(bytes: Uint8Array): unknown {
  return decodeEnvelope(bytes);
}

function decodeEnvelope(bytes: Uint8Array): Json {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ProtobufError('the body is not a Kubernetes protobuf message: it does not start with "k8s\\x00"');
  }
  const r = new Reader(bytes, MAGIC.length);
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  let contentType = '';
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === WIRE_LEN) {
      const tm = r.bytes();
      const tr = new Reader(tm);
      while (!tr.done()) {
        const [f, w] = tr.tag();
        if (f === 1 && w === WIRE_LEN) apiVersion = tr.string();
        else if (f === 2 && w === WIRE_LEN) kind = tr.string();
        else tr.skip(w);
      }
    } else if (field === 2 && wt === WIRE_LEN) raw = r.bytes();
    else if (field === 3 && wt === WIRE_LEN) contentEncoding = r.string();
    else if (field === 4 && wt === WIRE_LEN) contentType = r.string();
    else r.skip(wt);
  }
  if (contentEncoding !== '') throw new ProtobufError(`unsupported protobuf contentEncoding "${contentEncoding}"`);
  if (kind === '') throw new ProtobufError('the protobuf envelope has no kind');
  if (contentType !== '' && contentType !== PROTOBUF_MEDIA_TYPE) {
    if (contentType === 'application/json') return parseJson(raw, `${kind} in a protobuf envelope`);
    throw new ProtobufError(`unsupported protobuf contentType "${contentType}"`);
  }
  // DeleteOptions travels under whatever group version the request is for.
  const message = KINDS[`${apiVersion}/${kind}`] ?? (kind === 'DeleteOptions' ? 'DeleteOptions' : undefined);
  if (!message) throw new ProtobufError(`no protobuf decoding for apiVersion "${apiVersion}", kind "${kind}"; send it as application/json`);
  return { apiVersion, kind, ...decodeMessage(new Reader(raw), message) };
}

function decodeMessage(r: Reader, name: string): JsonObject {
  const table = MESSAGES[name];
  if (!table) throw new ProtobufError(`internal: no protobuf table for message ${name}`);
  const out: JsonObject = {};
  while (!r.done()) {
    const [field, wt] = r.tag();
    const spec = table[field];
    if (spec) decodeField(r, wt, spec, out, name);
    else r.skip(wt);
  }
  return out;
}

function isPackable(type: string): boolean {
  return type === 'b' || type === 'i32' || type === 'i64' || type === 'f64' || type === 'f32';
}

function decodeField(r: Reader, wt: number, spec: FieldSpec, out: JsonObject, msg: string): void {
  const [json, type, flags = ''] = spec;
  if (type.startsWith('map:')) {
    expectWire(wt, WIRE_LEN, msg, json);
    const [key, value] = decodeMapEntry(r, type.slice(4), msg, json);
    const m = out[json];
    const map: JsonObject = m !== null && typeof m === 'object' && !Array.isArray(m) ? m : {};
    map[key] = value;
    out[json] = map;
    return;
  }
  if (flags.includes('r')) {
    const a = out[json];
    const arr: Json[] = Array.isArray(a) ? a : [];
    out[json] = arr;
    if (wt === WIRE_LEN && isPackable(type)) {
      const [s, e] = r.lenDelimited();
      const pr = new Reader(r.buf, s, e);
      while (!pr.done()) arr.push(decodeValue(pr, packedWire(type), type, msg, json));
    } else arr.push(decodeValue(r, wt, type, msg, json));
    return;
  }
  const v = decodeValue(r, wt, type, msg, json);
  if (json === '') {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtobufError(`internal: inlined field of ${msg} is not a message`);
    Object.assign(out, v);
    return;
  }
  if (flags.includes('z') && (v === '' || v === 0 || v === false)) return;
  out[json] = v;
}

function packedWire(type: string): number {
  if (type === 'f64') return WIRE_FIXED64;
  if (type === 'f32') return WIRE_FIXED32;
  return WIRE_VARINT;
}

function expectWire(wt: number, want: number, msg: string, json: string): void {
  if (wt !== want) throw new ProtobufError(`malformed protobuf data: field ${msg}.${json || '(inline)'} has wire type ${wt}, expected ${want}`);
}

function decodeValue(r: Reader, wt: number, type: string, msg: string, json: string): Json {
  switch (type) {
    case 's':
      expectWire(wt, WIRE_LEN, msg, json);
      return r.string();
    case 'y':
      expectWire(wt, WIRE_LEN, msg, json);
      return Buffer.from(r.bytes()).toString('base64');
    case 'b':
      expectWire(wt, WIRE_VARINT, msg, json);
      return r.bool();
    case 'i32':
      expectWire(wt, WIRE_VARINT, msg, json);
      return r.int32();
    case 'i64':
      expectWire(wt, WIRE_VARINT, msg, json);
      return r.int64();
    case 'f64':
      expectWire(wt, WIRE_FIXED64, msg, json);
      return r.double();
    case 'f32':
      expectWire(wt, WIRE_FIXED32, msg, json);
      return r.float();
  }
  expectWire(wt, WIRE_LEN, msg, json);
  const [s, e] = r.lenDelimited();
  const sub = new Reader(r.buf, s, e);
  switch (type) {
    case 'Time':
      return decodeTime(sub, false);
    case 'MicroTime':
      return decodeTime(sub, true);
    case 'Duration':
      return decodeDuration(sub);
    case 'Quantity':
      return decodeQuantity(sub);
    case 'IntOrString':
      return decodeIntOrString(sub);
    case 'RawExtension':
    case 'FieldsV1':
      return decodeRawJson(sub, type);
  }
  return decodeMessage(sub, type);
}

function decodeMapEntry(r: Reader, valueType: string, msg: string, json: string): [string, Json] {
  const [s, e] = r.lenDelimited();
  const er = new Reader(r.buf, s, e);
  let key = '';
  let value: Json | undefined;
  while (!er.done()) {
    const [f, w] = er.tag();
    if (f === 1) {
      expectWire(w, WIRE_LEN, msg, `${json} key`);
      key = er.string();
    } else if (f === 2) value = decodeValue(er, w, valueType, msg, json);
    else er.skip(w);
  }
  return [key, value ?? zeroOf(valueType)];
}

/** What an absent map value means in JSON (the Go zero value's encoding). */
function zeroOf(type: string): Json {
  switch (type) {
    case 's':
    case 'y':
      return '';
    case 'b':
      return false;
    case 'i32':
    case 'i64':
    case 'f64':
    case 'f32':
      return 0;
    case 'Quantity':
      return '0';
    case 'IntOrString':
      return 0;
    case 'Time':
    case 'MicroTime':
    case 'RawExtension':
    case 'FieldsV1':
      return null;
    case 'Duration':
      return '0s';
  }
  return {};
}

/** Reads the varint/length fields 1..n of a small well-known message. */
function scalarFields(r: Reader, what: string): Map<number, { varint?: [number, number]; bytes?: Uint8Array }> {
  const m = new Map<number, { varint?: [number, number]; bytes?: Uint8Array }>();
  while (!r.done()) {
    const [f, w] = r.tag();
    if (w === WIRE_VARINT) m.set(f, { varint: r.varint64() });
    else if (w === WIRE_LEN) m.set(f, { bytes: r.bytes() });
    else if (w === WIRE_FIXED32 || w === WIRE_FIXED64) r.skip(w);
    else throw new ProtobufError(`malformed protobuf data in ${what}: wire type ${w}`);
  }
  return m;
}

/**
 * metav1.Time / MicroTime ({1: seconds, 2: nanos}) as their JSON strings:
 * RFC 3339 in UTC, whole seconds or exactly six fractional digits. An empty
 * message is Go's zero time, which JSON encodes as null.
 */
function decodeTime(r: Reader, micro: boolean): Json {
  if (r.done()) return null;
  const f = scalarFields(r, micro ? 'MicroTime' : 'Time');
  const seconds = int64Of(f.get(1)?.varint ?? [0, 0]);
  const nanos = (f.get(2)?.varint?.[0] ?? 0) | 0;
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new ProtobufError(`time out of range: ${seconds} seconds`);
  const base = d.toISOString().slice(0, 19);
  if (!micro) return `${base}Z`;
  return `${base}.${String(Math.floor(Math.max(0, nanos) / 1000)).padStart(6, '0')}Z`;
}

/** metav1.Duration ({1: nanoseconds}) as Go's time.Duration.String(), its JSON form. */
function decodeDuration(r: Reader): Json {
  const f = scalarFields(r, 'Duration');
  return formatGoDuration(int64Of(f.get(1)?.varint ?? [0, 0]));
}

/** Go's time.Duration.String() for a nanosecond count. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let s: string;
  if (u < 1e9) {
    // Sub-second: the largest unit among ns, µs, ms, with a fraction.
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    s = fraction(u, div) + unit;
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    s = `${fraction(u, 1e9)}s`;
    if (h > 0 || m > 0) s = `${m}m${s}`;
    if (h > 0) s = `${h}h${s}`;
  }
  return neg ? `-${s}` : s;
}

function fraction(v: number, div: number): string {
  const whole = Math.floor(v / div);
  const rest = v - whole * div;
  if (rest === 0) return String(whole);
  const digits = String(div).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

/** resource.Quantity ({1: string}) is its string in JSON. */
function decodeQuantity(r: Reader): Json {
  const b = scalarFields(r, 'Quantity').get(1)?.bytes;
  return b ? Buffer.from(b).toString('utf8') : '0';
}

/** intstr.IntOrString ({1: type, 2: intVal, 3: strVal}): a number or a string. */
function decodeIntOrString(r: Reader): Json {
  const f = scalarFields(r, 'IntOrString');
  const type = f.get(1)?.varint?.[0] ?? 0;
  if (type === 1) {
    const b = f.get(3)?.bytes;
    return b ? Buffer.from(b).toString('utf8') : '';
  }
  return (f.get(2)?.varint?.[0] ?? 0) | 0;
}

/** runtime.RawExtension and metav1.FieldsV1 ({1: raw}) carry JSON (or, for RawExtension, a nested envelope). */
function decodeRawJson(r: Reader, what: string): Json {
  const raw = scalarFields(r, what).get(1)?.bytes;
  if (!raw || raw.length === 0) return null;
  if (what === 'RawExtension' && MAGIC.every((b, i) => raw[i] === b)) {
    return decodeEnvelope(raw);
  }
  return parseJson(raw, what);
}

function parseJson(raw: Uint8Array, what: string): Json {
  try {
    // JSON.parse yields JSON values only.
    const v: Json = JSON.parse(Buffer.from(raw).toString('utf8'));
    return v;
  } catch (e) {
    throw new ProtobufError(`${what} does not hold valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
