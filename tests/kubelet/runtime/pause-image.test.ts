import t from 'tap';
import tar from 'tar-stream';
import { PAUSE_IMAGE, pauseElf, pauseRootfsTar } from '../../../pkg/kubelet/runtime/pause-image.js';
import { dockerRuntime } from '../../../pkg/kubelet/runtime/docker.js';
import { LABELS } from '../../../pkg/kubelet/runtime/types.js';
import { cleanupNode, testDocker, testNodeName } from '../../helpers/docker.js';

t.test('ELF header per architecture', async (t) => {
  for (const [arch, machine] of [
    ['x64', 62],
    ['arm64', 183],
  ] as const) {
    const elf = pauseElf(arch);
    t.same([...elf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], `${arch}: magic`);
    t.equal(elf.readUInt16LE(16), 2, `${arch}: ET_EXEC`);
    t.equal(elf.readUInt16LE(18), machine, `${arch}: e_machine`);
    t.equal(elf.readBigUInt64LE(24), 0x400078n, `${arch}: entry right after the headers`);
    t.equal(elf.readBigUInt64LE(64 + 32), BigInt(elf.length), `${arch}: PT_LOAD maps the whole file`);
    t.ok(elf.length < 512, `${arch}: tiny (${elf.length} bytes)`);
  }
  t.throws(() => pauseElf('ppc64'), /unsupported architecture 'ppc64'/);
});

t.test('rootfs tar holds an executable /pause', async (t) => {
  const tarball = await pauseRootfsTar('x64');
  const entries: { name: string; mode: number | undefined; body: Buffer }[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) parts.push(c);
    });
    stream.on('end', () => {
      entries.push({ name: h.name, mode: h.mode, body: Buffer.concat(parts) });
      next();
    });
  });
  await new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
    ex.end(tarball);
  });
  t.same(entries.map((e) => [e.name, e.mode]), [['pause', 0o755]]);
  t.ok(entries[0]?.body.equals(pauseElf('x64')), 'holds the ELF');
});

t.test('a container of the pause image stays running; SIGTERM ends it cleanly, docker kill too', async (t) => {
  const docker = testDocker();
  const node = testNodeName('pause');
  t.teardown(() => cleanupNode(node, docker));
  const ref = await dockerRuntime().ensurePauseImage();
  t.equal(ref, PAUSE_IMAGE);
  const image = await docker.getImage(ref).inspect();
  t.same(image.Config.Cmd, ['/pause']);

  const run = async () => {
    const c = await docker.createContainer({ Image: ref, Labels: { [LABELS.node]: node } });
    await c.start();
    return c;
  };
  const a = await run();
  // Still running after a trip through the daemon: the loop sleeps, it does not exit.
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await a.inspect()).State.Status, 'running');
  await a.kill();
  await a.wait();
  const killed = await a.inspect();
  t.equal(killed.State.Status, 'exited');
  t.equal(killed.State.ExitCode, 137, 'SIGKILL');

  // A long grace: exit code 0 shows the SIGTERM handler ran (a PID 1 without one ignores SIGTERM → 137).
  const b = await run();
  await b.stop({ t: 60 });
  t.equal((await b.inspect()).State.ExitCode, 0, 'exited through its SIGTERM handler');
});
