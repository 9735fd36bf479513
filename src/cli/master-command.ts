/** `agora master`: one master on this machine (facts 12.1 for the flags it shares with Mesos). */
import os from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../main/logging.js';
import { startMaster } from '../main/master.js';
import { parseLoggingLevel, runDaemon } from './daemon.js';
import { parseCount, parseDuration, parsePort } from './flags.js';

export function masterCommand(): Command {
  return new Command('master')
    .description('Run a master: it tracks agents and frameworks and offers resources (like mesos-master).')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort('--port'), 5050)
    .option('--hostname <name>', "hostname to advertise (default: this machine's hostname)")
    .option('--work-dir <dir>', 'where the master keeps its registry', join(os.tmpdir(), 'agora', 'master'))
    .option(
      '--registry <where>',
      'file (<work_dir>/registry.json), in_memory (tests), or etcd://HOST:PORT[,HOST:PORT...][/prefix] for HA masters',
      'file',
    )
    .addOption(
      new Option('--agent-ping-timeout <duration>', 'time an agent has to answer a ping from the master')
        .argParser(parseDuration('--agent_ping_timeout'))
        .default(15_000, '15secs'),
    )
    .addOption(
      new Option('--max-agent-ping-timeouts <n>', 'pings an agent may leave unanswered in a row before it is marked unreachable')
        .argParser(parseCount('--max_agent_ping_timeouts', 1))
        .default(5),
    )
    .option(
      '--agent-removal-rate-limit <rate>',
      'at most this many agents marked unreachable per duration when they fail their pings, e.g. 1/10mins (default: no limit)',
    )
    .addOption(
      new Option('--agent-reregister-timeout <duration>', 'how long agents may take to re-register after a master failover or a disconnection')
        .argParser(parseDuration('--agent_reregister_timeout'))
        .default(600_000, '10mins'),
    )
    .addOption(
      new Option('--registry-gc-interval <duration>', 'how often unreachable and gone agents are pruned from the registry')
        .argParser(parseDuration('--registry_gc_interval'))
        .default(900_000, '15mins'),
    )
    .addOption(
      new Option('--registry-max-agent-age <duration>', 'prune unreachable and gone agents older than this')
        .argParser(parseDuration('--registry_max_agent_age'))
        .default(14 * 86_400_000, '2weeks'),
    )
    .addOption(
      new Option('--registry-max-agent-count <n>', 'keep at most this many unreachable (and as many gone) agents')
        .argParser(parseCount('--registry_max_agent_count', 0))
        .default(102_400),
    )
    .addOption(
      new Option('--leader-lease-ttl <duration>', 'etcd lease of the leading master: a standby takes over within about this long')
        .argParser(parseDuration('--leader_lease_ttl'))
        .default(2_000, '2secs'),
    )
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
            registry: opts['registry'] as string,
            agentPingTimeoutMs: opts['agentPingTimeout'] as number,
            maxAgentPingTimeouts: opts['maxAgentPingTimeouts'] as number,
            ...(opts['agentRemovalRateLimit'] === undefined ? {} : { agentRemovalRateLimit: opts['agentRemovalRateLimit'] as string }),
            agentReregisterTimeoutMs: opts['agentReregisterTimeout'] as number,
            registryGcIntervalMs: opts['registryGcInterval'] as number,
            registryMaxAgentAgeMs: opts['registryMaxAgentAge'] as number,
            registryMaxAgentCount: opts['registryMaxAgentCount'] as number,
            leaderLeaseTtlSeconds: (opts['leaderLeaseTtl'] as number) / 1000,
            logger,
          }),
        (handle) => {
          const registry = opts['registry'] as string;
          const ha = registry.startsWith('etcd://');
          process.stdout.write(
            [
              'agora master is running',
              `  master   ${handle.url}   (state: ${handle.url}/master/state)`,
              ha ? `  registry ${registry}   (leader election in etcd; standbys redirect to the leader)` : `  registry ${registry}`,
              `  work dir ${opts['workDir'] as string}`,
              `  logs     ${logDir === undefined ? 'stderr' : join(logDir, 'master.log')}`,
              `try: npx agora agent --master ${ha ? registry : handle.url.replace(/^https?:\/\//, '')} --work_dir /tmp/agora/agent`,
              '',
            ].join('\n'),
          );
        },
      );
    });
}
