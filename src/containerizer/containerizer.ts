/**
 * The containerizer: turns a container request from the agent into a running container. It
 * decides the user, prepares the sandbox and hands the process to a Launcher; no task logic.
 */
import type { ContainerProcess, ExitStatus, LaunchSpec, Launcher } from './launcher.js';
import { LaunchError } from './launcher.js';
import { prepareSandbox } from './sandbox.js';
import { agentIsRoot, agentUserName, lookupUser } from './users.js';

export interface ContainerConfig {
  containerId: string;
  /** The run's sandbox, `<work_dir>/slaves/.../runs/<containerId>`; created here. */
  directory: string;
  command: LaunchSpec['command'];
  /** Everything the process sees; USER and LOGNAME default to the user it runs as. */
  env: Record<string, string>;
  /** CommandInfo.user or FrameworkInfo.user; absent or empty means the agent's own user. */
  user?: string;
}

export interface Container {
  readonly containerId: string;
  readonly pid: number;
  readonly directory: string;
  /** The user the process runs as. */
  readonly user: string;
  wait(): Promise<ExitStatus>;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export class Containerizer {
  constructor(readonly launcher: Launcher) {}

  /**
   * Creates the sandbox and starts the container. Rejects with LaunchError when the user does
   * not exist, the sandbox cannot be made, or the process cannot be started.
   */
  async launch(config: ContainerConfig): Promise<Container> {
    const user = await this.resolveUser(config.user);
    let files;
    try {
      files = await prepareSandbox(config.directory, user);
    } catch (err) {
      throw new LaunchError(`Failed to prepare sandbox '${config.directory}': ${(err as Error).message}`);
    }
    const name = user?.name ?? agentUserName();
    const process: ContainerProcess = await this.launcher.launch({
      containerId: config.containerId,
      command: config.command,
      env: { USER: name, LOGNAME: name, ...config.env },
      workDir: files.directory,
      stdoutPath: files.stdoutPath,
      stderrPath: files.stderrPath,
      ...(user === undefined ? {} : { user }),
    });
    return {
      containerId: config.containerId,
      pid: process.pid,
      directory: files.directory,
      user: name,
      wait: () => process.wait(),
      kill: (signal) => process.kill(signal),
    };
  }

  /**
   * NOTE: Mesos with `--switch_user` fails a task whose user it cannot switch to. An agent that
   * is not root cannot switch at all, so agora runs every task as the agent's own user then
   * (what Mesos does with `--no-switch_user`) instead of failing them all.
   */
  private async resolveUser(requested: string | undefined): Promise<{ name: string; uid: number; gid: number } | undefined> {
    if (requested === undefined || requested === '' || !agentIsRoot()) return undefined;
    const entry = await lookupUser(requested);
    if (entry === undefined) {
      throw new LaunchError(`Failed to launch container as user '${requested}': no such user on this agent`);
    }
    return { name: entry.name, uid: entry.uid, gid: entry.gid };
  }
}
