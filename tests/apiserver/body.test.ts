/**
 * Where request bodies come from: a light in-process request carries its
 * body beside it; over a Node server the body is read from the Node request
 * itself (c.env.incoming), with the same size cap.
 */
import t from 'tap';
import { createServer, request, type Server } from 'node:http';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { readBodyBytes, requestBody } from '../../pkg/apiserver/body.js';
import { ApiError } from '../../pkg/apiserver/errors.js';
import { inProcessBody, inProcessRequest } from '../../pkg/util/in-process-request.js';

t.test('a light in-process request: url, method, headers, body beside it', async (t) => {
  const req = inProcessRequest('http://in-process/api/v1/namespaces', 'post', { 'content-type': 'application/json' }, '{"a":1}');
  t.ok(req instanceof Request, 'a Request by prototype');
  t.equal(req.url, 'http://in-process/api/v1/namespaces');
  t.equal(req.method, 'POST');
  t.equal(req.headers.get('content-type'), 'application/json');
  t.equal(req.signal.aborted, false);
  t.equal(inProcessBody(req), '{"a":1}');
  t.equal(Buffer.from(await readBodyBytes(req)).toString(), '{"a":1}', 'the API reads it');
  const capped = await readBodyBytes(req, 3).then(() => undefined, (e: unknown) => e);
  t.ok(capped instanceof ApiError && capped.code === 413, 'the size cap holds');
  const none = inProcessRequest('http://in-process/x', 'GET', {});
  t.equal(inProcessBody(none), undefined);
  t.same(await readBodyBytes(none), new Uint8Array(0), 'no body: empty');
  t.equal(inProcessBody(new Request('http://x/', { method: 'POST', body: 'b' })), undefined, 'a real Request has none beside it');
});

t.test('over a Node server the body is read from the Node request, capped', async (t) => {
  const app = new Hono();
  let sawRaw = false;
  app.post('/echo', async (c) => {
    try {
      const body = await requestBody(c, 1024);
      return c.text(body);
    } catch (e) {
      if (e instanceof ApiError) return c.text(e.reason, e.code === 413 ? 413 : 500);
      throw e;
    }
  });
  app.get('/raw', (c) => {
    sawRaw = c.req.raw instanceof Request;
    return c.text('ok');
  });
  const server: Server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const post = (body: string, chunked = false): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', headers: chunked ? {} : { 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      // Chunked: no content-length, so the cap must hold while reading.
      if (chunked) for (let i = 0; i < body.length; i += 256) req.write(body.slice(i, i + 256));
      req.end(chunked ? undefined : body);
    });
  t.same(await post('héllo'), { status: 200, text: 'héllo' }, 'read whole, UTF-8');
  t.same(await post('x'.repeat(2000)), { status: 413, text: 'RequestEntityTooLarge' }, 'refused by its declared length');
  t.same(await post('y'.repeat(2000), true), { status: 413, text: 'RequestEntityTooLarge' }, 'refused while reading a chunked body');
  t.same(await post('z'.repeat(1000), true), { status: 200, text: 'z'.repeat(1000) }, 'a chunked body under the cap');
  await new Promise<void>((resolve, reject) => request({ host: '127.0.0.1', port, path: '/raw' }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
  t.ok(sawRaw, 'c.req.raw still works for handlers that want it');
});
