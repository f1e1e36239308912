import t from 'tap';
import { columnDefinitions, rowCells } from '../../pkg/apiserver/table.js';
import { humanDuration, timestampSince } from '../../pkg/apiserver/table/duration.js';

const NOW = new Date('2025-01-01T12:00:00Z');
/** An RFC 3339 timestamp `ms` before NOW. */
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const CREATED = ago(10 * M);

t.test('humanDuration follows apimachinery HumanDuration', async (t) => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1999, '0s'],
    [-500, '0s'],
    [0, '0s'],
    [999, '0s'],
    [45 * S, '45s'],
    [119 * S, '119s'],
    [120 * S, '2m'],
    [150 * S, '2m30s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H, '8h'],
    [47 * H + 59 * M, '47h'],
    [48 * H, '2d'],
    [50 * H, '2d2h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [731 * D, '2y1d'],
    [8 * 365 * D - 1 * D, '7y364d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D, '20y'],
  ];
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms}ms`);
});

t.test('timestampSince', async (t) => {
  t.equal(timestampSince(ago(5 * M), NOW), '5m');
  t.equal(timestampSince(undefined, NOW), '<unknown>');
  t.equal(timestampSince('', NOW), '<unknown>');
  t.equal(timestampSince('not a time', NOW), '<unknown>');
  t.equal(timestampSince(42, NOW), '<unknown>');
  t.equal(timestampSince('0001-01-01T00:00:00Z', NOW), '<unknown>', "Go's zero time is no timestamp");
});

t.test('column definitions', async (t) => {
  const names = (gr: string): string[] => columnDefinitions(gr).map((c) => c.name);
  const wideNames = (gr: string): string[] => columnDefinitions(gr).filter((c) => c.priority === 1).map((c) => c.name);
  t.same(names('pods'), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  t.same(wideNames('pods'), ['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  t.same(names('nodes'), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
  t.same(wideNames('nodes'), ['Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime']);
  t.same(names('deployments.apps'), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  t.same(names('replicasets.apps'), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  t.same(names('daemonsets.apps'), ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers', 'Images', 'Selector']);
  t.same(wideNames('daemonsets.apps'), ['Containers', 'Images', 'Selector']);
  t.same(names('services'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  t.same(wideNames('services'), ['Selector']);
  t.same(names('endpoints'), ['Name', 'Endpoints', 'Age']);
  t.same(names('configmaps'), ['Name', 'Data', 'Age']);
  t.same(names('secrets'), ['Name', 'Type', 'Data', 'Age']);
  t.same(names('serviceaccounts'), ['Name', 'Secrets', 'Age']);
  t.same(names('events'), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  t.same(columnDefinitions('events').filter((c) => c.priority === 0).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  t.same(names('namespaces'), ['Name', 'Status', 'Age']);
  t.same(names('leases.coordination.k8s.io'), ['Name', 'Holder', 'Age']);
  t.same(names('roles.rbac.authorization.k8s.io'), ['Name', 'Created At']);
  t.same(names('clusterroles.rbac.authorization.k8s.io'), ['Name', 'Created At']);
  t.same(names('rolebindings.rbac.authorization.k8s.io'), ['Name', 'Role', 'Age', 'Users', 'Groups', 'ServiceAccounts']);
  t.same(wideNames('clusterrolebindings.rbac.authorization.k8s.io'), ['Users', 'Groups', 'ServiceAccounts']);
  t.same(names('widgets.example.com'), ['Name', 'Age']);
  t.same(names('toString'), ['Name', 'Age']);

  for (const gr of ['pods', 'nodes', 'deployments.apps', 'services', 'configmaps', 'roles.rbac.authorization.k8s.io', 'widgets.example.com']) {
    const first = columnDefinitions(gr)[0];
    t.match(first, { name: 'Name', type: 'string', format: 'name', priority: 0 }, `${gr}: Name first`);
  }
  t.match(columnDefinitions('events').find((c) => c.format === 'name'), { name: 'Name', priority: 1 });
  for (const c of columnDefinitions('pods')) {
    t.type(c.description, 'string');
    t.ok(c.description.length > 0, `${c.name} has a description`);
  }
  // Callers may mutate what they get without changing the next answer.
  columnDefinitions('pods')[0].name = 'changed';
  t.equal(columnDefinitions('pods')[0].name, 'Name');
});

const running = { running: { startedAt: ago(9 * M) } };
const readyCond = [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }];

t.test('pod rows', async (t) => {
  const base = {
    metadata: { name: 'web', namespace: 'default', creationTimestamp: CREATED },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx' }] },
  };
  const cases: [string, object, unknown[]][] = [
    ['running 1/1', {
      ...base,
      status: { phase: 'Running', podIPs: [{ ip: '10.42.0.5' }], conditions: readyCond, containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: running }] },
    }, ['web', '1/1', 'Running', '0', '10m', '10.42.0.5', 'node-1', '<none>', '<none>']],
    ['crash loop with restarts', {
      ...base,
      status: {
        phase: 'Running', podIP: '10.42.0.6',
        containerStatuses: [{
          name: 'c', ready: false, restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(2 * M) } },
        }],
      },
    }, ['web', '0/1', 'CrashLoopBackOff', '3 (2m ago)', '10m', '10.42.0.6', 'node-1', '<none>', '<none>']],
    ['restarts without a termination time', {
      ...base,
      status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 2, state: running }] },
    }, ['web', '1/1', 'Running', '2', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['terminating', {
      ...base,
      metadata: { ...base.metadata, deletionTimestamp: ago(5 * S) },
      status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: running }] },
    }, ['web', '1/1', 'Terminating', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['deleted on a lost node', {
      ...base,
      metadata: { ...base.metadata, deletionTimestamp: ago(5 * S) },
      status: { phase: 'Running', reason: 'NodeLost' },
    }, ['web', '0/1', 'Unknown', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['init container running', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'init', image: 'busybox' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: running }],
        containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
      },
    }, ['web', '0/1', 'Init:0/1', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['second init container waiting', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
        ],
      },
    }, ['web', '0/1', 'Init:1/2', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['init container crash looping', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'init' }] },
      status: {
        phase: 'Pending',
        initContainerStatuses: [{
          name: 'init', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1, finishedAt: ago(30 * S) } },
        }],
      },
    }, ['web', '0/1', 'Init:CrashLoopBackOff', '4 (30s ago)', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['init container failed', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'init' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { terminated: { exitCode: 2, reason: 'Error' } } }] },
    }, ['web', '0/1', 'Init:Error', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['init container killed by a signal', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'init' }] },
      status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] },
    }, ['web', '0/1', 'Init:Signal:9', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['completed', {
      ...base,
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    }, ['web', '0/1', 'Completed', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['completed pod being deleted stays Completed', {
      ...base,
      metadata: { ...base.metadata, deletionTimestamp: ago(S) },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    }, ['web', '0/1', 'Completed', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['exit code without a reason', {
      ...base,
      status: { phase: 'Failed', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] },
    }, ['web', '0/1', 'ExitCode:3', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['container creating', {
      ...base,
      status: { phase: 'Pending', containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
    }, ['web', '0/1', 'ContainerCreating', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['pending, not scheduled', {
      metadata: { name: 'web', creationTimestamp: CREATED },
      spec: { containers: [{ name: 'a' }, { name: 'b' }] },
      status: { phase: 'Pending' },
    }, ['web', '0/2', 'Pending', '0', '10m', '<none>', '<none>', '<none>', '<none>']],
    ['scheduling gated', {
      ...base,
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] },
    }, ['web', '0/1', 'SchedulingGated', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['one completed, one running, pod not ready', {
      ...base,
      spec: { ...base.spec, containers: [{ name: 'a' }, { name: 'b' }] },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'b', ready: true, restartCount: 0, state: running },
        ],
      },
    }, ['web', '1/2', 'NotReady', '0', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['sidecar counted as a container', {
      ...base,
      spec: { ...base.spec, initContainers: [{ name: 'side', restartPolicy: 'Always' }] },
      status: {
        phase: 'Running', conditions: readyCond,
        initContainerStatuses: [{ name: 'side', ready: true, started: true, restartCount: 1, state: running, lastState: { terminated: { exitCode: 1, finishedAt: ago(3 * M) } } }],
        containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: running }],
      },
    }, ['web', '2/2', 'Running', '1 (3m ago)', '10m', '<none>', 'node-1', '<none>', '<none>']],
    ['readiness gates and nominated node', {
      ...base,
      spec: { ...base.spec, readinessGates: [{ conditionType: 'x' }, { conditionType: 'y' }] },
      status: { phase: 'Pending', nominatedNodeName: 'node-2', conditions: [{ type: 'x', status: 'True' }, { type: 'y', status: 'False' }] },
    }, ['web', '0/1', 'Pending', '0', '10m', '<none>', 'node-1', 'node-2', '1/2']],
    ['empty object', {}, ['', '0/0', '', '0', '<unknown>', '<none>', '<none>', '<none>', '<none>']],
    ['malformed fields', {
      metadata: { name: 7, creationTimestamp: 'yesterday' },
      spec: { containers: 'nope', initContainers: [null, 5] },
      status: { phase: 1, containerStatuses: [null, 3, { state: 'x', restartCount: 'many' }], initContainerStatuses: 'x', conditions: [null] },
    }, ['', '0/0', '', '0', '<unknown>', '<none>', '<none>', '<none>', '<none>']],
  ];
  for (const [name, pod, want] of cases) t.same(rowCells('pods', pod, NOW), want, name);
});

t.test('node rows', async (t) => {
  const cases: [string, object, unknown[]][] = [
    ['ready control plane', {
      metadata: {
        name: 'n1', creationTimestamp: ago(3 * D),
        labels: { 'node-role.kubernetes.io/master': 'true', 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/': 'x' },
      },
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '192.168.1.10' }],
        nodeInfo: { kubeletVersion: 'v1.32.0+orch', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'docker://27.0.1' },
      },
    }, ['n1', 'Ready', 'control-plane,master', '3d', 'v1.32.0+orch', '192.168.1.10', '<none>', 'Debian GNU/Linux 12', '6.1.0', 'docker://27.0.1']],
    ['not ready and cordoned', {
      metadata: { name: 'n2', creationTimestamp: CREATED, labels: { 'kubernetes.io/role': 'worker' } },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'Ready', status: 'False' }],
        addresses: [{ type: 'ExternalIP', address: '203.0.113.5' }, { type: 'InternalIP', address: '10.0.0.2' }],
        nodeInfo: { kubeletVersion: 'v1.32.0+orch' },
      },
    }, ['n2', 'NotReady,SchedulingDisabled', 'worker', '10m', 'v1.32.0+orch', '10.0.0.2', '203.0.113.5', '<unknown>', '<unknown>', '<unknown>']],
    ['ready unknown', {
      metadata: { name: 'n3', creationTimestamp: CREATED },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }] },
    }, ['n3', 'NotReady', '<none>', '10m', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']],
    ['no status at all', { metadata: { name: 'n4' }, spec: { unschedulable: true } },
      ['n4', 'Unknown,SchedulingDisabled', '<none>', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']],
  ];
  for (const [name, node, want] of cases) t.same(rowCells('nodes', node, NOW), want, name);
});

t.test('workload rows', async (t) => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }, { name: 'side', image: 'busybox' }] } };
  t.same(rowCells('deployments.apps', {
    metadata: { name: 'web', creationTimestamp: CREATED },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
    status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  }, NOW), ['web', '2/3', 3, 2, '10m', 'nginx,side', 'nginx:1.27,busybox', 'app=web'], 'deployment 2/3');
  t.same(rowCells('deployments.apps', { metadata: { name: 'd' } }, NOW), ['d', '0/1', 0, 0, '<unknown>', '', '', ''], 'deployment without spec or status');
  t.same(rowCells('deployments.apps', {
    metadata: { name: 'd' }, spec: { replicas: 0, selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } },
  }, NOW)[7], '<invalid>', 'invalid selector');

  t.same(rowCells('replicasets.apps', {
    metadata: { name: 'web-abc', creationTimestamp: CREATED },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } }, template },
    status: { replicas: 2, readyReplicas: 1 },
  }, NOW), ['web-abc', 2, 2, 1, '10m', 'nginx,side', 'nginx:1.27,busybox', 'app=web,pod-template-hash=abc'], 'replicaset');
  t.same(rowCells('replicasets.apps', { metadata: { name: 'r' }, spec: { replicas: 1, selector: {} } }, NOW),
    ['r', 1, 0, 0, '<unknown>', '', '', '<none>'], 'replicaset with empty selector');

  t.same(rowCells('daemonsets.apps', {
    metadata: { name: 'agent', creationTimestamp: CREATED },
    spec: {
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['agent'] }] },
      template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' }, containers: [{ name: 'a', image: 'agent:1' }] } },
    },
    status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
  }, NOW), ['agent', 3, 3, 2, 3, 2, 'disk=ssd,kubernetes.io/os=linux', '10m', 'a', 'agent:1', 'app in (agent)'], 'daemonset');
  t.same(rowCells('daemonsets.apps', { metadata: { name: 'x' } }, NOW), ['x', 0, 0, 0, 0, 0, '<none>', '<unknown>', '', '', '<none>']);
});

t.test('service rows', async (t) => {
  const meta = { name: 'svc', creationTimestamp: CREATED };
  const cases: [string, object, unknown[]][] = [
    ['cluster IP', {
      metadata: meta,
      spec: { type: 'ClusterIP', clusterIP: '10.43.0.10', clusterIPs: ['10.43.0.10'], selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }] },
    }, ['svc', 'ClusterIP', '10.43.0.10', '<none>', '80/TCP', '10m', 'app=web']],
    ['node port', {
      metadata: meta,
      spec: { type: 'NodePort', clusterIPs: ['10.43.0.11'], externalIPs: ['1.2.3.4'], selector: { tier: 'fe', app: 'web' },
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, nodePort: 30053, protocol: 'UDP' }] },
    }, ['svc', 'NodePort', '10.43.0.11', '1.2.3.4', '80:30080/TCP,53:30053/UDP', '10m', 'app=web,tier=fe']],
    ['headless', {
      metadata: meta,
      spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] },
    }, ['svc', 'ClusterIP', 'None', '<none>', '<none>', '10m', '<none>']],
    ['load balancer pending', {
      metadata: meta,
      spec: { type: 'LoadBalancer', clusterIPs: ['10.43.0.12'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] },
    }, ['svc', 'LoadBalancer', '10.43.0.12', '<pending>', '443:31443/TCP', '10m', '<none>']],
    ['load balancer with ingress', {
      metadata: meta,
      spec: { type: 'LoadBalancer', clusterIPs: ['10.43.0.12'], ports: [{ port: 443, protocol: 'TCP' }] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.1.20' }, { hostname: 'lb.example.com' }, { ip: '192.168.1.20' }] } },
    }, ['svc', 'LoadBalancer', '10.43.0.12', '192.168.1.20,lb.example.com', '443/TCP', '10m', '<none>']],
    ['external name', {
      metadata: meta,
      spec: { type: 'ExternalName', externalName: 'db.example.com' },
    }, ['svc', 'ExternalName', '<none>', 'db.example.com', '<none>', '10m', '<none>']],
    ['no spec', { metadata: meta }, ['svc', 'ClusterIP', '<none>', '<none>', '<none>', '10m', '<none>']],
  ];
  for (const [name, svc, want] of cases) t.same(rowCells('services', svc, NOW), want, name);
});

t.test('endpoints rows', async (t) => {
  const ep = (subsets: unknown): object => ({ metadata: { name: 'web', creationTimestamp: CREATED }, subsets });
  const addrs = (...ips: string[]): { ip: string }[] => ips.map((ip) => ({ ip }));
  const cases: [string, object, string][] = [
    ['none', ep(undefined), '<none>'],
    ['empty list', ep([]), '<none>'],
    ['two', ep([{ addresses: addrs('10.42.0.5', '10.42.0.6'), ports: [{ port: 80 }] }]), '10.42.0.5:80,10.42.0.6:80'],
    ['exactly three', ep([{ addresses: addrs('a', 'b', 'c'), ports: [{ port: 80 }] }]), 'a:80,b:80,c:80'],
    ['truncated', ep([{ addresses: addrs('10.42.0.5', '10.42.0.6', '10.42.0.7', '10.42.0.8'), ports: [{ port: 80 }] }]),
      '10.42.0.5:80,10.42.0.6:80,10.42.0.7:80 + 1 more...'],
    ['two ports, counted per port', ep([{ addresses: addrs('10.42.0.5', '10.42.0.6'), ports: [{ port: 80 }, { port: 443 }] }]),
      '10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...'],
    ['across subsets', ep([
      { addresses: addrs('10.42.0.5', '10.42.0.6'), ports: [{ port: 80 }] },
      { addresses: addrs('10.42.1.5', '10.42.1.6', '10.42.1.7'), ports: [{ port: 8080 }] },
    ]), '10.42.0.5:80,10.42.0.6:80,10.42.1.5:8080 + 2 more...'],
    ['headless without ports', ep([{ addresses: addrs('10.42.0.5', '10.42.0.6') }]), '10.42.0.5,10.42.0.6'],
    ['IPv6', ep([{ addresses: addrs('fd00::5'), ports: [{ port: 80 }] }]), '[fd00::5]:80'],
    ['subset without addresses', ep([{ notReadyAddresses: addrs('10.42.0.9'), ports: [{ port: 80 }] }]), ''],
  ];
  for (const [name, obj, want] of cases) t.same(rowCells('endpoints', obj, NOW), ['web', want, '10m'], name);
});

t.test('event rows', async (t) => {
  t.same(rowCells('events', {
    metadata: { name: 'web.17a', namespace: 'default', creationTimestamp: ago(5 * M) },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'default', fieldPath: 'spec.containers{c}' },
    reason: 'Pulled', type: 'Normal', message: '  Successfully pulled image "nginx"\n',
    source: { component: 'kubelet', host: 'node-1' },
    firstTimestamp: ago(5 * M), lastTimestamp: ago(60 * S), count: 3,
  }, NOW), ['60s', 'Normal', 'Pulled', 'pod/web', 'spec.containers{c}', 'kubelet, node-1', 'Successfully pulled image "nginx"', '5m', 3, 'web.17a']);

  t.same(rowCells('events', {
    metadata: { name: 'ev2' },
    involvedObject: { kind: 'Node' },
    reason: 'Starting', type: 'Normal', message: 'Starting',
    eventTime: ago(2 * M + 500), reportingComponent: 'kubelet', reportingInstance: 'n1',
    series: { count: 7, lastObservedTime: ago(30 * S) },
  }, NOW), ['30s', 'Normal', 'Starting', 'node', '', 'kubelet, n1', 'Starting', '2m', 7, 'ev2'], 'events.k8s.io style event with a series');

  t.same(rowCells('events', {
    metadata: { name: 'ev3' },
    involvedObject: { kind: 'Deployment', name: 'web' },
    reason: 'ScalingReplicaSet', type: 'Normal', message: 'Scaled up',
    firstTimestamp: ago(4 * M), source: { component: 'deployment-controller' },
  }, NOW), ['4m', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up', '4m', 1, 'ev3'], 'no last timestamp, no count');

  t.same(rowCells('events', {}, NOW), ['<unknown>', '', '', '', '', '', '', '<unknown>', 1, '']);
});

t.test('other kinds', async (t) => {
  const meta = { name: 'x', namespace: 'default', creationTimestamp: CREATED };
  t.same(rowCells('configmaps', { metadata: meta, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }, NOW), ['x', 3, '10m']);
  t.same(rowCells('configmaps', { metadata: meta }, NOW), ['x', 0, '10m']);
  t.same(rowCells('secrets', { metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': 'AA==', 'tls.key': 'AA==' } }, NOW), ['x', 'kubernetes.io/tls', 2, '10m']);
  t.same(rowCells('secrets', { metadata: meta, type: 'Opaque', data: { a: 'AA==' }, stringData: { a: 'x', b: 'y' } }, NOW), ['x', 'Opaque', 2, '10m']);
  t.same(rowCells('serviceaccounts', { metadata: meta, secrets: [{ name: 's' }] }, NOW), ['x', 1, '10m']);
  t.same(rowCells('serviceaccounts', { metadata: meta }, NOW), ['x', 0, '10m']);
  t.same(rowCells('namespaces', { metadata: { name: 'kube-system', creationTimestamp: ago(2 * H) }, status: { phase: 'Active' } }, NOW), ['kube-system', 'Active', '120m']);
  t.same(rowCells('namespaces', { metadata: { name: 'gone' }, status: { phase: 'Terminating' } }, NOW), ['gone', 'Terminating', '<unknown>']);
  t.same(rowCells('leases.coordination.k8s.io', { metadata: meta, spec: { holderIdentity: 'node-1' } }, NOW), ['x', 'node-1', '10m']);
  t.same(rowCells('leases.coordination.k8s.io', { metadata: meta }, NOW), ['x', '', '10m']);
  t.same(rowCells('roles.rbac.authorization.k8s.io', { metadata: { name: 'r', creationTimestamp: '2024-05-06T07:08:09Z' } }, NOW), ['r', '2024-05-06T07:08:09Z']);
  t.same(rowCells('clusterroles.rbac.authorization.k8s.io', { metadata: { name: 'cr' } }, NOW), ['cr', '0001-01-01T00:00:00Z']);
  t.same(rowCells('rolebindings.rbac.authorization.k8s.io', {
    metadata: meta,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [
      { kind: 'User', name: 'alice' }, { kind: 'User', name: 'bob' },
      { kind: 'Group', name: 'devs' },
      { kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' },
    ],
  }, NOW), ['x', 'ClusterRole/view', '10m', 'alice, bob', 'devs', 'kube-system/default']);
  t.same(rowCells('clusterrolebindings.rbac.authorization.k8s.io', { metadata: { name: 'b' } }, NOW), ['b', '/', '<unknown>', '', '', '']);
  t.same(rowCells('widgets.example.com', { metadata: meta, spec: { size: 3 } }, NOW), ['x', '10m']);
  t.same(rowCells('widgets.example.com', {}, NOW), ['', '<unknown>']);
});

t.test('every row has one cell per column, even for junk input', async (t) => {
  const kinds = [
    'pods', 'nodes', 'deployments.apps', 'replicasets.apps', 'daemonsets.apps', 'services', 'endpoints', 'configmaps', 'secrets',
    'serviceaccounts', 'events', 'namespaces', 'leases.coordination.k8s.io', 'roles.rbac.authorization.k8s.io',
    'clusterroles.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io',
    'widgets.example.com',
  ];
  const junk: object[] = [{}, [], { metadata: null, spec: null, status: null }, { metadata: [], spec: 'x', status: 7, subsets: {}, data: 'x' }];
  for (const gr of kinds) {
    const n = columnDefinitions(gr).length;
    for (const obj of junk) {
      const cells = rowCells(gr, obj, NOW);
      t.equal(cells.length, n, `${gr} ${JSON.stringify(obj)}`);
    }
  }
});
