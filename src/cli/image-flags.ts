/** The agent's image flags (Mesos's names), shared by `agora agent` and `agora local`. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ImageOptions } from '../main/agent.js';
import { parseDuration } from './flags.js';

export function addImageOptions(command: Command): Command {
  return command
    .option(
      '--docker-registry <url-or-dir>',
      'where images come from: a Registry HTTP API v2 URL, or a directory of image tarballs named <repo>:<tag>.tar (default: https://registry-1.docker.io)',
    )
    .option('--docker-store-dir <dir>', 'where image layers are kept (default: <work_dir>/store/docker)')
    .option('--docker-config <path-or-json>', 'a Docker config.json (path or JSON text) with registry credentials')
    .option('--docker-pull-timeout <duration>', 'how long one image pull may take, apart from the task (default: 5mins)', parseDuration('--docker_pull_timeout'))
    .addOption(
      new Option('--image-provisioner-backend <backend>', 'how root filesystems are made: copy or overlay (default: overlay where it works)').argParser(
        (value: string) => {
          if (value !== 'copy' && value !== 'overlay') throw new InvalidArgumentError(`"${value}" is not a backend; use copy or overlay`);
          return value;
        },
      ),
    );
}

/** The image flags given, as the agent takes them; undefined when none was given. */
export function imageOptionsFrom(opts: Record<string, unknown>): ImageOptions | undefined {
  const out: ImageOptions = {};
  if (opts['dockerRegistry'] !== undefined) out.dockerRegistry = opts['dockerRegistry'] as string;
  if (opts['dockerStoreDir'] !== undefined) out.dockerStoreDir = opts['dockerStoreDir'] as string;
  if (opts['dockerConfig'] !== undefined) out.dockerConfig = opts['dockerConfig'] as string;
  if (opts['dockerPullTimeout'] !== undefined) out.pullTimeoutMs = opts['dockerPullTimeout'] as number;
  if (opts['imageProvisionerBackend'] !== undefined) out.provisionerBackend = opts['imageProvisionerBackend'] as 'copy' | 'overlay';
  return Object.keys(out).length === 0 ? undefined : out;
}
