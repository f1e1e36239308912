/**
 * Request bodies: a size cap enforced while reading (3 MiB, as Kubernetes),
 * and decoding of JSON or YAML into plain data with Kubernetes' messages.
 */
import { errors } from './errors.js';

/** Kubernetes' maximum request body size. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the body, refusing more than `limit` bytes without buffering them all. */
export async function readBody(req: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) throw errors.tooLarge(limit);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw errors.tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function isYaml(type: string): boolean {
  return type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml' || type === 'application/x-yaml';
}

/** Parses a JSON or YAML body; malformed input is a 400 that says where. */
export async function decodeBody(text: string, contentType: string): Promise<unknown> {
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (isYaml(contentType) && !text.trimStart().startsWith('{')) {
    const { parseDocument } = await import('yaml');
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length > 0) throw errors.badRequest(`error converting YAML to JSON: yaml: ${doc.errors[0].message}`);
    return doc.toJS({ maxAliasCount: 100 });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${why}`);
  }
}
