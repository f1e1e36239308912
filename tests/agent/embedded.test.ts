/**
 * The server's embedded agent: `startServer` with an agent config registers
 * its own node (control-plane label, the operator's taints and labels)
 * through the in-process transport, with a node password like any agent.
 */
import t from 'tap';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../pkg/server/server.js';
import { Client } from '../../pkg/client/client.js';
import { inProcessTransport } from '../../pkg/client/transport.js';
import { agentPaths } from '../../pkg/agent/join.js';

t.test('orch server registers its own node', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orch-embedded-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = await startServer({
    dataDir: dir,
    httpsListenPort: 0,
    bindAddress: '127.0.0.1',
    writeKubeconfig: join(dir, 'kubeconfig'),
    clusterCidr: '10.42.0.0/16',
    serviceCidr: '10.43.0.0/16',
    serviceNodePortRange: '30000-32767',
    tlsSans: [],
    isRoot: false,
    agent: { nodeName: 'edge-1', nodeIP: '10.1.2.3', labels: { site: 'north' }, taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
  });
  const api = new Client(inProcessTransport(s.api.app.fetch, s.adminToken));
  t.teardown(async () => {
    await api.transport.close();
    await s.close();
  });
  t.equal(s.agent?.nodeName, 'edge-1');
  const node = await api.resource('nodes').get('edge-1');
  t.match(node.metadata?.labels, { 'node-role.kubernetes.io/control-plane': 'true', 'kubernetes.io/hostname': 'edge-1', site: 'north' });
  t.match(node.spec?.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  t.match(node.status?.addresses, [{ type: 'InternalIP', address: '10.1.2.3' }]);
  t.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  t.ok(await api.resource('leases').namespace('kube-node-lease').get('edge-1'), 'lease');
  t.ok(await api.resource('secrets').namespace('kube-system').get('edge-1.node-password.orch'), 'node password stored');
  t.ok(existsSync(agentPaths(dir).nodePassword), 'node password kept in <data-dir>/agent');
});
