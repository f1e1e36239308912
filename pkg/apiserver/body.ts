/**
 * Request bodies: a size cap enforced while reading (3 MiB, as Kubernetes),
 * and decoding of JSON, YAML or Kubernetes protobuf into plain data with
 * Kubernetes' messages.
 */
import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { errors } from './errors.js';
import { inProcessBody } from '../util/in-process-request.js';
import { decodeKubeProtobuf, PROTOBUF_MEDIA_TYPE, ProtobufError } from './protobuf/decode.js';

export { PROTOBUF_MEDIA_TYPE } from './protobuf/decode.js';

/** Kubernetes' maximum request body size. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the body as text, refusing more than `limit` bytes without buffering them all. */
export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<string> {
  return Buffer.from(await readBodyBytes(req, limit)).toString('utf8');
}

/** Reads the body as bytes, refusing more than `limit` bytes without buffering them all. */
export async function readBodyBytes(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const inProcess = inProcessBody(req);
  if (inProcess !== undefined) {
    const bytes = Buffer.from(inProcess, 'utf8');
    if (bytes.byteLength > limit) throw errors.tooLarge(limit);
    return bytes;
  }
  // Leaving the loop early cancels the stream.
  return collectLimited(req.headers.get('content-length'), req.body ?? [], limit);
}

/** Gathers the chunks of a body, refusing more than `limit` bytes (declared, or counted while reading) without buffering them all. */
async function collectLimited(contentLength: string | null | undefined, chunks: AsyncIterable<unknown> | Iterable<unknown>, limit: number): Promise<Uint8Array> {
  const declared = Number(contentLength ?? '');
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge(limit);
  const out: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    const bytes = chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk));
    total += bytes.byteLength;
    if (total > limit) throw errors.tooLarge(limit);
    out.push(bytes);
  }
  return Buffer.concat(out);
}

/** The Node request behind a hono context served by @hono/node-server (c.env.incoming), if any. */
function incomingOf(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return env.incoming instanceof IncomingMessage ? env.incoming : undefined;
}

/**
 * The request body of a handler's context. Over HTTPS it is read from the
 * Node request itself: going through c.req.raw makes @hono/node-server build
 * a whole web Request (AbortController, web stream) just to hand the bytes on.
 */
export async function requestBodyBytes(c: Context, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const incoming = incomingOf(c);
  // destroyOnReturn false: refusing a body must not destroy the socket the 413 goes out on (Node drains the rest).
  return incoming ? collectLimited(incoming.headers['content-length'], incoming.iterator({ destroyOnReturn: false }), limit) : readBodyBytes(c.req.raw, limit);
}

/** requestBodyBytes as UTF-8 text. */
export async function requestBody(c: Context, limit = MAX_BODY_BYTES): Promise<string> {
  return Buffer.from(await requestBodyBytes(c, limit)).toString('utf8');
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function isYaml(type: string): boolean {
  return type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml' || type === 'application/x-yaml';
}

/**
 * Bodies nested deeper than this are refused. Real objects are a few dozen
 * levels deep; the handlers walk values recursively, and a hostile body
 * 20 000 levels deep would otherwise overflow the stack (a 500).
 */
export const MAX_NESTING_DEPTH = 1000;

/** Throws a 400 when `value` nests deeper than MAX_NESTING_DEPTH; iterative, so it cannot overflow itself. */
function refuseDeepNesting(value: unknown): unknown {
  const pending: { v: object; depth: number }[] = value !== null && typeof value === 'object' ? [{ v: value, depth: 1 }] : [];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.depth > MAX_NESTING_DEPTH) throw errors.badRequest(`the body of the request is nested more than ${MAX_NESTING_DEPTH} levels deep`);
    for (const child of Object.values(next.v)) {
      if (child !== null && typeof child === 'object') pending.push({ v: child, depth: next.depth + 1 });
    }
  }
  return value;
}

async function decodeYaml(text: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  try {
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) throw errors.badRequest(`error converting YAML to JSON: yaml: ${doc.errors[0].message}`);
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml package signals an alias bomb with a ReferenceError, and its
    // composer recurses, so very deep input ends in a RangeError: both are
    // the client's input, not a server fault.
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw errors.badRequest('error converting YAML to JSON: yaml: document contains excessive aliasing');
    }
    if (e instanceof RangeError) throw errors.badRequest(`error converting YAML to JSON: yaml: nested more than ${MAX_NESTING_DEPTH} levels deep`);
    throw e;
  }
}

/** Parses a JSON or YAML body; malformed input is a 400 that says where. */
export async function decodeBody(text: string, contentType: string): Promise<unknown> {
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (isYaml(contentType) && !text.trimStart().startsWith('{')) return refuseDeepNesting(await decodeYaml(text));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${why}`);
  }
  return refuseDeepNesting(parsed);
}

/** True when a body has nothing but whitespace (an absent optional body). */
export function isBlankBody(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09);
}

/**
 * Decodes an object body by media type: Kubernetes protobuf (what kubectl's
 * typed commands send), else JSON or YAML as `decodeBody`.
 */
export async function decodeObjectBody(bytes: Uint8Array, contentType: string): Promise<unknown> {
  if (contentType !== PROTOBUF_MEDIA_TYPE) return decodeBody(Buffer.from(bytes).toString('utf8'), contentType);
  if (bytes.length === 0) throw errors.badRequest('the body of the request was empty');
  try {
    return refuseDeepNesting(decodeKubeProtobuf(bytes));
  } catch (e) {
    if (e instanceof ProtobufError) throw errors.badRequest(e.message);
    throw e;
  }
}
