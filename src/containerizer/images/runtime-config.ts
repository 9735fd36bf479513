/**
 * Mesos's docker/runtime isolator as a pure function: the command, environment, working
 * directory and user of a task that runs in an image, from its CommandInfo and the image config.
 */

/** The runtime part of an image's config (`config` in the OCI/Docker image config JSON). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  /** `NAME=value` entries. */
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

/** The task's CommandInfo, as given (Mesos's default for `shell` is true). */
export interface TaskCommand {
  shell?: boolean;
  value?: string;
  arguments?: string[];
}

export type ResolvedCommand = { shell: true; value: string } | { shell: false; value: string; argv: string[] };

export interface ImageLaunchPlan {
  command: ResolvedCommand;
  env: Record<string, string>;
  /** The image's WorkingDir; absent means the sandbox. */
  workingDir?: string;
  /** The task's user, else the image's User; absent means the agent's choice (root). */
  user?: string;
}

/**
 * Applies the table of Mesos's docs/isolators/docker-runtime.md:
 * - shell=true: `/bin/sh -c value`; the image's Entrypoint and Cmd are ignored; no value is an error.
 * - shell=false with a value: exec value with the task's arguments; the image's are ignored.
 * - shell=false without a value: Entrypoint (all of it) then the task's arguments, or the image's
 *   Cmd when the task has none; without an Entrypoint, Cmd[0] then the task's arguments or Cmd[1..].
 * Environment: the agent's (`env`), then the image's Env, then the task's (`taskEnv`), later wins.
 */
export function planImageLaunch(
  task: { command: TaskCommand; env: Record<string, string>; taskEnv: Record<string, string>; user?: string },
  image: ImageRuntimeConfig,
): ImageLaunchPlan | { error: string } {
  const command = resolveCommand(task.command, image);
  if ('error' in command) return command;
  const env: Record<string, string> = { ...task.env, ...imageEnv(image.Env ?? []), ...task.taskEnv };
  const user = task.user !== undefined && task.user !== '' ? task.user : image.User !== undefined && image.User !== '' ? image.User : undefined;
  return {
    command,
    env,
    ...(image.WorkingDir === undefined || image.WorkingDir === '' ? {} : { workingDir: image.WorkingDir }),
    ...(user === undefined ? {} : { user }),
  };
}

function resolveCommand(task: TaskCommand, image: ImageRuntimeConfig): ResolvedCommand | { error: string } {
  const shell = task.shell ?? true;
  const value = task.value ?? '';
  const args = task.arguments ?? [];
  if (shell) {
    if (value === '') return { error: 'CommandInfo.shell is true but CommandInfo.value is empty: give the shell command in value, or set shell=false to run the image\'s entrypoint' };
    return { shell: true, value };
  }
  if (value !== '') return { shell: false, value, argv: args.length > 0 ? args : [value] };
  const entrypoint = image.Entrypoint ?? [];
  const cmd = image.Cmd ?? [];
  if (entrypoint.length > 0) {
    return { shell: false, value: entrypoint[0]!, argv: [...entrypoint, ...(args.length > 0 ? args : cmd)] };
  }
  if (cmd.length > 0) {
    return { shell: false, value: cmd[0]!, argv: [cmd[0]!, ...(args.length > 0 ? args : cmd.slice(1))] };
  }
  return {
    error: 'The image has neither an Entrypoint nor a Cmd and CommandInfo.value is empty: give the command to run in CommandInfo.value',
  };
}

function imageEnv(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/**
 * A Docker `User` (`name`, `uid`, `name:group`, `uid:gid`) to ids, using the image's own
 * /etc/passwd and /etc/group text. Undefined when a name is not found there.
 */
export function resolveImageUser(
  user: string,
  passwd: string,
  group: string,
): { name: string; uid: number; gid: number } | undefined {
  const [userPart = '', groupPart] = user.split(':', 2);
  const users = parseColonFile(passwd);
  const entry = /^\d+$/.test(userPart) ? users.find((u) => u[2] === userPart) : users.find((u) => u[0] === userPart);
  let uid: number;
  let gid: number;
  let name: string;
  if (entry !== undefined) {
    name = entry[0]!;
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (/^\d+$/.test(userPart)) {
    name = userPart;
    uid = Number(userPart);
    gid = uid;
  } else {
    return undefined;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = parseColonFile(group).find((e) => e[0] === groupPart);
      if (g === undefined) return undefined;
      gid = Number(g[2]);
    }
  }
  return { name, uid, gid };
}

function parseColonFile(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]!));
}
