/** The Node an agent reports, from host facts: pure functions. */
import t from 'tap';
import { goArch, nodeConditions, nodeLabels, osImageOf, resources, runtimeVersionString, type HostFacts } from '../../pkg/agent/node.js';

const facts: HostFacts = {
  cpus: 4,
  memoryBytes: 8 * 1024 ** 3,
  storageBytes: 100 * 1024 ** 3,
  kernelVersion: '6.1.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  machineID: 'm',
  bootID: 'b',
  architecture: 'amd64',
};

t.test('architecture names as Go spells them', async (t) => {
  for (const [node, go] of [['x64', 'amd64'], ['arm64', 'arm64'], ['ia32', '386'], ['arm', 'arm']]) t.equal(goArch(node), go, node);
});

t.test('os image from os-release', async (t) => {
  const cases: [string, string][] = [
    ['NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', 'Debian GNU/Linux 12 (bookworm)'],
    ['PRETTY_NAME=Alpine\n', 'Alpine'],
    ['', 'Linux'],
  ];
  for (const [text, want] of cases) t.equal(osImageOf(text), want);
});

t.test('capacity and allocatable', async (t) => {
  t.same(resources(facts), {
    capacity: { cpu: '4', memory: `${8 * 1024 * 1024}Ki`, pods: '110', 'ephemeral-storage': `${100 * 1024 * 1024}Ki` },
    allocatable: { cpu: '4', memory: `${8 * 1024 * 1024 - 100 * 1024}Ki`, pods: '110', 'ephemeral-storage': `${90 * 1024 * 1024}Ki` },
  });
  t.notOk('ephemeral-storage' in (resources({ ...facts, storageBytes: 0 }).capacity ?? {}), 'unknown storage is left out');
});

t.test('labels: well-known, control plane, then the operator’s', async (t) => {
  const id = { nodeName: 'n', nodeIP: '10.0.0.1', labels: { 'kubernetes.io/os': 'linux', zone: 'a' }, taints: [], controlPlane: true };
  t.match(nodeLabels(id, facts), { 'kubernetes.io/hostname': 'n', 'kubernetes.io/arch': 'amd64', 'node-role.kubernetes.io/control-plane': 'true', zone: 'a' });
  t.notOk('node-role.kubernetes.io/control-plane' in nodeLabels({ ...id, controlPlane: false }, facts));
});

t.test('conditions keep their transition time while unchanged', async (t) => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');
  const first = nodeConditions(undefined, t0);
  t.same(first.map((c) => [c.type, c.status]), [['MemoryPressure', 'False'], ['DiskPressure', 'False'], ['PIDPressure', 'False'], ['Ready', 'True']]);
  const second = nodeConditions(first, t1);
  for (const c of second) {
    t.equal(c.lastHeartbeatTime, '2026-01-01T00:01:00Z');
    t.equal(c.lastTransitionTime, '2026-01-01T00:00:00Z', `${c.type} unchanged`);
  }
  // Marked Unknown by the node controller meanwhile: Ready transitions again.
  const afterOutage = nodeConditions(first.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' } : c)), t1);
  t.equal(afterOutage.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T00:01:00Z');
});

t.test('runtime version string', async (t) => {
  t.equal(runtimeVersionString('docker', '20.10.24'), 'docker://20.10.24');
  t.equal(runtimeVersionString('docker', 'docker://20.10.24'), 'docker://20.10.24');
});
