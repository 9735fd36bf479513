/**
 * Containers nested in an executor's container (facts 8.5): the tasks of a task group, which the
 * default executor launches, waits for and kills through the agent's Operator API
 * (LAUNCH_CONTAINER, WAIT_CONTAINER, KILL_CONTAINER, REMOVE_CONTAINER; http/nested-containers.ts).
 * Each has its own sandbox under its parent's (`<parent>/containers/<id>`), its own resources,
 * command and image, shares its parent's network namespace, and dies with its parent.
 */
import type { Logger } from 'pino';
import type { ContainerID, LaunchContainerCall } from '../api/index.js';
import { AgoraError } from '../base/index.js';
import { type Container, type Containerizer, describeExit, type ExitStatus, LaunchError } from '../containerizer/index.js';
import { containerResources, HOST_DEFAULT_PATH } from './core/index.js';

/** What a nested container takes from its parent (an executor's running container). */
export interface ParentContainer {
  frameworkId: string;
  executorId: string;
  directory: string;
  /** The user the parent runs as: the default for its tasks. */
  user: string;
  /** The parent's network namespace (a CNI network's), which the child joins; undefined: the host's. */
  networkNamespacePath?: string;
}

/** WAIT_CONTAINER's answer (agent.Response.WaitContainer). */
export interface ContainerTermination {
  /** The wait status, as waitpid(2) gives it. */
  exit_status?: number;
  state?: 'TASK_FAILED';
  reason?: string;
  message?: string;
  limitation?: { resources: unknown[] };
}

interface Nested {
  readonly id: ContainerID;
  readonly parent: string;
  readonly frameworkId: string;
  readonly executorId: string;
  readonly directory: string;
  container?: Container;
  /** Settles once the container is gone (or its launch failed), with how it ended. */
  readonly done: Promise<ContainerTermination>;
  termination?: ContainerTermination;
}

export class NestedContainers {
  private readonly byId = new Map<string, Nested>();
  private readonly lifecycles = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: {
      containerizer: Containerizer;
      logger: Logger;
      /** The running executor container with this id, or undefined. */
      parent: (containerId: string) => ParentContainer | undefined;
    },
  ) {}

  /**
   * Starts a container under `call.container_id.parent`. Resolves 'launched', or 'exists' when a
   * container with this id is already known (LAUNCH_CONTAINER is idempotent); rejects with an
   * AgoraError (400 for a bad request, 500 when the container could not be started).
   */
  async launch(call: LaunchContainerCall): Promise<'launched' | 'exists'> {
    const id = call.container_id;
    if (this.byId.has(id.value)) return 'exists';
    const parentId = id.parent;
    if (parentId === undefined) {
      throw new AgoraError('AGORA_ERR_VALIDATION', "'container_id.parent' is missing: agora launches nested containers only (tasks of a group under their executor)");
    }
    if (parentId.parent !== undefined) throw new AgoraError('AGORA_ERR_VALIDATION', 'Containers nested more than one level deep are not supported by this agent');
    if (!/^[A-Za-z0-9_.-]{1,242}$/.test(id.value)) {
      throw new AgoraError('AGORA_ERR_VALIDATION', `'container_id.value' "${id.value}" must be 1-242 letters, digits, '_', '.' or '-'`);
    }
    const parent = this.deps.parent(parentId.value);
    if (parent === undefined) throw new AgoraError('AGORA_ERR_VALIDATION', `Parent container ${parentId.value} cannot be found: it is not a running executor's`);
    const command = call.command;
    const value = command?.value ?? '';
    if (command === undefined && !hasImage(call.container)) throw new AgoraError('AGORA_ERR_VALIDATION', "'command' is missing");
    const shell = command?.shell ?? true;
    const argv = command?.arguments ?? [];

    const directory = `${parent.directory}/containers/${id.value}`;
    const commandEnv: Record<string, string> = {};
    for (const variable of command?.environment?.variables ?? []) commandEnv[variable.name] = variable.value ?? '';
    let settle!: (termination: ContainerTermination) => void;
    const nested: Nested = {
      id,
      parent: parentId.value,
      frameworkId: parent.frameworkId,
      executorId: parent.executorId,
      directory,
      done: new Promise((resolve) => (settle = resolve)),
    };
    this.byId.set(id.value, nested);
    const log = this.deps.logger.child({ containerId: id.value, parent: parentId.value });

    let container: Container;
    try {
      container = await this.deps.containerizer.launch({
        containerId: id.value,
        directory,
        command: shell ? { shell: true, value } : { shell: false, value, argv: argv.length > 0 || value === '' ? argv : [value] },
        // Nested containers do not inherit their parent's environment; their command says what they need.
        env: { PATH: HOST_DEFAULT_PATH, HOME: directory, MESOS_SANDBOX: directory, ...commandEnv },
        user: command?.user ?? parent.user,
        resources: containerResources({ resources: call.resources ?? [] }),
        ...(call.container === undefined ? {} : { containerInfo: call.container, commandEnv }),
        parent: { directory: parent.directory, ...(parent.networkNamespacePath === undefined ? {} : { networkNamespacePath: parent.networkNamespacePath }) },
      });
    } catch (err) {
      const message = err instanceof LaunchError ? err.message : `Failed to launch container: ${(err as Error).message}`;
      log.warn({ error: message }, 'nested container launch failed');
      this.byId.delete(id.value);
      settle({ state: 'TASK_FAILED', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message });
      throw new AgoraError('AGORA_ERR_INTERNAL', message);
    }
    nested.container = container;
    log.info({ pid: container.pid, directory }, 'nested container launched');
    const lifecycle = container.wait().then((exit) => {
      nested.termination = terminationOf(exit);
      nested.container = undefined;
      log.info({ exit: describeExit(exit) }, 'nested container exited');
      settle(nested.termination);
    });
    this.lifecycles.add(lifecycle);
    void lifecycle.finally(() => this.lifecycles.delete(lifecycle));
    return 'launched';
  }

  /** Resolves when the container has ended; 404 for a container this agent does not know. */
  wait(id: ContainerID): Promise<ContainerTermination> {
    return this.known(id).done;
  }

  /** Sends `signal` (a number: 15 SIGTERM, 9 SIGKILL, the default) to the container's processes. */
  kill(id: ContainerID, signal: number | undefined): void {
    const nested = this.known(id);
    const name = signal === undefined || signal === 9 ? 'SIGKILL' : signal === 15 ? 'SIGTERM' : undefined;
    if (name === undefined) throw new AgoraError('AGORA_ERR_VALIDATION', `'signal' ${signal} is not supported: send 15 (SIGTERM) or 9 (SIGKILL)`);
    nested.container?.kill(name);
  }

  /** Forgets a container that has ended (its sandbox stays, for the framework to read). */
  remove(id: ContainerID): void {
    const nested = this.known(id);
    if (nested.termination === undefined) throw new AgoraError('AGORA_ERR_CONFLICT', `Container ${id.value} is still running; kill it and wait for it first`);
    this.byId.delete(id.value);
  }

  /** Kills every container nested in `parent` (which is gone) and resolves once they are all gone. */
  async destroyChildren(parent: string): Promise<void> {
    const children = [...this.byId.values()].filter((n) => n.parent === parent);
    for (const child of children) child.container?.kill('SIGKILL');
    await Promise.all(children.map((c) => c.done));
    for (const child of children) this.byId.delete(child.id.value);
  }

  /** The nested containers running now, for GET_CONTAINERS and `/containers`. */
  running(): Array<{ id: ContainerID; frameworkId: string; executorId: string; container: Container }> {
    return [...this.byId.values()].flatMap((n) =>
      n.container === undefined ? [] : [{ id: n.id, frameworkId: n.frameworkId, executorId: n.executorId, container: n.container }],
    );
  }

  /** Resolves once no nested container is left running. */
  async drained(): Promise<void> {
    while (this.lifecycles.size > 0) await Promise.allSettled([...this.lifecycles]);
  }

  private known(id: ContainerID): Nested {
    const nested = this.byId.get(id.value);
    if (nested === undefined || (id.parent !== undefined && id.parent.value !== nested.parent)) {
      throw new AgoraError('AGORA_ERR_NOT_FOUND', `Container ${id.value} cannot be found`);
    }
    return nested;
  }
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function terminationOf(exit: ExitStatus): ContainerTermination {
  const status = exit.code !== undefined ? (exit.code & 0xff) << 8 : SIGNAL_NUMBERS[exit.signal];
  const limitation = exit.limitation;
  return {
    ...(status === undefined ? {} : { exit_status: status }),
    ...(limitation === undefined
      ? {}
      : {
          state: 'TASK_FAILED' as const,
          reason: limitation.reason,
          message: limitation.message,
          limitation: { resources: [{ name: limitation.resource.name, type: 'SCALAR', scalar: { value: limitation.resource.valueMb } }] },
        }),
  };
}

function hasImage(container: unknown): boolean {
  return typeof container === 'object' && container !== null && (container as { mesos?: { image?: unknown } }).mesos?.image !== undefined;
}
