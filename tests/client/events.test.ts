import t, { type Test } from 'tap';
import type { Event } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../helpers/apiserver.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { EventRecorder } from '../../pkg/client/events.js';

async function setup(t: Test) {
  const s = await startTestApi();
  const transport = inProcessTransport(s.api.app.fetch, TOKEN);
  t.teardown(async () => {
    await transport.close();
    await s.close();
  });
  const client = new Client(transport);
  let nowMs = Date.parse('2026-01-01T00:00:00Z');
  const clock = { advance: (ms: number) => (nowMs += ms), now: () => new Date(nowMs) };
  const events = async (name: string): Promise<Event[]> =>
    (await client.resource('events').list({ fieldSelector: `involvedObject.name=${name}` })).items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return { client, clock, events };
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', uid: 'uid-web', resourceVersion: '7' } };

t.test('repeats of one event are folded into one Event with a count', async (t) => {
  const { client, clock, events } = await setup(t);
  const rec = new EventRecorder(client, { component: 'test-controller', host: 'node-a', now: clock.now });
  rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting');
  clock.advance(1000);
  rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting');
  clock.advance(1000);
  rec.event(pod, 'Warning', 'BackOff', 'Back-off restarting');
  rec.event(pod, 'Normal', 'Pulled', 'Pulled image');
  await rec.flush();
  const evs = await events('web');
  t.equal(evs.length, 2, 'two distinct events');
  const backoff = evs.find((e) => e.reason === 'BackOff');
  t.match(backoff, {
    type: 'Warning',
    message: 'Back-off restarting',
    count: 3,
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:00:02Z',
    source: { component: 'test-controller', host: 'node-a' },
    involvedObject: { kind: 'Pod', apiVersion: 'v1', name: 'web', namespace: 'default', uid: 'uid-web' },
    metadata: { namespace: 'default' },
  });
  t.equal(evs.find((e) => e.reason === 'Pulled')?.count, 1);
});

t.test('cluster-scoped objects get events in default; a new window starts a new Event', async (t) => {
  const { client, clock, events } = await setup(t);
  const rec = new EventRecorder(client, { component: 'node-controller', now: clock.now, aggregateWindowMs: 60_000 });
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } };
  rec.event(node, 'Normal', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
  clock.advance(120_000);
  rec.event(node, 'Normal', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
  await rec.flush();
  const evs = await events('n1');
  t.equal(evs.length, 2, 'outside the window: a second Event');
  t.same(evs.map((e) => [e.metadata?.namespace, e.count, e.involvedObject.namespace]), [
    ['default', 1, undefined],
    ['default', 1, undefined],
  ]);
});

t.test('a hot loop is capped per object; tokens come back over time', async (t) => {
  const { client, clock, events } = await setup(t);
  const rec = new EventRecorder(client, { component: 'c', now: clock.now, burst: 3, refillIntervalMs: 60_000 });
  for (let i = 0; i < 50; i++) rec.event(pod, 'Warning', 'Failed', 'boom');
  await rec.flush();
  t.equal((await events('web'))[0]?.count, 3, 'only the burst is written');
  clock.advance(60_000);
  for (let i = 0; i < 5; i++) rec.event(pod, 'Warning', 'Failed', 'boom');
  await rec.flush();
  t.equal((await events('web'))[0]?.count, 4, 'one more after one refill interval');
});

t.test('an aggregated Event deleted meanwhile is written anew', async (t) => {
  const { client, clock, events } = await setup(t);
  const rec = new EventRecorder(client, { component: 'c', now: clock.now });
  rec.event(pod, 'Normal', 'Scheduled', 'assigned');
  await rec.flush();
  const [first] = await events('web');
  t.ok(first?.metadata?.name);
  await client.resource('events').namespace('default').delete(first?.metadata?.name ?? '');
  clock.advance(1000);
  rec.event(pod, 'Normal', 'Scheduled', 'assigned');
  await rec.flush();
  const after = await events('web');
  t.equal(after.length, 1);
  t.equal(after[0]?.count, 2);
});

t.test('write failures go to onError, never thrown', async (t) => {
  const failing = new Client(inProcessTransport(() => new Response('nope', { status: 500 })));
  const errors: unknown[] = [];
  const rec = new EventRecorder(failing, { component: 'c', onError: (e) => errors.push(e) });
  rec.event(pod, 'Normal', 'X', 'y');
  await rec.flush();
  t.equal(errors.length, 1);
});
