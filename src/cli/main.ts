#!/usr/bin/env node
/**
 * The `agora` command: master, agent, local, execute and sim. Flags are read as Mesos spells them
 * (see flags.ts); every failure reaches the user as one line `agora <cmd>: <what and the fix>`.
 */
import { Command, CommanderError } from 'commander';
import { AGORA_VERSION } from '../api/index.js';
import { agentCommand } from './agent-command.js';
import { describeError } from './daemon.js';
import { executeCommand, executeOptionsFrom, runExecute } from './execute-command.js';
import { ENV_NOTE, FLAG_SPELLING_NOTE, applyEnvFlags, mesosHelp, normalizeArgv } from './flags.js';
import { localCommand } from './local-command.js';
import { masterCommand } from './master-command.js';
import { simCommand } from './sim-command.js';
import { taskCommand } from './task-command.js';

function buildProgram(): Command {
  const program = new Command('agora')
    .description(
      'agora pools machines and shares them among frameworks by resource offers, speaking the Mesos v1 HTTP APIs.',
    )
    .version(AGORA_VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpText('after', `\n${FLAG_SPELLING_NOTE}\nStart with: agora local, then agora execute (see agora <command> --help).`)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'agora: ')) });

  const daemons = [masterCommand(), agentCommand(), localCommand()];
  for (const command of daemons) {
    command.addHelpText('after', `\n${FLAG_SPELLING_NOTE}\n${ENV_NOTE}`);
    command.hook('preAction', (_this, action) => applyEnvFlags(action));
  }
  const execute = executeCommand()
    .addHelpText('after', `\n${FLAG_SPELLING_NOTE}`)
    .action(async (opts: Record<string, unknown>, command: Command) => {
      const nameGiven = command.getOptionValueSource('name') !== 'default';
      process.exitCode = await runExecute(executeOptionsFrom(opts, nameGiven));
    });

  const sim = simCommand();
  const task = taskCommand();
  for (const command of [...daemons, execute, sim, ...sim.commands, task, ...task.commands]) {
    const name = command.parent === null ? command.name() : `${command.parent.name()} ${command.name()}`;
    command
      .helpOption('-h, --help', 'show help')
      .configureHelp(mesosHelp())
      .exitOverride()
      .showHelpAfterError(`(see agora ${name} --help)`)
      .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, `agora ${name}: `)) });
    if (command.parent === null) program.addCommand(command);
  }
  return program;
}

/** Dashed names of flags that take an optional true/false, so `--no-<flag>` can be read. */
function booleanFlags(program: Command): Set<string> {
  const names = new Set<string>();
  for (const command of program.commands) {
    for (const option of command.options) {
      if (option.optional && option.long !== undefined && option.flags.includes('[bool]')) names.add(option.long.slice(2));
    }
  }
  return names;
}

async function main(): Promise<void> {
  const program = buildProgram();
  const args = normalizeArgv(process.argv.slice(2), booleanFlags(program));
  const commandName = program.commands.find((c) => c.name() === args[0])?.name();
  const prefix = commandName === undefined ? 'agora' : `agora ${commandName}`;
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`${prefix}: ${describeError(err)}\n`);
    process.exit(1);
  });
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    process.stderr.write(`${prefix}: ${describeError(err)}\n`);
    if (process.env['AGORA_DEBUG'] !== undefined) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exit(1);
  }
  process.exit(process.exitCode ?? 0);
}

void main();
