/**
 * kubectl 1.32's typed `create`/`expose` commands send protobuf bodies
 * (application/vnd.kubernetes.protobuf) and never fall back to JSON: each
 * one here must create the object it describes, read back as JSON.
 */
import t from 'tap';
import { startServerProcess } from '../helpers/server-process.js';

t.test('kubectl create/expose against orch server', async (t) => {
  const s = await startServerProcess();
  t.teardown(async () => {
    await s.stop();
  });
  const get = async (args: string[]) => JSON.parse((await s.kubectl(['get', ...args, '-o', 'json'])).stdout);

  // The premise: these commands really send protobuf, and accept JSON back.
  const verbose = await s.kubectl(['create', 'configmap', 'c1', '--from-literal=k=v', '--from-literal=other=x y', '-v=8']);
  t.match(verbose.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  t.match(verbose.stderr, /Accept: application\/vnd\.kubernetes\.protobuf,application\/json/);
  t.match(verbose.stdout, /configmap\/c1 created/);

  const commands: string[][] = [
    ['create', 'secret', 'generic', 's1', '--from-literal=a=b', '--from-literal=pw=hunter2'],
    ['create', 'namespace', 'n1'],
    ['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2', '--port=8080'],
    ['create', 'service', 'clusterip', 'web', '--tcp=80:8080'],
    ['create', 'serviceaccount', 'sa1'],
    ['run', 'p', '--image=busybox', '--restart=Never', '--labels=tier=batch', '--', 'sleep', '1'],
    ['create', 'role', 'r', '--verb=get,list', '--resource=pods'],
    ['create', 'rolebinding', 'rb', '--role=r', '--serviceaccount=default:sa1'],
    ['create', 'clusterrole', 'cr', '--verb=get', '--resource=nodes'],
    ['create', 'clusterrolebinding', 'crb', '--clusterrole=cr', '--user=bob'],
    ['expose', 'deployment', 'web', '--port=80', '--name=web2'],
    ['expose', 'deployment', 'web', '--port=81', '--target-port=8080', '--name=web3'],
    ['create', 'configmap', 'c2', '--from-literal=x=1', '-n', 'n1'],
  ];
  for (const args of commands) {
    const res = await s.kubectl(args, { allowFail: true });
    t.equal(res.code, 0, `kubectl ${args.join(' ')}: ${res.stderr}`);
  }

  const cm = await get(['configmap', 'c1']);
  t.strictSame(cm.data, { k: 'v', other: 'x y' });

  const secret = await get(['secret', 's1']);
  t.equal(secret.type, 'Opaque');
  t.strictSame(secret.data, { a: Buffer.from('b').toString('base64'), pw: Buffer.from('hunter2').toString('base64') });

  const ns = await get(['namespace', 'n1']);
  t.equal(ns.status.phase, 'Active');
  t.strictSame((await get(['configmap', 'c2', '-n', 'n1'])).data, { x: '1' });

  const dep = await get(['deployment', 'web']);
  t.equal(dep.spec.replicas, 2);
  t.strictSame(dep.metadata.labels, { app: 'web' });
  t.strictSame(dep.spec.selector, { matchLabels: { app: 'web' } });
  t.equal(dep.spec.template.spec.containers.length, 1);
  t.match(dep.spec.template.spec.containers[0], { name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 8080 }] });

  const svc = await get(['service', 'web']);
  t.equal(svc.spec.type, 'ClusterIP');
  t.match(svc.spec.clusterIP, /^10\.43\./);
  t.match(svc.spec.ports, [{ name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' }]);
  t.strictSame(svc.spec.selector, { app: 'web' });

  t.equal((await get(['serviceaccount', 'sa1'])).metadata.name, 'sa1');

  const pod = await get(['pod', 'p']);
  t.strictSame(pod.metadata.labels, { tier: 'batch' });
  t.equal(pod.spec.restartPolicy, 'Never');
  t.match(pod.spec.containers, [{ name: 'p', image: 'busybox', args: ['sleep', '1'] }]);

  const role = await get(['role', 'r']);
  t.strictSame(role.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
  const rb = await get(['rolebinding', 'rb']);
  t.strictSame(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' });
  t.strictSame(rb.subjects, [{ kind: 'ServiceAccount', name: 'sa1', namespace: 'default' }]);
  const cr = await get(['clusterrole', 'cr']);
  t.strictSame(cr.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
  const crb = await get(['clusterrolebinding', 'crb']);
  t.strictSame(crb.subjects, [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }]);
  t.equal(crb.roleRef.name, 'cr');

  const web2 = await get(['service', 'web2']);
  t.strictSame(web2.spec.selector, { app: 'web' });
  t.match(web2.spec.ports, [{ port: 80, targetPort: 80, protocol: 'TCP' }]);
  t.match((await get(['service', 'web3'])).spec.ports, [{ port: 81, targetPort: 8080, protocol: 'TCP' }]);

  // Errors after decoding come back as Status, and dry-run reaches the server the same way.
  const dry = await s.kubectl(['create', 'secret', 'generic', 's1', '--from-literal=a=c', '--dry-run=server', '-o', 'json'], { allowFail: true });
  t.equal(dry.code, 1, 'server-side dry-run of an existing name is AlreadyExists');
  t.match(dry.stderr, /already exists/);
});
