import t from 'tap';
import { startTestApi } from '../helpers/apiserver.js';

const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
});

t.test('ClusterIPs come from the service CIDR, never twice, and are freed on delete', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/services';
  const ips = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const res = await s.json('POST', base, svc(`s${i}`));
    t.equal(res.status, 201);
    const ip = res.body.spec.clusterIP as string;
    t.match(ip, /^10\.43\.\d+\.\d+$/);
    t.not(ip, '10.43.0.1', 'the kubernetes Service keeps the first address');
    t.not(ip, '10.43.0.10', 'the DNS address is only handed out on request');
    t.same(res.body.spec.clusterIPs, [ip]);
    t.notOk(ips.has(ip), 'no address twice');
    ips.add(ip);
  }
  const taken = [...ips][0];
  const dup = await s.json('POST', base, svc('dup', { clusterIP: taken }));
  t.equal(dup.status, 422);
  t.match(dup.body.message, /already allocated/);
  const outside = await s.json('POST', base, svc('out', { clusterIP: '10.99.0.1' }));
  t.equal(outside.status, 422);
  t.match(outside.body.message, /not in the valid range/);
  const dns = await s.json('POST', '/api/v1/namespaces/kube-system/services', svc('kube-dns', { clusterIP: '10.43.0.10' }));
  t.equal(dns.status, 201, 'the reserved DNS address can be asked for');

  const s0 = (await s.json('GET', `${base}/s0`)).body;
  await s.json('DELETE', `${base}/s0`);
  const reuse = await s.json('POST', base, svc('again', { clusterIP: s0.spec.clusterIP }));
  t.equal(reuse.status, 201, 'a deleted Service frees its address');

  const headless = await s.json('POST', base, svc('hl', { clusterIP: 'None' }));
  t.equal(headless.body.spec.clusterIP, 'None');
  t.same(headless.body.spec.clusterIPs, ['None']);
  const failedDry = await s.json('POST', `${base}?dryRun=All`, svc('dry'));
  t.equal(failedDry.status, 201);
  t.equal((await s.json('GET', `${base}/dry`)).status, 404);
});

t.test('NodePorts come from the node-port range and follow type changes', async (t) => {
  const s = await startTestApi();
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/services';
  const np = await s.json('POST', base, svc('np', { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443, nodePort: 30443 }] }));
  t.equal(np.status, 201);
  const [a, b] = np.body.spec.ports;
  t.ok(a.nodePort >= 30000 && a.nodePort <= 32767);
  t.equal(b.nodePort, 30443);
  const clash = await s.json('POST', base, svc('clash', { type: 'NodePort', ports: [{ port: 1, nodePort: 30443 }] }));
  t.equal(clash.status, 422);
  t.match(clash.body.message, /provided port is already allocated/);
  const range = await s.json('POST', base, svc('range', { type: 'NodePort', ports: [{ port: 1, nodePort: 80 }] }));
  t.equal(range.status, 422);

  // A PUT that leaves the allocated values out keeps them.
  const put = { ...np.body, spec: { ...np.body.spec, clusterIP: undefined, clusterIPs: undefined, ports: np.body.spec.ports.map((p: Record<string, unknown>) => ({ ...p, nodePort: undefined })) } };
  const kept = await s.json('PUT', `${base}/np`, put);
  t.equal(kept.status, 200);
  t.equal(kept.body.spec.clusterIP, np.body.spec.clusterIP);
  t.same(kept.body.spec.ports.map((p: { nodePort: number }) => p.nodePort), [a.nodePort, 30443]);

  const toCluster = await s.json('PATCH', `${base}/np`, { spec: { type: 'ClusterIP' } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(toCluster.status, 200);
  t.same(toCluster.body.spec.ports.map((p: { nodePort?: number }) => p.nodePort), [undefined, undefined], 'ClusterIP has no node ports');
  const reuse = await s.json('POST', base, svc('reuse', { type: 'NodePort', ports: [{ port: 1, nodePort: 30443 }] }));
  t.equal(reuse.status, 201, 'node ports freed by the type change');

  const immutable = await s.json('PATCH', `${base}/reuse`, { spec: { clusterIP: '10.43.99.99' } }, { 'content-type': 'application/merge-patch+json' });
  t.equal(immutable.status, 422, 'clusterIP is immutable');
});

t.test('allocations survive a restart of the API server on the same store', async (t) => {
  const s = await startTestApi({ sqlite: true });
  t.teardown(() => s.close());
  const base = '/api/v1/namespaces/default/services';
  const first = (await s.json('POST', base, svc('keep', { type: 'NodePort' }))).body;
  const { createApiServer } = await import('../../pkg/apiserver/app.js');
  const { bootstrapObjects } = await import('../../pkg/server/bootstrap.js');
  const api2 = createApiServer({ backend: s.backend, authenticate: () => true, serverAddress: 'x', serviceCidr: '10.43.0.0/16', nodePortRange: '30000-32767' });
  await bootstrapObjects(api2, { advertiseAddress: '127.0.0.1', port: 6443, serviceCidr: '10.43.0.0/16' });
  const res = await api2.app.request(`${base}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(svc('second', { clusterIP: first.spec.clusterIP })),
  });
  t.equal(res.status, 422, 'a restarted server knows which addresses are taken');
});
