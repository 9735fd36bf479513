/** `agora master`: one master on this machine (facts 12.1 for the flags it shares with Mesos). */
import os from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../main/logging.js';
import { startMaster } from '../main/master.js';
import { parseLoggingLevel, runDaemon } from './daemon.js';
import { parseDuration, parsePort } from './flags.js';

export function masterCommand(): Command {
  return new Command('master')
    .description('Run a master: it tracks agents and frameworks and offers resources (like mesos-master).')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort('--port'), 5050)
    .option('--hostname <name>', "hostname to advertise (default: this machine's hostname)")
    .option('--work-dir <dir>', 'where the master keeps its registry', join(os.tmpdir(), 'agora', 'master'))
    .addOption(
      new Option('--allocation-interval <duration>', 'time between allocation cycles')
        .argParser(parseDuration('--allocation_interval'))
        .default(1000, '1secs'),
    )
    .option('--log-dir <dir>', 'write logs to <dir>/master.log instead of stderr')
    .addOption(
      new Option('--logging-level <level>', 'INFO, WARNING or ERROR').argParser(parseLoggingLevel).default('info', 'INFO'),
    )
    .action(async (opts: Record<string, unknown>) => {
      const logDir = opts['logDir'] as string | undefined;
      const logger = createLogger({
        name: 'master',
        level: opts['loggingLevel'] as string,
        ...(logDir === undefined ? {} : { file: join(logDir, 'master.log') }),
      });
      process.exitCode = await runDaemon(
        'master',
        () =>
          startMaster({
            ip: opts['ip'] as string,
            port: opts['port'] as number,
            ...(opts['hostname'] === undefined ? {} : { hostname: opts['hostname'] as string }),
            workDir: opts['workDir'] as string,
            allocationIntervalMs: opts['allocationInterval'] as number,
            logger,
          }),
        (handle) => {
          process.stdout.write(
            [
              'agora master is running',
              `  master   ${handle.url}   (state: ${handle.url}/master/state)`,
              `  work dir ${opts['workDir'] as string}`,
              `  logs     ${logDir === undefined ? 'stderr' : join(logDir, 'master.log')}`,
              `try: npx agora agent --master ${handle.url.replace(/^https?:\/\//, '')} --work_dir /tmp/agora/agent`,
              '',
            ].join('\n'),
          );
        },
      );
    });
}
