/** `agora agent`: one agent on this machine, registered with a master (facts 7.1 for its flags). */
import os from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../main/logging.js';
import { startAgent } from '../main/agent.js';
import { parseLoggingLevel, runDaemon } from './daemon.js';
import { parseBool, parseDuration, parseMasterFlag, parsePort } from './flags.js';
import { addImageOptions, imageOptionsFrom } from './image-flags.js';
import { addIsolationOptions, isolationOptionsFrom } from './isolation-flags.js';
import { addNetworkOptions, networkOptionsFrom } from './network-flags.js';

export function agentCommand(): Command {
  const command = new Command('agent')
    .description("Run an agent: it offers this machine's resources to a master and runs tasks (like mesos-agent).")
    .requiredOption('--master <host:port>', 'the master to register with, or etcd://HOST:PORT[,...] to follow the leader', parseMasterFlag('--master'))
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort('--port'), 5051)
    .option('--hostname <name>', "hostname to advertise (default: this machine's hostname)")
    .option('--work-dir <dir>', 'where sandboxes and checkpoints go', join(os.tmpdir(), 'agora', 'agent'))
    .option(
      '--resources <resources>',
      'resources to offer, e.g. "cpus:4;mem:8192;disk:10000;ports:[31000-32000]" (default: what this machine has)',
    )
    .option('--attributes <attributes>', 'attributes, e.g. "rack:r1;zone:a"')
    .option(
      '--executor-shutdown-grace-period <duration>',
      'time a task gets between SIGTERM and SIGKILL when no kill policy says otherwise (default: 5secs)',
      parseDuration('--executor_shutdown_grace_period'),
    )
    .option(
      '--executor-registration-timeout <duration>',
      'time a custom or default executor has to subscribe before it is destroyed and its tasks fail (default: 1mins)',
      parseDuration('--executor_registration_timeout'),
    )
    .addOption(
      new Option('--reconfiguration-policy <policy>', 'what a restart may change and still recover its tasks: equal (nothing) or additive (resources may grow, attributes be added)')
        .choices(['equal', 'additive'])
        .default('additive'),
    )
    .addOption(
      new Option('--strict [bool]', 'a checkpoint file that cannot be read stops the agent (false: recover what can be read)').argParser(parseBool('--strict')).default(true),
    )
    .option('--log-dir <dir>', 'write logs to <dir>/agent.log instead of stderr')
    .addOption(
      new Option('--logging-level <level>', 'INFO, WARNING or ERROR').argParser(parseLoggingLevel).default('info', 'INFO'),
    );
  return addNetworkOptions(addIsolationOptions(addImageOptions(command))).action(async (opts: Record<string, unknown>) => {
      const logDir = opts['logDir'] as string | undefined;
      const images = imageOptionsFrom(opts);
      const logger = createLogger({
        name: 'agent',
        level: opts['loggingLevel'] as string,
        ...(logDir === undefined ? {} : { file: join(logDir, 'agent.log') }),
      });
      const optional = <T>(key: string, name: string): Record<string, T> =>
        opts[key] === undefined ? {} : { [name]: opts[key] as T };
      process.exitCode = await runDaemon(
        'agent',
        () =>
          startAgent({
            master: opts['master'] as string,
            ip: opts['ip'] as string,
            port: opts['port'] as number,
            workDir: opts['workDir'] as string,
            logger,
            ...optional<string>('hostname', 'hostname'),
            ...optional<string>('resources', 'resources'),
            ...optional<string>('attributes', 'attributes'),
            ...optional<number>('executorShutdownGracePeriod', 'executorShutdownGracePeriodMs'),
            ...optional<number>('executorRegistrationTimeout', 'executorRegistrationTimeoutMs'),
            reconfigurationPolicy: opts['reconfigurationPolicy'] as 'equal' | 'additive',
            strict: opts['strict'] as boolean,
            ...(images === undefined ? {} : { images }),
            ...isolationOptionsFrom(opts),
            ...networkOptionsFrom(opts),
          }),
        (handle) => {
          process.stdout.write(
            [
              'agora agent is running',
              `  agent    ${handle.url}   (state: ${handle.url}/state)`,
              `  master   ${(opts['master'] as string).startsWith('etcd://') ? '' : 'http://'}${opts['master'] as string}`,
              `  work dir ${opts['workDir'] as string}`,
              `  isolation ${handle.isolation.reason}`,
              `  logs     ${logDir === undefined ? 'stderr' : join(logDir, 'agent.log')}`,
              '',
            ].join('\n'),
          );
        },
      );
    });
}
