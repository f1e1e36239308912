/**
 * The HTTPS transport against the built `orch server` (run `npm run build`
 * first): CA-verified TLS, token auth, CRUD, a streamed watch and an
 * informer over real sockets; a server signed by another CA is refused.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { Client, type WatchEvent } from '../../pkg/client/client.js';
import { httpsTransport } from '../../pkg/client/transport.js';
import { isNotFound } from '../../pkg/client/errors.js';
import { Informer, keyOf } from '../../pkg/client/informer.js';
import { ensureServerTls } from '../../pkg/server/tls.js';

t.test('httpsTransport: CRUD, watch and informer against orch server', async (t) => {
  const s = await startServerProcess();
  t.teardown(async () => {
    await s.stop();
  });
  const ca = readFileSync(join(s.dataDir, 'server/tls/server-ca.crt'), 'utf8');
  const token = readFileSync(join(s.dataDir, 'server/cred/admin.token'), 'utf8').trim();
  const transport = httpsTransport({ server: `https://127.0.0.1:${s.port}`, ca, token });
  t.teardown(() => transport.close());
  const client = new Client(transport);

  const namespaces = await client.resource('namespaces').list();
  t.ok(namespaces.items.some((n) => n.metadata?.name === 'kube-system'));

  const cms = client.resource('configmaps').namespace('default');
  const ac = new AbortController();
  const w = await cms.watch({ resourceVersion: (await cms.list()).metadata.resourceVersion, signal: ac.signal, timeoutSeconds: 60 });
  const seen: WatchEvent<ConfigMap>[] = [];
  const reading = (async () => {
    for await (const ev of w) {
      seen.push(ev);
      if (ev.type === 'DELETED') ac.abort();
    }
  })();

  const inf = new Informer(client.resource('configmaps'), { namespace: 'default' });
  const keys: string[] = [];
  inf.addEventHandler({ onAdd: (o) => keys.push(keyOf(o)) });
  inf.start();
  t.teardown(() => inf.stop());
  await inf.waitForSync();

  await cms.create({ metadata: { name: 'over-tls' }, data: { a: '1' } });
  t.same((await cms.patch('over-tls', 'merge', { data: { a: '2' } })).data, { a: '2' });
  await waitFor(() => keys.includes('default/over-tls'), 10_000, 'informer add over HTTPS');
  await cms.delete('over-tls');
  await reading;
  t.same(
    seen.map((e) => e.type),
    ['ADDED', 'MODIFIED', 'DELETED'],
    'the watch streamed every change and ended on abort',
  );
  await t.rejects(cms.get('over-tls'), { code: 404 });
  try {
    await cms.get('over-tls');
  } catch (e) {
    t.ok(isNotFound(e), 'errors are ApiStatusError over HTTPS too');
  }

  // Another CA: the TLS handshake fails; nothing is sent.
  const otherDir = mkdtempSync(join(tmpdir(), 'orch-otherca-'));
  t.teardown(() => rmSync(otherDir, { recursive: true, force: true }));
  const other = await ensureServerTls({ dataDir: otherDir });
  const untrusted = httpsTransport({ server: `https://127.0.0.1:${s.port}`, ca: other.caCertPem, token });
  t.teardown(() => untrusted.close());
  await t.rejects(new Client(untrusted).resource('namespaces').list(), /certificate|self[- ]signed|verify/i);
  t.throws(() => httpsTransport({ server: `http://127.0.0.1:${s.port}`, ca, token }), /https/);
});
