/**
 * The stock kubectl against `orch server` started as a child process:
 * the workflow an operator runs on k3s, end to end.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const MANIFEST = (image: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: ${image}
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  key: value
---
apiVersion: v1
kind: Secret
metadata:
  name: sec
type: Opaque
data:
  password: aHVudGVyMg==
`;

t.test('kubectl drives orch server like a Kubernetes cluster', async (t) => {
  const s = await startServerProcess();
  t.teardown(async () => {
    await s.stop();
  });
  const work = mkdtempSync(join(tmpdir(), 'orch-manifests-'));
  const file = join(work, 'app.yaml');
  writeFileSync(file, MANIFEST('nginx:1.25', 2));

  t.equal((statSync(s.kubeconfig).mode & 0o777).toString(8), '600', 'kubeconfig is private by default');

  const first = await s.kubectl(['apply', '-f', file]);
  t.match(first.stdout, /deployment\.apps\/web created/);
  t.match(first.stdout, /service\/web created/);
  t.match(first.stdout, /configmap\/cfg created/);
  t.match(first.stdout, /secret\/sec created/);

  const again = await s.kubectl(['apply', '-f', file]);
  t.equal(again.stdout.match(/unchanged/g)?.length, 4, 'a second apply changes nothing');

  writeFileSync(file, MANIFEST('nginx:1.26', 3));
  const changed = await s.kubectl(['apply', '-f', file]);
  t.match(changed.stdout, /deployment\.apps\/web configured/);
  t.match(changed.stdout, /service\/web unchanged/);

  const yaml = (await s.kubectl(['get', 'deployment', 'web', '-o', 'yaml'])).stdout;
  t.match(yaml, /image: nginx:1\.26/);
  t.match(yaml, /replicas: 3/);
  t.match(yaml, /generation: 2/);
  t.match(yaml, /uid: [0-9a-f-]{36}/);

  const secret = JSON.parse((await s.kubectl(['get', 'secret', 'sec', '-o', 'json'])).stdout);
  t.equal(Buffer.from(secret.data.password, 'base64').toString(), 'hunter2');
  await s.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Secret\nmetadata: {name: strdata}\nstringData: {token: abc}\n' });
  const fromString = JSON.parse((await s.kubectl(['get', 'secret', 'strdata', '-o', 'json'])).stdout);
  t.equal(Buffer.from(fromString.data.token, 'base64').toString(), 'abc', 'stringData lands in data');
  t.equal(fromString.stringData, undefined, 'stringData is write-only');

  const svc = (await s.kubectl(['get', 'service', 'web'])).stdout;
  t.match(svc, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE/);
  t.match(svc, /web\s+ClusterIP\s+10\.43\.\d+\.\d+\s+<none>\s+80\/TCP/);

  // get -w sees a change made while it watches.
  const watcher = spawn('kubectl', ['get', 'deployment', 'web', '-w', '-o', 'jsonpath={.spec.replicas}{"\\n"}'], {
    env: { ...process.env, KUBECONFIG: s.kubeconfig },
  });
  let watched = '';
  watcher.stdout.on('data', (d: Buffer) => (watched += d.toString()));
  const sawInitial = waitFor(() => watched.includes('3'), 15_000);
  await sawInitial;
  t.match((await s.kubectl(['scale', 'deployment', 'web', '--replicas=5'])).stdout, /deployment\.apps\/web scaled/);
  await waitFor(() => watched.split('\n').includes('5'), 15_000);
  watcher.kill();
  t.pass('get -w saw the scale');

  t.match((await s.kubectl(['label', 'deployment', 'web', 'tier=frontend'])).stdout, /labeled/);
  t.match((await s.kubectl(['patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]'])).stdout, /patched/);
  const after = JSON.parse((await s.kubectl(['get', 'deployment', 'web', '-o', 'json'])).stdout);
  t.equal(after.spec.replicas, 4);
  t.equal(after.metadata.labels.tier, 'frontend');

  const all = (await s.kubectl(['get', 'all'])).stdout;
  t.match(all, /deployment\.apps\/web/);
  t.match(all, /service\/kubernetes/);

  t.match((await s.kubectl(['delete', '-f', file])).stdout, /deployment\.apps "web" deleted/);
  const missing = await s.kubectl(['get', 'deployment', 'web'], { allowFail: true });
  t.not(missing.code, 0);
  t.match(missing.stderr, /Error from server \(NotFound\): deployments\.apps "web" not found/);

  const ssa = await s.kubectl(['apply', '--server-side', '-f', file]);
  t.match(ssa.stdout, /deployment\.apps\/web serverside-applied/);

  const denied = await s.kubectl(['--token=wrong', 'get', 'pods'], { allowFail: true });
  t.not(denied.code, 0);
  t.match(denied.stderr, /Unauthorized/);

  const kubeconfig = readFileSync(s.kubeconfig, 'utf8');
  t.match(kubeconfig, /certificate-authority-data:/, 'kubeconfig trusts the CA (no insecure-skip)');
});
