/** `orch server`: flag parsing (k3s names) and process lifecycle only. */
import type { Argv, CommandModule } from 'yargs';
import { homedir, hostname } from 'node:os';
import { defaultDataDir } from '../pkg/server/datadir.js';
import { FlagError, SERVER_FLAGS, parseServerArgv, parseServerFlags, type ServerFlags } from '../pkg/server/flags.js';

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function fail(code: number, e: unknown): never {
  process.stderr.write(`orch server: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(code);
}

/** Validates the flags, starts the server, and stops it cleanly on SIGTERM/SIGINT. */
export async function runServer(flags: ServerFlags): Promise<void> {
  const root = isRoot();
  let cfg;
  try {
    cfg = parseServerFlags({ ...flags, dataDir: flags.dataDir ?? defaultDataDir({ isRoot: root, home: homedir() }) }, root);
  } catch (e) {
    fail(2, e);
  }
  const log = (m: string) => process.stderr.write(`${m}\n`);
  // Handlers go in before start-up: a SIGTERM during start must still end in a clean stop.
  let stopping: ((signal: string) => void) | undefined;
  let early: string | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => (stopping ? stopping(signal) : (early = signal)));
  }
  const { startServer } = await import('../pkg/server/server.js');
  const agent = cfg.disableAgent
    ? undefined
    : {
        nodeName: cfg.nodeName ?? hostname().toLowerCase(),
        nodeIP: cfg.nodeIP,
        labels: cfg.nodeLabels,
        taints: cfg.nodeTaints,
        network: cfg.network,
        // Loaded after the API serves: Docker code is not on the path to /readyz.
        loadKubelet: async () => {
          const m = await import('./agent.js');
          return m.loadKubeletWiring(m.defaultRuntimeEndpoint(process.env));
        },
      };
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer({ ...cfg, agent, log });
  } catch (e) {
    fail(1, e);
  }
  stopping = (signal: string) => {
    log(`orch server: ${signal} received, shutting down`);
    running.close().then(
      () => process.exit(0),
      (e: unknown) => fail(1, `shutdown failed: ${String(e)}`),
    );
  };
  if (early) stopping(early);
}

/** The fast path for `orch server …`: no yargs import on the way to a ready server. */
export async function runServerFromArgv(argv: string[]): Promise<void> {
  let flags: ServerFlags;
  try {
    flags = parseServerArgv(argv, process.env);
  } catch (e) {
    if (e instanceof FlagError) fail(2, e);
    throw e;
  }
  await runServer(flags);
}

export const serverCommand: CommandModule<object, ServerFlags> = {
  command: 'server',
  describe: 'Run the control plane (API server, store, controllers) and, unless disabled, an agent',
  builder: (y: Argv) => {
    let out = y;
    for (const f of SERVER_FLAGS) {
      out = out.option(f.name, {
        ...(f.alias ? { alias: f.alias } : {}),
        type: f.type === 'strings' ? 'string' : f.type,
        ...(f.type === 'strings' ? { array: true } : {}),
        ...(f.default !== undefined ? { default: f.default } : {}),
        describe: f.describe,
      });
    }
    return out.env('ORCH') as unknown as Argv<ServerFlags>;
  },
  handler: (argv) => runServer(argv),
};
