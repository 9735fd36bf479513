/**
 * One running agent: its core, runtime, master link and HTTP server, wired and started; and
 * its orderly stop. Configuration is already validated by the caller (src/main/agent.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AGORA_VERSION, type AgentEvent, type AgentInfo, type AgentSubscribe, type Attribute, type Volume } from '../api/index.js';
import {
  agentIsRoot,
  Containerizer,
  type ContainerizerOptions,
  IdNames,
  imageIsolators,
  type ImageOptions,
  type Launcher,
  PosixLauncher,
} from '../containerizer/index.js';
import { createHttpServer } from '../http/index.js';
import type { Resources } from '../resources/index.js';
import { metaPaths } from './checkpoint/layout.js';
import type { ReconfigurationPolicy } from './checkpoint/reconfiguration.js';
import { checkpointResources, loadCheckpointedResources } from './checkpoint/resources.js';
import { CheckpointWriter } from './checkpoint/writer.js';
import { AgentCore, type ContainerLaunch } from './core/index.js';
import {
  type AgentDescription,
  ExecutorStreams,
  nestedContainerHandlers,
  registerAgentEndpoints,
  registerExecutorApi,
  registerFilesEndpoints,
  SandboxPaths,
} from './http/index.js';
import { MasterLink } from './master-link.js';
import { NestedContainers } from './nested-containers.js';
import { recoverAgent } from './recovery.js';
import { AgentRuntime, systemClock } from './runtime.js';

export interface AgentOptions {
  /** "http://host:port" of the master. */
  masterUrl: string;
  workDir: string;
  /** Address to listen on; may be 0.0.0.0. */
  listenIp: string;
  /** Address the master, frameworks and tasks use to reach the agent (never 0.0.0.0). */
  advertisedIp: string;
  port: number;
  hostname: string;
  resources: Resources;
  attributes: Attribute[];
  executorShutdownGracePeriodMs: number;
  /** --executor_registration_timeout; default 1 minute. */
  executorRegistrationTimeoutMs?: number;
  /** How to start agora's default executor (src/main/default-executor.ts); without it task groups fail. */
  defaultExecutorCommand?: ContainerLaunch['command'];
  /** Volumes the default executor's container gets besides its ExecutorInfo's: agora's own install (oci only). */
  defaultExecutorVolumes?: Volume[];
  /** Flag values as /flags shows them (Mesos flag names, string values). */
  flags: Record<string, string>;
  logger: Logger;
  launcher?: Launcher;
  /** More isolators (after images and volumes) and the disk watch (--container_disk_watch_interval). */
  containerizer?: ContainerizerOptions;
  /** --docker_registry, --docker_store_dir, ... for the image and volume isolators. */
  images?: ImageOptions;
  /** --reconfiguration_policy for recovering with other flags; default additive. */
  reconfigurationPolicy?: ReconfigurationPolicy;
  /** --strict: a checkpoint file that cannot be read stops the agent; default true. */
  strict?: boolean;
}

export class Agent {
  private core!: AgentCore;
  private runtime!: AgentRuntime;
  private link!: MasterLink;
  /** Streams of custom and default executors (v1 Executor API). */
  private executorStreams!: ExecutorStreams;
  /** Containers nested in executors' containers: the tasks of groups. */
  private nested!: NestedContainers;
  private description!: AgentDescription;
  private stopping: Promise<void> | undefined;
  private containerizerInstance!: Containerizer;
  private checkpoints!: CheckpointWriter;

  private constructor(
    private readonly options: AgentOptions,
    private readonly app: FastifyInstance,
  ) {}

  /**
   * Starts serving HTTP, recovers what a previous agent on this work dir checkpointed (its id,
   * its tasks), then subscribes to the master (retrying in the background).
   */
  static async start(options: AgentOptions): Promise<Agent> {
    // Dynamic reservations the master made survive a restart: they are checkpointed (issue 3).
    options = { ...options, resources: await loadCheckpointedResources(options.workDir, options.resources, options.logger) };
    const app = createHttpServer({ logger: options.logger });
    const agent = new Agent(options, app);
    const paths = new SandboxPaths(options.workDir, (f, e) => agent.runsDirectory(f, e));
    const names = new IdNames();
    registerAgentEndpoints(
      app,
      () => agent.core,
      () => agent.description,
      () => agent.runtime?.runningContainers() ?? [],
      {
        files: { paths, names },
        // Debug sessions enter running containers: executors' and commands' (top level), and tasks of groups (nested).
        enterable: (id) =>
          id.parent === undefined
            ? agent.runtime?.runningContainers().find((c) => c.containerId === id.value)
            : agent.nested?.running().find((n) => n.id.value === id.value)?.container,
        handlers: [nestedContainerHandlers(() => agent.nested)],
      },
    );
    registerExecutorApi(app, {
      core: () => agent.core,
      dispatch: (input) => agent.runtime.dispatch(input),
      streams: () => agent.executorStreams,
    });
    registerFilesEndpoints(app, paths, names);
    await app.listen({ host: options.listenIp, port: options.port });
    agent.wire((app.server.address() as AddressInfo).port);
    try {
      await agent.recover();
    } catch (err) {
      agent.runtime.stopTimers();
      await app.close();
      throw err;
    }
    agent.link.start();
    return agent;
  }

  get url(): string {
    return `http://${this.options.advertisedIp}:${this.description.port}`;
  }

  agentId(): string | undefined {
    return this.core.agentId;
  }

  /** For tests: pids of the containers running now. */
  containerPids(): number[] {
    return this.runtime.containerPids();
  }

  /**
   * Kills every task (SIGTERM to its group, its grace period, SIGKILL), tells the master it is
   * leaving, closes the stream and the server. Resolves once no task process is left.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const log = this.options.logger;
    log.info({ tasks: this.core.liveContainerCount() }, 'agent stopping: killing all tasks');
    this.runtime.dispatch({ kind: 'shutdown' });
    await this.runtime.drained();
    await this.nested.drained();
    this.executorStreams.closeAll();
    await this.link.stop();
    this.runtime.stopTimers();
    await this.checkpoints.flushed();
    // As Mesos's agent when it shuts down: the next start is a new agent, not a recovery.
    await rm(metaPaths.latestAgent(this.options.workDir), { force: true });
    await this.app.close();
    log.info('agent stopped');
  }

  /** Agent recovery (src/agent/recovery.ts): the core gets the checkpointed state, the runtime the surviving containers. */
  private async recover(): Promise<void> {
    const { options } = this;
    const { id: _id, ...current } = this.agentInfo();
    const result = await recoverAgent({
      workDir: options.workDir,
      containerizer: this.containerizerInstance,
      writer: this.checkpoints,
      current,
      policy: options.reconfigurationPolicy ?? 'additive',
      strict: options.strict ?? true,
      logger: options.logger.child({ component: 'recovery' }),
    });
    for (const adopted of result.adopted) this.runtime.adopt(adopted);
    if (result.input !== undefined) this.runtime.dispatch({ kind: 'recover', ...result.input });
  }

  private wire(port: number): void {
    const { options } = this;
    const startTimeMs = Date.now();
    this.description = {
      hostname: options.hostname,
      ip: options.advertisedIp,
      port,
      version: AGORA_VERSION,
      startTimeMs,
      buildDate: new Date(startTimeMs).toISOString(),
      resources: options.resources,
      attributes: options.attributes,
      flags: { ...options.flags, port: String(port) },
    };
    this.core = new AgentCore({
      clock: systemClock,
      ids: { uuid: () => randomUUID() },
      config: {
        workDir: options.workDir,
        ip: options.advertisedIp,
        port,
        executorShutdownGracePeriodMs: options.executorShutdownGracePeriodMs,
        ...(options.executorRegistrationTimeoutMs === undefined ? {} : { executorRegistrationTimeoutMs: options.executorRegistrationTimeoutMs }),
        ...(options.defaultExecutorCommand === undefined ? {} : { defaultExecutorCommand: options.defaultExecutorCommand }),
        ...(options.defaultExecutorVolumes === undefined ? {} : { defaultExecutorVolumes: options.defaultExecutorVolumes }),
      },
    });
    const containerizer = this.containerizer(options.launcher ?? new PosixLauncher());
    this.containerizerInstance = containerizer;
    this.runtime = new AgentRuntime(this.core, { clock: systemClock, containerizer, logger: options.logger });
    this.checkpoints = new CheckpointWriter(options.workDir, options.logger.child({ component: 'checkpoint' }));
    this.runtime.setCheckpointWriter(this.checkpoints);
    this.nested = new NestedContainers({
      containerizer,
      logger: options.logger.child({ component: 'nested-containers' }),
      parent: (containerId) => {
        const executor = this.core.books.httpExecutorOfContainer(containerId);
        const container = this.runtime.runningContainers().find((c) => c.containerId === containerId);
        if (executor === undefined || executor.phase !== 'running' || container === undefined) return undefined;
        const netns = container.networkNamespacePath;
        return {
          frameworkId: executor.frameworkId,
          executorId: executor.id,
          directory: executor.directory,
          user: container.user,
          ...(netns === undefined ? {} : { networkNamespacePath: netns }),
        };
      },
    });
    this.executorStreams = new ExecutorStreams(() => this.agentInfo());
    this.link = new MasterLink({
      masterUrl: options.masterUrl,
      logger: options.logger.child({ component: 'master-link' }),
      subscription: () => this.subscription(),
      onEvent: (event) => this.onEvent(event),
      onDisconnected: () => this.runtime.dispatch({ kind: 'disconnected' }),
    });
    this.runtime.setForwarder(this.link);
    const link = this.link;
    this.runtime.setExecutorSinks({
      streams: this.executorStreams,
      nested: this.nested,
      serve: (socket) => this.app.server.emit('connection', socket),
      master: {
        executorMessage: (frameworkId, executorId, data) =>
          link.post((agentId) => ({
            type: 'EXECUTOR_MESSAGE',
            agent_id: agentId,
            executor_message: { framework_id: { value: frameworkId }, executor_id: { value: executorId }, data },
          })),
        executorExited: (frameworkId, executorId, status) =>
          link.post((agentId) => ({
            type: 'EXECUTOR_EXITED',
            agent_id: agentId,
            executor_exited: { framework_id: { value: frameworkId }, executor_id: { value: executorId }, ...(status === undefined ? {} : { status }) },
          })),
      },
    });
  }

  private containerizer(launcher: Launcher): Containerizer {
    const { options } = this;
    const isolators = imageIsolators({ ...options.images, workDir: options.workDir, isolates: launcher.isolates, canSwitchUser: agentIsRoot() });
    const more = options.containerizer?.isolators ?? [];
    return new Containerizer(launcher, { ...options.containerizer, isolators: [...isolators, ...more] });
  }

  /** The SUBSCRIBE payload: this agent as it is now, with every task it still knows. */
  private subscription(): AgentSubscribe {
    const { description: d } = this;
    return {
      agent_info: this.agentInfo(),
      endpoint: { ip: d.ip, port: d.port },
      version: d.version,
      tasks: this.core.taskReports(),
      frameworks: this.core.frameworkInfos(),
      executors: this.core.executorReports(),
    };
  }

  /** This agent's AgentInfo, as the master and executors (SUBSCRIBED) see it. */
  private agentInfo(): AgentInfo {
    const { description: d } = this;
    const id = this.core.agentId;
    return {
      hostname: d.hostname,
      port: d.port,
      resources: d.resources.toWire(),
      attributes: d.attributes,
      ...(id === undefined ? {} : { id: { value: id } }),
    };
  }

  private onEvent(event: AgentEvent): void {
    const log = this.options.logger;
    switch (event.type) {
      case 'SUBSCRIBED': {
        const id = event.subscribed.agent_id.value;
        const previous = this.core.agentId;
        if (previous !== undefined && previous !== id) log.warn({ previous, id }, 'the master gave this agent a new id');
        log.info({ agentId: id, master: event.subscribed.master_info.hostname }, 'subscribed to the master');
        void this.checkpoints.agent(id, this.agentInfo());
        const masterHostname = event.subscribed.master_info.hostname;
        this.runtime.dispatch({ kind: 'subscribed', agentId: id, ...(masterHostname === undefined ? {} : { masterHostname }) });
        break;
      }
      case 'RUN_TASK': {
        const { framework_id, framework_info, task } = event.run_task;
        // While stopping no task may start: it would outlive stop(). The master learns from UNSUBSCRIBE.
        if (this.stopping !== undefined) return log.warn({ taskId: task.task_id.value }, 'ignoring a task: the agent is stopping');
        this.runtime.dispatch({ kind: 'runTask', frameworkId: framework_id.value, frameworkInfo: framework_info, task });
        break;
      }
      case 'RUN_TASK_GROUP': {
        const { framework_id, framework_info, executor, task_group } = event.run_task_group;
        if (this.stopping !== undefined) return log.warn({ executorId: executor.executor_id.value }, 'ignoring a task group: the agent is stopping');
        this.runtime.dispatch({ kind: 'runTaskGroup', frameworkId: framework_id.value, frameworkInfo: framework_info, executor, tasks: task_group.tasks });
        break;
      }
      case 'SHUTDOWN_EXECUTOR':
        this.runtime.dispatch({
          kind: 'shutdownExecutor',
          frameworkId: event.shutdown_executor.framework_id.value,
          executorId: event.shutdown_executor.executor_id.value,
        });
        break;
      case 'FRAMEWORK_MESSAGE': {
        const { framework_id, executor_id, data } = event.framework_message;
        this.runtime.dispatch({ kind: 'frameworkMessage', frameworkId: framework_id.value, executorId: executor_id.value, data });
        break;
      }
      case 'KILL_TASK': {
        const { framework_id, task_id, kill_policy } = event.kill_task;
        this.runtime.dispatch({
          kind: 'killTask',
          frameworkId: framework_id.value,
          taskId: task_id.value,
          ...(kill_policy === undefined ? {} : { killPolicy: kill_policy }),
        });
        break;
      }
      case 'ACKNOWLEDGE': {
        const { framework_id, task_id, uuid } = event.acknowledge;
        this.runtime.dispatch({ kind: 'acknowledge', frameworkId: framework_id.value, taskId: task_id.value, uuid });
        break;
      }
      case 'SHUTDOWN_FRAMEWORK':
        this.runtime.dispatch({ kind: 'shutdownFramework', frameworkId: event.shutdown_framework.framework_id.value });
        break;
      case 'PING':
        break; // Answered by the link.
      case 'CHECKPOINT_RESOURCES':
        this.description.resources = checkpointResources(this.options.workDir, this.description.resources, event.checkpoint_resources.resources, log);
        break;
      case 'SHUTDOWN':
        log.error({ reason: event.shutdown.message }, 'the master asked this agent to shut down');
        void this.stop();
        break;
      case 'ERROR':
        log.error({ message: event.error.message }, 'the master reported an error');
        break;
    }
  }

  /** The runs directory of the newest run of an executor, for `/files` virtual paths. */
  private runsDirectory(frameworkId: string, executorId: string): string | undefined {
    const directory = this.core.books.latestExecutor(frameworkId, executorId)?.directory;
    return directory?.slice(0, directory.lastIndexOf('/'));
  }
}
