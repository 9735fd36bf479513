/** `agora sim agents`: N hollow agents in this process, registered with a real master over HTTP. */
import { Command } from 'commander';
import { createLogger } from '../main/logging.js';
import { startHollowAgents } from '../main/sim-http.js';
import { runDaemon } from './daemon.js';

export function simAgentsCommand(): Command {
  return new Command('agents')
    .description('Run N hollow agents against a real master over HTTP (they register, hold resources and fake task lifecycles).')
    .requiredOption('--master <host:port>', 'the master to register with')
    .option('--count <n>', 'how many hollow agents', (v) => Number(v), 100)
    .option('--resources <resources>', 'resources of each hollow agent', 'cpus:32;mem:131072;disk:1000000;ports:[31000-32000]')
    .action(async (opts: { master: string; count: number; resources: string }) => {
      const logger = createLogger({ name: 'hollow-agents' });
      process.exitCode = await runDaemon(
        'sim agents',
        async () => {
          const handle = await startHollowAgents({ master: opts.master, count: opts.count, resources: opts.resources, logger });
          return { url: `http://${opts.master}`, stop: async () => handle.stop(), registered: handle.registered };
        },
        (handle) => process.stdout.write(`agora sim agents: ${opts.count} hollow agents subscribing to ${handle.url}\n`),
      );
    });
}
