/** The credential transport renews its credential once on 401 and retries. */
import t from 'tap';
import type { Transport, TransportResponse } from '../../pkg/client/transport.js';
import { credentialTransport } from '../../pkg/agent/transport.js';

function response(status: number): TransportResponse {
  return {
    status,
    headers: new Headers(),
    text: async () => '',
    json: async () => undefined,
    lines: async function* () {},
    discard: async () => undefined,
  };
}

/** A fake server that accepts only `valid.current`. */
function fakeServer(valid: { current: string }): { make: (c: string) => Transport; sent: string[]; closed: string[] } {
  const sent: string[] = [];
  const closed: string[] = [];
  return {
    sent,
    closed,
    make: (credential) => ({
      async request() {
        sent.push(credential);
        await new Promise((r) => setImmediate(r));
        return response(credential === valid.current ? 200 : 401);
      },
      async close() {
        closed.push(credential);
      },
    }),
  };
}

t.test('a rejected credential is renewed once for concurrent requests', async (t) => {
  const valid = { current: 'new' };
  const srv = fakeServer(valid);
  let renewals = 0;
  const tr = credentialTransport({ make: srv.make, credential: 'old', renew: async () => (renewals++, 'new') });
  const statuses = await Promise.all([1, 2, 3].map(() => tr.request('GET', '/api/v1/nodes').then((r) => r.status)));
  t.same(statuses, [200, 200, 200]);
  t.equal(renewals, 1, 'one join for three rejected requests');
  t.same(srv.closed, ['old'], 'the old transport was closed');
  await tr.close();
});

t.test('a renewal that fails rejects the request with its error', async (t) => {
  const srv = fakeServer({ current: 'never' });
  const tr = credentialTransport({ make: srv.make, credential: 'old', renew: async () => Promise.reject(new Error('name taken')) });
  await t.rejects(tr.request('GET', '/x'), { message: 'name taken' });
  await tr.close();
});

t.test('a good credential is never renewed', async (t) => {
  const srv = fakeServer({ current: 'ok' });
  const tr = credentialTransport({ make: srv.make, credential: 'ok', renew: async () => t.fail('renewed') as never });
  t.equal((await tr.request('GET', '/x')).status, 200);
  await tr.close();
});
