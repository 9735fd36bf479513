/**
 * `agora local`: a master and N agents in one process (like mesos-local), the one-command
 * cluster for a laptop, for tests and for the README's first command.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { startLocal } from '../main/local.js';
import { runDaemon } from './daemon.js';
import { parseCount, parseDuration, parsePort } from './flags.js';
import { addImageOptions, imageOptionsFrom } from './image-flags.js';
import { addIsolationOptions, isolationOptionsFrom } from './isolation-flags.js';
import { addNetworkOptions, networkOptionsFrom } from './network-flags.js';

export function localCommand(): Command {
  const command = new Command('local')
    .description('Run a master and N agents in one process: a whole cluster on this machine (like mesos-local).')
    .option('--agents <n>', 'number of agents', parseCount('--agents'), 1)
    .option('--num-slaves <n>', 'same as --agents (mesos-local spelling)', parseCount('--num_slaves'))
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'master port; agents get the next ports (0 = any free ports)', parsePort('--port'), 5050)
    .option('--work-dir <dir>', 'where the master and the agents keep their files', join(os.tmpdir(), 'agora', 'local'))
    .option('--log-dir <dir>', 'where master.log and agent-N.log go (default: <work_dir>/logs)')
    .option('--resources <resources>', "resources each agent offers (default: this machine's)")
    .option('--attributes <attributes>', 'attributes of each agent, e.g. "rack:r1"')
    .option('--allocation-interval <duration>', 'time between allocation cycles (default: 1secs)', parseDuration('--allocation_interval'));
  return addNetworkOptions(addIsolationOptions(addImageOptions(command))).action(async (opts: Record<string, unknown>) => {
      const workDir = opts['workDir'] as string;
      const logDir = (opts['logDir'] as string | undefined) ?? join(workDir, 'logs');
      const agents = (opts['numSlaves'] as number | undefined) ?? (opts['agents'] as number);
      const optional = <T>(key: string, name: string): Record<string, T> =>
        opts[key] === undefined ? {} : { [name]: opts[key] as T };
      process.exitCode = await runDaemon(
        'local',
        () =>
          startLocal({
            ip: opts['ip'] as string,
            port: opts['port'] as number,
            agents,
            workDir,
            logDir,
            ...optional<string>('resources', 'resources'),
            ...optional<string>('attributes', 'attributes'),
            ...optional<number>('allocationInterval', 'allocationIntervalMs'),
            ...(imageOptionsFrom(opts) === undefined ? {} : { images: imageOptionsFrom(opts)! }),
            isolation: isolationOptionsFrom(opts),
            network: networkOptionsFrom(opts),
          }),
        (handle) => {
          const master = handle.masterUrl;
          const lines = [
            'agora local is running',
            `  master   ${master}   (state: ${master}/master/state)`,
            ...handle.agentUrls.map((url, i) => `  agent    ${url}   work dir ${join(handle.workDir, 'agents', String(i))}`),
            `  logs     ${logDir}`,
            ...(handle.isolation === undefined ? [] : [`  isolation ${handle.isolation.reason}`]),
            `try: npx agora execute --master ${master.replace(/^https?:\/\//, '')} --name hello --command 'echo hello from agora' --resources 'cpus:0.1;mem:32'`,
            '',
          ];
          process.stdout.write(lines.join('\n'));
        },
      );
    });
}
