import t from 'tap';
import type { Node } from 'kubernetes-types/core/v1.js';
import { startTestApi, TOKEN } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/wait.js';
import { Client } from '../../../pkg/client/client.js';
import { inProcessTransport } from '../../../pkg/client/transport.js';
import { SharedInformerFactory } from '../../../pkg/client/informer.js';
import { startNodeIpamController } from '../../../pkg/controllers/nodeipam/controller.js';

const node = (name: string, podCIDR?: string): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const api = await startTestApi();
  const transport = inProcessTransport((r) => api.api.app.fetch(r), TOKEN);
  const client = new Client(transport);
  const factory = new SharedInformerFactory(client);
  t.teardown(async () => {
    await factory.stop();
    transport.close();
    await api.close();
  });
  const nodes = factory.informerFor('nodes');
  const cidrOf = (name: string) => nodes.getByName(undefined, name)?.spec?.podCIDR;
  return { client, factory, nodes, cidrOf, nodeClient: client.resource('nodes') };
}

t.test('nodes get distinct subnets; existing ones are kept and never handed out again', async (t) => {
  const { client, factory, cidrOf, nodeClient } = await setup(t);
  // Present before the controller starts: the used set is rebuilt from it.
  await nodeClient.create(node('old', '10.42.0.0/24'));
  const ctrl = await startNodeIpamController({ client, informerFactory: factory, onError: () => undefined });
  t.teardown(() => ctrl.stop());
  const names = Array.from({ length: 8 }, (_, i) => `n${i}`);
  await Promise.all(names.map((n) => nodeClient.create(node(n))));
  await waitFor(() => names.every((n) => cidrOf(n) !== undefined), 10_000, 'all nodes have a podCIDR');
  const got = names.map(cidrOf);
  t.equal(new Set(got).size, names.length, 'no subnet twice');
  t.notOk(got.includes('10.42.0.0/24'), "the existing node's subnet is not reused");
  t.equal(cidrOf('old'), '10.42.0.0/24');
  for (const n of names) {
    const live = await nodeClient.get(n);
    t.same(live.spec?.podCIDRs, [live.spec?.podCIDR], `${n}: podCIDRs matches`);
    t.match(live.spec?.podCIDR, /^10\.42\.\d+\.0\/24$/);
  }
  t.equal(ctrl.cidrs.usedCount, names.length + 1);
});

t.test('a full range: CIDRNotAvailable, then the subnet of a deleted node', async (t) => {
  const { client, factory, cidrOf, nodeClient } = await setup(t);
  const ctrl = await startNodeIpamController({ client, informerFactory: factory, clusterCidr: '10.9.0.0/23', nodeCidrMaskSize: 24, onError: () => undefined });
  t.teardown(() => ctrl.stop());
  await nodeClient.create(node('a'));
  await nodeClient.create(node('b'));
  await waitFor(() => cidrOf('a') !== undefined && cidrOf('b') !== undefined, 10_000, 'a and b allocated');
  await nodeClient.create(node('c'));
  const evInf = factory.informerFor('events', { namespace: 'default' });
  await waitFor(() => evInf.list().some((e) => e.involvedObject?.name === 'c' && e.reason === 'CIDRNotAvailable'), 10_000, 'CIDRNotAvailable event for c');
  const ev = evInf.list().find((e) => e.involvedObject?.name === 'c' && e.reason === 'CIDRNotAvailable');
  t.equal(ev?.message, 'Node c status is now: CIDRNotAvailable');
  t.equal(cidrOf('c'), undefined, 'c waits');
  const freed = cidrOf('a');
  await nodeClient.delete('a');
  await waitFor(() => cidrOf('c') !== undefined, 10_000, 'c allocated after a left');
  t.equal(cidrOf('c'), freed, "c gets a's subnet");
  t.not(cidrOf('c'), cidrOf('b'));
});
