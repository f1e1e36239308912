/**
 * Helpers for tests against the real Docker daemon: a small busybox test image
 * built locally (no registry), node names unique per test so label filters do
 * not clash between test files, and cleanup of everything a node created.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { tarBuffer } from '../../pkg/kubelet/runtime/pause-image.js';
import { LABELS } from '../../pkg/kubelet/runtime/types.js';

/** The busybox test image. */
export const TEST_IMAGE = 'orch-test/busybox:1';
/** The same rootfs with ENTRYPOINT ["/bin/echo","ep"] and CMD ["default"] (command/args tests). */
export const ENTRYPOINT_IMAGE = 'orch-test/busybox-ep:1';

const BUSYBOX = '/usr/bin/busybox';
const APPLETS = [
  'sh', 'ls', 'cat', 'echo', 'sleep', 'httpd', 'wget', 'nc', 'timeout', 'env', 'printenv', 'id', 'hostname',
  'touch', 'mkdir', 'rm', 'test', 'true', 'false', 'grep', 'kill', 'ps', 'date', 'ip', 'head', 'tail', 'wc',
  'sed', 'pwd', 'uname', 'seq', 'stat', 'chmod', 'cp', 'mv', 'ln', 'readlink', '[',
];

/** A dockerode client for the local daemon (DOCKER_HOST honoured). */
export function testDocker(): Docker {
  return new Docker();
}

/** A node name no other test uses: containers are labelled with it. */
export function testNodeName(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Removes every container labelled for nodeName. */
export async function cleanupNode(nodeName: string, docker: Docker = testDocker()): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.node}=${nodeName}`] } });
  await Promise.all(
    list.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}

/** The rootfs tar of the test image: busybox-static plus applet symlinks in /bin. */
async function rootfsTar(): Promise<Buffer> {
  let available: Set<string>;
  try {
    available = new Set(execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n'));
  } catch {
    throw new Error(`${BUSYBOX} not found: run scripts/docker-setup.sh (installs busybox-static)`);
  }
  return tarBuffer((pack) => {
    pack.entry({ name: 'bin', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'tmp', type: 'directory', mode: 0o1777 });
    pack.entry({ name: 'bin/busybox', mode: 0o755 }, readFileSync(BUSYBOX));
    for (const a of APPLETS) {
      if (available.has(a)) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' });
    }
  });
}

async function hasImage(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

async function importImage(docker: Docker, ref: string, rootfs: Buffer, changes: string[]): Promise<void> {
  const [repo, tag] = ref.split(':');
  // docker-modem repeats array query values, as Docker wants for `changes`.
  const stream = await docker.importImage(Readable.from([rootfs]), { repo, tag, changes });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: unknown[]) => {
      const failed = out.find((o) => typeof o === 'object' && o !== null && 'error' in o);
      if (err || failed) reject(err ?? new Error(`importing ${ref}: ${JSON.stringify(failed)}`));
      else resolve();
    }),
  );
}

let building: Promise<string> | undefined;

/** Builds the busybox test images once per machine (skipped when present); returns TEST_IMAGE. */
export function ensureTestImage(docker: Docker = testDocker()): Promise<string> {
  building ??= (async () => {
    const missing = [];
    for (const ref of [TEST_IMAGE, ENTRYPOINT_IMAGE]) if (!(await hasImage(docker, ref))) missing.push(ref);
    if (missing.length === 0) return TEST_IMAGE;
    const rootfs = await rootfsTar();
    if (missing.includes(TEST_IMAGE)) await importImage(docker, TEST_IMAGE, rootfs, ['CMD ["/bin/sh"]']);
    if (missing.includes(ENTRYPOINT_IMAGE)) {
      await importImage(docker, ENTRYPOINT_IMAGE, rootfs, ['ENTRYPOINT ["/bin/echo","ep"]', 'CMD ["default"]']);
    }
    return TEST_IMAGE;
  })();
  return building;
}
