/**
 * `orch server` flag parsing: --disable-scheduler (k3s's name) from the
 * command line or ORCH_DISABLE_SCHEDULER reaches the server config.
 */
import t from 'tap';
import { SERVER_FLAGS, parseServerArgv, parseServerFlags } from '../../pkg/server/flags.js';

t.test('--disable-scheduler is a boolean flag, off by default', async (t) => {
  t.match(
    SERVER_FLAGS.find((f) => f.name === 'disable-scheduler'),
    { type: 'boolean', default: false },
  );
  const cases: { argv: string[]; env: NodeJS.ProcessEnv; want: boolean }[] = [
    { argv: [], env: {}, want: false },
    { argv: ['--disable-scheduler'], env: {}, want: true },
    { argv: [], env: { ORCH_DISABLE_SCHEDULER: 'true' }, want: true },
    { argv: ['--disable-agent'], env: {}, want: false },
  ];
  for (const c of cases) {
    const flags = parseServerArgv(c.argv, c.env);
    t.equal(flags.disableScheduler, c.want, `${c.argv.join(' ')} ${JSON.stringify(c.env)}`);
    t.equal(parseServerFlags({ ...flags, dataDir: '/tmp/unused' }, false).disableScheduler, c.want, 'carried into the server config');
  }
});
