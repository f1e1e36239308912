import t from 'tap';
import { execRun } from '../../pkg/network/kernel.js';

t.test('execRun: exit codes, output and input, never a throw', async (t) => {
  t.same(await execRun('sh', ['-c', 'echo out; echo err >&2; exit 3']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
  t.same(await execRun('cat', [], { input: 'through stdin\n' }), { code: 0, stdout: 'through stdin\n', stderr: '' });
  // Exits at once without reading a large input: EPIPE on its stdin must not escape.
  const r = await execRun('true', [], { input: 'x'.repeat(1 << 20) });
  t.equal(r.code, 0);
  for (let i = 0; i < 20; i++) t.equal((await execRun('true', [])).code, 0);
  const missing = await execRun('/nonexistent/cmd', []);
  t.not(missing.code, 0);
  t.match(missing.stderr, /ENOENT/);
});
