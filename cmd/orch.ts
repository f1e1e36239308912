#!/usr/bin/env node
/**
 * The `orch` entry: wiring only. Each subcommand lives in its own file and
 * exports a yargs CommandModule; the heavy parts load inside the handlers.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { serverCommand } from './server.js';
import { kubectlCommand, runKubectl } from './kubectl.js';

const argv = hideBin(process.argv);

// `orch kubectl …` hands every argument to kubectl untouched, flags included.
if (argv[0] === 'kubectl') {
  process.exitCode = await runKubectl(argv.slice(1));
} else {
  await yargs(argv)
    .scriptName('orch')
    .usage('$0 <command> [flags]\n\nA lightweight Kubernetes-compatible orchestrator.')
    .command(serverCommand)
    .command(kubectlCommand)
    .demandCommand(1, 'Say which command to run, e.g. `orch server`.')
    .strict()
    .help()
    .version(false)
    .parseAsync();
}
