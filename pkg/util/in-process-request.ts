/**
 * A light Request for calls made inside the server process (the
 * in-process transport into the API's own fetch handler). A real Request
 * costs an AbortController (Node makes every AbortSignal transferable, which
 * is slow) and a ReadableStream for the body, on the write path of every
 * controller and the scheduler. This object has the Request prototype and
 * own url, method, headers, signal and a null body, which is all the router and the
 * handlers read; the body travels beside it (inProcessBody), and the API's
 * body reader looks there first. @hono/node-server builds its requests the
 * same way. Anything else a handler might read (clone(), arrayBuffer()…)
 * hits the prototype's brand check and throws: streams (watch, logs) use
 * real Requests.
 */

const bodies = new WeakMap<object, string>();
// Requests made here are never aborted: one signal for all of them.
const NEVER_ABORTED = new AbortController().signal;

/** A Request-shaped object for the in-process fetch handler, its body kept beside it. */
export function inProcessRequest(url: string, method: string, headers: Record<string, string>, body?: string): Request {
  const req: Request = Object.create(Request.prototype, {
    url: { value: url, enumerable: true },
    method: { value: method.toUpperCase(), enumerable: true },
    headers: { value: new Headers(headers), enumerable: true },
    signal: { value: NEVER_ABORTED, enumerable: true },
    // The body is beside it (inProcessBody), never a stream.
    body: { value: null, enumerable: true },
  });
  if (body !== undefined) bodies.set(req, body);
  return req;
}

/** The body of an inProcessRequest; undefined for any other request (or one without a body). */
export function inProcessBody(req: Request): string | undefined {
  return bodies.get(req);
}
