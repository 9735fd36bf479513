/**
 * The agent's runtime: feeds inputs to the agent core and carries out its effects (containers,
 * signals, real timers, status forwards). It decides nothing; the core does.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { TaskState, TaskStatus } from '../api/index.js';
import type { Clock } from '../base/index.js';
import { type Container, type Containerizer, describeExit, LaunchError } from '../containerizer/index.js';
import { AgentCheckRunner } from './checks.js';
import { checkpointPid } from './checkpoint/pids.js';
import type { CheckpointWriter } from './checkpoint/writer.js';
import type { AdoptedContainer } from './recovery.js';
import { containerExit } from './recovery.js';
import { listenInNetworkNamespace } from './netns-endpoint.js';
import {
  type AgentCore,
  type AgentEffect,
  type AgentInput,
  type AgentTimer,
  type ContainerLaunch,
  type ExecutorEventOut,
  timerKey,
} from './core/index.js';

/** Node's setTimeout cannot wait longer than 2^31-1 ms; longer timers re-arm in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The wall and monotonic clocks of this process. */
export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  realtimeMs: () => Date.now(),
};

export interface StatusForwarder {
  forwardStatus(frameworkId: string, status: TaskStatus, latestState: TaskState): void;
}

/** Where the effects of custom and default executors go: their streams, the master, their nested containers. */
export interface ExecutorSinks {
  streams: { send(frameworkId: string, executorId: string, event: ExecutorEventOut): void; close(frameworkId: string, executorId: string): void };
  master: { executorMessage(frameworkId: string, executorId: string, data: string): void; executorExited(frameworkId: string, executorId: string, status?: number): void };
  /** Kills what runs nested in a container that ended, resolving once it is gone. */
  nested: { destroyChildren(parentContainerId: string): Promise<void> };
  /** Serves a connection to the agent's endpoint made inside an executor's own network namespace. */
  serve?: (socket: Socket) => void;
}

export class AgentRuntime {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly containers = new Map<string, Container>();
  /** One promise per container, settled once its process is gone and the core knows it. */
  private readonly lifecycles = new Set<Promise<void>>();
  private forwarder: StatusForwarder | undefined;
  private checkpoints: CheckpointWriter | undefined;
  /** Per task, the checkpoint write its next forward must wait for (facts 2.2: checkpoint, then forward). */
  private readonly checkpointWrites = new Map<string, Promise<void>>();
  private executorSinks: ExecutorSinks | undefined;
  /** Probes of command tasks' health checks and checks. */
  private readonly checks: AgentCheckRunner;

  constructor(
    readonly core: AgentCore,
    private readonly deps: { clock: Clock; containerizer: Containerizer; logger: Logger },
  ) {
    deps.containerizer.onLimitation((containerId, limitation) => this.dispatch({ kind: 'containerLimitation', containerId, limitation }));
    this.checks = new AgentCheckRunner({
      pidOf: (containerId) => this.containers.get(containerId)?.pid,
      dispatch: (input) => this.dispatch(input),
      logger: deps.logger,
    });
  }

  /** Where executors' events, messages and exits go; set once the HTTP server and link exist. */
  setExecutorSinks(sinks: ExecutorSinks): void {
    this.executorSinks = sinks;
  }

  /** Where checkpoints go (src/agent/checkpoint/writer.ts). */
  setCheckpointWriter(writer: CheckpointWriter): void {
    this.checkpoints = writer;
  }

  /**
   * Watches a container a previous agent launched (agent recovery), as launch() watches its own:
   * its exit reaches the core, which the `recover` input has told about it.
   */
  adopt(adopted: AdoptedContainer): void {
    const { container } = adopted;
    const { containerId } = container;
    const log = this.deps.logger.child({ containerId, frameworkId: adopted.frameworkId, executorId: adopted.executorId });
    this.containers.set(containerId, container);
    log.info({ pid: container.pid }, 'recovered a running container');
    const lifecycle = (async () => {
      const exit = await container.wait();
      this.containers.delete(containerId);
      this.checks.abortContainer(containerId);
      await this.checkpoints?.containerExited(adopted.metaDirectory);
      log.info({ exit }, 'container exited');
      this.dispatch({ kind: 'containerExited', containerId, exit: containerExit(exit) });
    })();
    this.lifecycles.add(lifecycle);
    void lifecycle.finally(() => this.lifecycles.delete(lifecycle));
  }

  /** Where STATUS_UPDATE calls go (the master link); set once the link exists. */
  setForwarder(forwarder: StatusForwarder): void {
    this.forwarder = forwarder;
  }

  /** Applies one input to the core and carries out every effect, in order. */
  dispatch(input: AgentInput): void {
    for (const effect of this.core.handle(input)) this.apply(effect);
  }

  /** Resolves once every container has exited and the core has seen it. */
  async drained(): Promise<void> {
    while (this.lifecycles.size > 0) await Promise.allSettled([...this.lifecycles]);
  }

  /** Cancels every timer: after this the runtime holds the event loop open no more. */
  stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Pids of running containers, for tests and diagnostics. */
  containerPids(): number[] {
    return [...this.containers.values()].map((c) => c.pid);
  }

  /** The running containers, for `/monitor/statistics` and GET_CONTAINERS. */
  runningContainers(): Container[] {
    return [...this.containers.values()];
  }

  private apply(effect: AgentEffect): void {
    switch (effect.kind) {
      case 'launchContainer':
        this.launch(effect.launch);
        break;
      case 'signalContainer':
        this.deps.logger.info({ containerId: effect.containerId, signal: effect.signal }, 'signalling container');
        this.containers.get(effect.containerId)?.kill(effect.signal);
        break;
      case 'forwardStatus': {
        const key = `${effect.frameworkId}\u0000${effect.status.task_id.value}`;
        const written = this.checkpointWrites.get(key);
        if (written === undefined) this.forwarder?.forwardStatus(effect.frameworkId, effect.status, effect.latestState);
        else void written.then(() => this.forwarder?.forwardStatus(effect.frameworkId, effect.status, effect.latestState));
        break;
      }
      case 'checkpointTask': {
        if (this.checkpoints === undefined) break;
        const { checkpoint } = effect;
        const key = `${checkpoint.frameworkId}\u0000${checkpoint.task.task_id.value}`;
        const written = this.checkpoints.task(checkpoint);
        this.checkpointWrites.set(key, written);
        void written.then(() => {
          if (this.checkpointWrites.get(key) === written) this.checkpointWrites.delete(key);
        });
        break;
      }
      case 'startTimer':
        this.startTimer(effect.timer, effect.atMs);
        break;
      case 'cancelTimer':
        this.cancelTimer(timerKey(effect.timer));
        break;
      case 'runCheck':
        this.checks.run(effect);
        break;
      case 'abortCheck':
        this.checks.abort(effect);
        break;
      case 'executorEvent':
        this.executorSinks?.streams.send(effect.frameworkId, effect.executorId, effect.event);
        break;
      case 'closeExecutorStream':
        this.executorSinks?.streams.close(effect.frameworkId, effect.executorId);
        break;
      case 'executorMessage':
        this.executorSinks?.master.executorMessage(effect.frameworkId, effect.executorId, effect.data);
        break;
      case 'executorExited':
        this.executorSinks?.master.executorExited(effect.frameworkId, effect.executorId, effect.status);
        break;
      case 'log':
        this.deps.logger[effect.level](effect.message);
        break;
    }
  }

  private launch(launch: ContainerLaunch): void {
    const { containerId } = launch;
    const log = this.deps.logger.child({ containerId, frameworkId: launch.frameworkId, executorId: launch.executorId });
    const lifecycle = (async () => {
      let container: Container;
      try {
        container = await this.deps.containerizer.launch({
          containerId,
          directory: launch.directory,
          command: launch.command,
          env: launch.env,
          resources: launch.resources,
          ...(launch.container === undefined ? {} : { containerInfo: launch.container }),
          ...(launch.commandEnv === undefined ? {} : { commandEnv: launch.commandEnv }),
          ...(launch.user === undefined ? {} : { user: launch.user }),
        });
      } catch (err) {
        if (!(err instanceof LaunchError)) log.error({ err }, 'unexpected container launch failure');
        log.warn({ error: (err as Error).message }, 'container launch failed');
        this.dispatch({ kind: 'containerLaunchFailed', containerId, message: (err as Error).message });
        return;
      }
      this.containers.set(containerId, container);
      log.info({ pid: container.pid, user: container.user, directory: container.directory }, 'container launched');
      const { networkInfos } = container;
      this.dispatch({ kind: 'containerLaunched', containerId, pid: container.pid, ...(networkInfos === undefined ? {} : { networkInfos }) });
      const closeEndpoint = await this.exposeEndpoint(launch, container).catch((err: Error) => {
        log.warn({ error: err.message }, "cannot open the agent's endpoint in the executor's network namespace");
        return undefined;
      });
      // Mesos's layout records the pid of checkpointed runs; recovery itself needs only the launcher's records.
      if (this.core.frameworks.get(launch.frameworkId)?.info.checkpoint === true) {
        await checkpointPid(launch.metaDirectory, container.pid).catch((err: Error) => log.warn({ error: err.message }, 'cannot checkpoint the pid'));
      }
      const exit = await container.wait();
      closeEndpoint?.();
      // As Mesos destroys nested containers with their parent: a group's tasks die with its executor.
      await this.executorSinks?.nested.destroyChildren(containerId);
      this.containers.delete(containerId);
      this.checks.abortContainer(containerId);
      await this.checkpoints?.containerExited(launch.metaDirectory).catch(() => undefined);
      log.info({ exit }, 'container exited');
      const { code, signal, limitation } = exit;
      this.dispatch({
        kind: 'containerExited',
        containerId,
        exit: {
          description: describeExit(exit),
          ...(code === undefined ? {} : { code }),
          ...(signal === undefined ? {} : { signal }),
          ...(limitation === undefined ? {} : { limitation }),
        },
      });
    })();
    this.lifecycles.add(lifecycle);
    void lifecycle.finally(() => this.lifecycles.delete(lifecycle));
  }

  /**
   * An HTTP executor in a network namespace of its own (a CNI network) finds the agent at
   * MESOS_AGENT_ENDPOINT; when that is a loopback address (the agent listens on loopback), it is
   * opened inside the namespace too. The executor may connect before this is done: it retries.
   */
  private async exposeEndpoint(launch: ContainerLaunch, container: Container): Promise<(() => void) | undefined> {
    const netns = container.networkNamespacePath;
    const serve = this.executorSinks?.serve;
    if (netns === undefined || serve === undefined || this.core.books.httpExecutorOfContainer(launch.containerId) === undefined) return undefined;
    const endpoint = /^(127\.[\d.]+|\[::1\]):(\d+)$/.exec(launch.env['MESOS_AGENT_ENDPOINT'] ?? '');
    if (endpoint === null) return undefined;
    const host = endpoint[1]!.replace(/^\[|\]$/g, '');
    return listenInNetworkNamespace(netns, host, Number(endpoint[2]), serve);
  }

  private startTimer(timer: AgentTimer, atMs: number): void {
    const key = timerKey(timer);
    this.cancelTimer(key);
    const delayMs = Math.max(0, atMs - this.deps.clock.monotonicMs());
    const handle = setTimeout(
      () => {
        this.timers.delete(key);
        if (delayMs > MAX_TIMEOUT_MS) this.startTimer(timer, atMs);
        else this.dispatch({ kind: 'timerFired', timer });
      },
      Math.min(delayMs, MAX_TIMEOUT_MS),
    );
    this.timers.set(key, handle);
  }

  private cancelTimer(key: string): void {
    const handle = this.timers.get(key);
    if (handle === undefined) return;
    clearTimeout(handle);
    this.timers.delete(key);
  }
}
