/**
 * The image isolator (Mesos's filesystem/linux rootfs part plus docker/runtime): a container
 * whose ContainerInfo has `mesos.image` gets a rootfs provisioned from it, and the image's
 * entrypoint, cmd, env, working dir and user as Mesos applies them. Released when it ends.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerInfo, describeIssues } from '../../api/index.js';
import type { ContainerRequest, Isolator, LaunchPatch } from '../isolator.js';
import { LaunchError, type LaunchSpec } from '../launcher.js';
import type { ProvisionedRootfs, Provisioner } from './provisioner.js';
import { planImageLaunch, resolveImageUser, type TaskCommand } from './runtime-config.js';

/** The decoded ContainerInfo of a request, or undefined without one; LaunchError naming the bad field. */
export function decodeContainerInfo(raw: unknown): ContainerInfo | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parsed = ContainerInfo.safeParse(raw);
  if (!parsed.success) throw new LaunchError(describeIssues(parsed.error, 'TaskInfo.container'));
  return parsed.data;
}

export interface ImageIsolatorOptions {
  provisioner: Provisioner;
  /** Whether the launcher can use a rootfs (oci); without it image tasks fail with the fix. */
  isolates: boolean;
  /** Whether the agent can switch users (root); an image's User is used only then. */
  canSwitchUser: boolean;
}

export class ImageIsolator implements Isolator {
  readonly name = 'docker/runtime';
  private readonly rootfses = new Map<string, ProvisionedRootfs>();

  constructor(private readonly options: ImageIsolatorOptions) {}

  async prepare(request: ContainerRequest, spec: Readonly<LaunchSpec>): Promise<LaunchPatch | undefined> {
    const info = decodeContainerInfo(request.containerInfo);
    const image = info?.mesos?.image;
    if (info === undefined || image === undefined) return undefined;
    if (info.type !== 'MESOS') {
      throw new LaunchError('TaskInfo.container.type DOCKER needs the Docker containerizer, which agora does not have; use type MESOS with mesos.image');
    }
    if (image.type !== 'DOCKER' || image.docker === undefined) {
      throw new LaunchError(`TaskInfo.container.mesos.image: only DOCKER images are supported (got ${image.type}${image.docker === undefined ? ' without docker.name' : ''}); set type DOCKER and docker.name`);
    }
    if (!this.options.isolates) {
      throw new LaunchError(`Container image '${image.docker.name}' needs --isolation=oci (as root); this agent runs tasks with the posix launcher`);
    }
    let provisioned: ProvisionedRootfs;
    try {
      provisioned = await this.options.provisioner.provision(request.containerId, {
        name: image.docker.name,
        ...(image.cached === undefined ? {} : { cached: image.cached }),
      });
    } catch (err) {
      throw new LaunchError((err as Error).message);
    }
    this.rootfses.set(request.containerId, provisioned);

    const taskEnv = { ...(request.commandEnv ?? {}) };
    const plan = planImageLaunch(
      {
        command: taskCommandOf(spec.command),
        env: spec.env,
        taskEnv,
        ...(spec.user === undefined ? {} : { user: spec.user.name }),
      },
      provisioned.config,
    );
    if ('error' in plan) throw new LaunchError(`Cannot run image '${image.docker.name}': ${plan.error}`);

    let user: LaunchSpec['user'];
    if (spec.user === undefined && plan.user !== undefined && this.options.canSwitchUser) {
      const read = (f: string) => readFile(join(provisioned.rootfs, 'etc', f), 'utf8').catch(() => '');
      user = resolveImageUser(plan.user, await read('passwd'), await read('group'));
      if (user === undefined) {
        throw new LaunchError(`Image '${image.docker.name}' runs as user '${plan.user}', which its /etc/passwd does not have; set CommandInfo.user`);
      }
    }
    return {
      rootfs: provisioned.rootfs,
      command: plan.command,
      env: plan.env,
      ...(plan.workingDir === undefined ? {} : { workingDir: plan.workingDir }),
      ...(user === undefined ? {} : { user }),
    };
  }

  async cleanup(containerId: string): Promise<void> {
    const provisioned = this.rootfses.get(containerId);
    this.rootfses.delete(containerId);
    await provisioned?.release().catch(() => undefined);
  }
}

/**
 * The task's CommandInfo back from the resolved command the agent core made: a shell command,
 * or an executable (empty when the task gave none, for the image's entrypoint) and arguments.
 */
export function taskCommandOf(command: LaunchSpec['command']): TaskCommand {
  if (command.shell) return { shell: true, value: command.value };
  if (command.value === '') return { shell: false, arguments: command.argv };
  return { shell: false, value: command.value, arguments: command.argv };
}
