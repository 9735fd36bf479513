/**
 * `agora task`: list the cluster's tasks, read and follow a task's output, run a command inside a
 * running task. The master (`--master`, else AGORA_MASTER or MESOS_MASTER, else 127.0.0.1:5050)
 * says where each task is; its agent serves the files and the sessions.
 */
import { Command, Option } from 'commander';
import { AgoraError } from '../base/index.js';
import { parseCount, parseMasterFlag, parseNonEmpty } from './flags.js';
import { runTaskExec } from './task-exec.js';
import { parseTaskState, runTaskList } from './task-list.js';
import { runTaskLog } from './task-log.js';

const DEFAULT_MASTER = '127.0.0.1:5050';

function masterOption(): Option {
  return new Option('--master <host:port>', 'a master (a standby redirects to the leader), or etcd://HOST:PORT[,...] to find the leader')
    .argParser(parseMasterFlag('--master'))
    .default(DEFAULT_MASTER);
}

const stdout = { out: (text: string) => process.stdout.write(text), err: (text: string) => process.stderr.write(text) };

export function taskCommand(): Command {
  const task = new Command('task').description('List tasks, read their output, run commands inside them.').enablePositionalOptions();

  task
    .command('list')
    .description('List the cluster\'s tasks: id, name, state, framework, agent (active ones; --all for finished too).')
    .addOption(masterOption())
    .option('--framework <id>', 'only the tasks of this framework', parseNonEmpty('--framework'))
    .option('--state <state>', 'only tasks in this state (e.g. running, TASK_FAILED)', parseTaskState)
    .option('--agent <id>', 'only the tasks on this agent', parseNonEmpty('--agent'))
    .option('--all', 'include finished tasks', false)
    .action(async (opts: { master: string; framework?: string; state?: string; agent?: string; all: boolean }) => {
      process.exitCode = await runTaskList(opts, stdout);
    });

  task
    .command('log')
    .description("Print a task's stdout (or stderr) from its sandbox; -f follows it until the task ends.")
    .argument('<task>', 'the task id (or a unique prefix of it)')
    .addOption(masterOption())
    .option('-f, --follow', 'keep printing what the task writes until it ends (or Ctrl-C)', false)
    .option('--stderr', 'the stderr file instead of stdout', false)
    .option('--lines <n>', 'only the last N lines', parseCount('--lines', 0))
    .action(async (taskId: string, opts: { master: string; follow: boolean; stderr: boolean; lines?: number }) => {
      process.exitCode = await runTaskLog(
        { master: opts.master, task: taskId, follow: opts.follow, stderr: opts.stderr, ...(opts.lines === undefined ? {} : { lines: opts.lines }) },
        { out: (bytes) => process.stdout.write(bytes), err: stdout.err },
      );
    });

  task
    .command('exec')
    .description("Run a command inside a running task's container; exits with the command's exit status.")
    .usage('[options] <task> -- <command> [args...]')
    .argument('<task>', 'the task id (or a unique prefix of it)')
    .argument('<command...>', 'the command and its arguments (after --)')
    .addOption(masterOption())
    .option('-i, --interactive', "send this terminal's stdin to the command", false)
    .option('-t, --tty', 'give the command a terminal (raw mode, window size) when stdin is one', false)
    .passThroughOptions()
    .addHelpText('after', '\nExamples:\n  agora task exec web-1 -- cat /proc/1/cmdline\n  agora task exec -it web-1 -- /bin/sh')
    .action(async (taskId: string, command: string[], opts: { master: string; interactive: boolean; tty: boolean }) => {
      // With pass-through options commander keeps the `--` that ends ours.
      const argv = command[0] === '--' ? command.slice(1) : command;
      process.exitCode = await runTaskExec({ master: opts.master, task: taskId, command: argv, interactive: opts.interactive, tty: opts.tty });
    });

  for (const command of task.commands) command.hook('preAction', (_this, action) => masterFromEnv(action));
  return task;
}

/** `--master` not given: AGORA_MASTER, else MESOS_MASTER (the Mesos CLI's variable), else the default. */
function masterFromEnv(command: Command): void {
  if (command.getOptionValueSource('master') !== 'default') return;
  for (const name of ['AGORA_MASTER', 'MESOS_MASTER']) {
    const value = process.env[name];
    if (value === undefined || value === '') continue;
    try {
      command.setOptionValueWithSource('master', parseMasterFlag(name)(value), 'env');
    } catch (err) {
      throw new AgoraError('AGORA_ERR_VALIDATION', (err as Error).message);
    }
    return;
  }
}
