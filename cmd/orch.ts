#!/usr/bin/env -S node --max-semi-space-size=32
/**
 * The `orch` entry: wiring only. The node flags on the first line are
 * NODE_FLAGS (pkg/util/heap.ts), also in `npm start`: keep them equal. Each subcommand lives in its own file; the
 * heavy parts (and yargs itself) load only when a command needs them.
 */
const argv = process.argv.slice(2);

/** Heap policy of the long-running commands; a bad override is a one-line error, not a stack trace. */
function applyHeapPolicy(tune: () => number): void {
  try {
    tune();
  } catch (e) {
    process.stderr.write(`orch: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
const wantsHelp = argv.some((a) => a === '--help' || a === '-h');

if (argv[0] === 'kubectl') {
  // `orch kubectl …` hands every argument to kubectl untouched, flags included.
  const { runKubectl } = await import('./kubectl.js');
  process.exitCode = await runKubectl(argv.slice(1));
} else if (argv[0] === 'server' && !wantsHelp) {
  const [{ runServerFromArgv }, { tuneHeap }] = await Promise.all([import('./server.js'), import('../pkg/util/heap.js')]);
  applyHeapPolicy(tuneHeap);
  await runServerFromArgv(argv.slice(1));
} else if (argv[0] === 'agent' && !wantsHelp) {
  const [{ runAgentFromArgv }, { tuneHeap }] = await Promise.all([import('./agent.js'), import('../pkg/util/heap.js')]);
  applyHeapPolicy(tuneHeap);
  await runAgentFromArgv(argv.slice(1));
} else {
  const [{ default: yargs }, { serverCommand }, { agentCommand }, { kubectlCommand }, { cleanupCommand }] = await Promise.all([
    import('yargs'),
    import('./server.js'),
    import('./agent.js'),
    import('./kubectl.js'),
    import('./cleanup.js'),
  ]);
  await yargs(argv)
    .scriptName('orch')
    .usage('$0 <command> [flags]\n\nA lightweight Kubernetes-compatible orchestrator.')
    .command(serverCommand)
    .command(agentCommand)
    .command(kubectlCommand)
    .command(cleanupCommand)
    .demandCommand(1, 'Say which command to run, e.g. `orch server`.')
    .strict()
    .help()
    .version(false)
    .parseAsync();
}
