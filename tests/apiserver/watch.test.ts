import t from 'tap';
import { startTestApi, type TestApi } from '../helpers/apiserver.js';

interface WireEvent {
  type: string;
  object: { kind?: string; metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; rows?: { cells: unknown[] }[]; columnDefinitions?: unknown; code?: number; reason?: string };
}

/** Opens a watch and collects its events until `stop` (or the stream ends). */
async function watch(s: TestApi, path: string, headers: Record<string, string> = {}) {
  const res = await s.call('GET', path, undefined, headers);
  const events: WireEvent[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  let ended = false;
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, nl)) as WireEvent);
        buf = buf.slice(nl + 1);
      }
    }
    ended = true;
  })();
  return {
    res,
    events,
    ended: () => ended,
    async until(cond: (e: WireEvent[]) => boolean, ms = 5000) {
      const start = Date.now();
      while (!cond(events)) {
        if (Date.now() - start > ms) throw new Error(`timed out; events: ${JSON.stringify(events.map((e) => [e.type, e.object.metadata?.name]))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async stop() {
      await reader.cancel();
      await done;
    },
  };
}

const cm = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels } });

t.test('watch from a resourceVersion replays history then streams, in order', async (t) => {
  const s = await startTestApi({ sqlite: true });
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const rv = (await s.json('GET', base)).body.metadata.resourceVersion;
  await s.json('POST', base, cm('a'));
  const w = await watch(s, `${base}?watch=true&resourceVersion=${rv}`);
  t.equal(w.res.headers.get('content-type'), 'application/json');
  await w.until((e) => e.length === 1);
  const a = (await s.json('PATCH', `${base}/a`, { data: { x: '1' } }, { 'content-type': 'application/merge-patch+json' })).body;
  await s.json('DELETE', `${base}/a`);
  await w.until((e) => e.length === 3);
  t.same(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'MODIFIED a', 'DELETED a']);
  t.equal(w.events[1].object.metadata.resourceVersion, a.metadata.resourceVersion);
  const revs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
  t.ok(revs[0] < revs[1] && revs[1] < revs[2], 'resourceVersions increase');
  await w.stop();
});

t.test('watch without a resourceVersion starts with the current state', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  await s.json('POST', base, cm('x'));
  await s.json('POST', base, cm('y'));
  const w = await watch(s, `${base}?watch=1`);
  await w.until((e) => e.length === 2);
  t.same(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED x', 'ADDED y']);
  await w.stop();

  const w2 = await watch(s, `${base}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
  await w2.until((e) => e.some((x) => x.type === 'BOOKMARK'));
  const bookmark = w2.events.find((e) => e.type === 'BOOKMARK')!;
  t.equal(bookmark.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
  t.equal(bookmark.object.kind, 'ConfigMap');
  await w2.stop();
});

t.test('selectors: an object that stops matching is DELETED for the watcher', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const w = await watch(s, `${base}?watch=true&labelSelector=team%3Dblue&resourceVersion=${s.backend.currentRevision()}`);
  await s.json('POST', base, cm('m', { team: 'red' }));
  await s.json('PATCH', `${base}/m`, { metadata: { labels: { team: 'blue' } } }, { 'content-type': 'application/merge-patch+json' });
  await s.json('PATCH', `${base}/m`, { data: { k: 'v' } }, { 'content-type': 'application/merge-patch+json' });
  await s.json('PATCH', `${base}/m`, { metadata: { labels: { team: 'red' } } }, { 'content-type': 'application/merge-patch+json' });
  await w.until((e) => e.length === 3);
  t.same(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
  await w.stop();

  const byName = await watch(s, `${base}?watch=true&fieldSelector=metadata.name%3Dn&resourceVersion=${s.backend.currentRevision()}`);
  await s.json('POST', base, cm('other'));
  await s.json('POST', base, cm('n'));
  await byName.until((e) => e.length === 1);
  t.equal(byName.events[0].object.metadata.name, 'n');
  await byName.stop();
});

t.test('bookmarks, timeoutSeconds, and 410 Expired after compaction', async (t) => {
  const s = await startTestApi({ sqlite: true, bookmarkIntervalMs: 50 });
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const w = await watch(s, `${base}?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${s.backend.currentRevision()}`);
  await w.until((e) => e.some((x) => x.type === 'BOOKMARK'));
  t.match(w.events.find((e) => e.type === 'BOOKMARK')!.object, { kind: 'ConfigMap', metadata: { resourceVersion: /^\d+$/ } });
  await w.until(() => w.ended(), 3000);
  t.pass('the watch ended at timeoutSeconds');

  const old = s.backend.currentRevision();
  for (let i = 0; i < 5; i++) await s.json('POST', base, cm(`c${i}`));
  await s.backend.compact(s.backend.currentRevision() - 1);
  const expired = await watch(s, `${base}?watch=true&resourceVersion=${old}`);
  await expired.until((e) => e.length === 1);
  t.equal(expired.events[0].type, 'ERROR');
  t.match(expired.events[0].object, { kind: 'Status', code: 410, reason: 'Expired' });
  await expired.until(() => expired.ended());
  const listOld = await s.json('GET', `${base}?resourceVersion=${old}&resourceVersionMatch=Exact`);
  t.equal(listOld.status, 410, 'an exact list from before compaction is Expired');
});

t.test('Table watch (kubectl get -w): the first event carries the columns', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/configmaps';
  const w = await watch(s, `${base}?watch=true&resourceVersion=${s.backend.currentRevision()}`, {
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
  });
  await s.json('POST', base, cm('t1'));
  await s.json('POST', base, cm('t2'));
  await w.until((e) => e.length === 2);
  t.equal(w.events[0].object.kind, 'Table');
  t.ok(Array.isArray(w.events[0].object.columnDefinitions), 'first event has columns');
  t.equal(w.events[1].object.columnDefinitions, null, 'later events do not');
  t.equal(w.events[1].object.rows?.[0].cells[0], 't2');
  await w.stop();
});
