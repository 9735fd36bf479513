/**
 * A test framework on the real v1 Scheduler API: subscribes with the shared SchedulerClient,
 * keeps the offers it holds (minus rescinded ones) and every status of every task, and
 * acknowledges updates the way a well-behaved framework does.
 */
import os from 'node:os';
import { isTerminalState } from '../../src/api/index.js';
import type { FrameworkInfo, Offer, TaskInfo, TaskState, TaskStatus } from '../../src/api/index.js';
import { SchedulerClient, type SubscribeOptions } from '../../src/cli/scheduler-client.js';
import { parseResourceSpec, shortfall } from '../../src/cli/resources-spec.js';

export const SMALL_TASK = 'cpus:0.01;mem:8';

export interface TestFrameworkOptions {
  master: string;
  name?: string;
  info?: Partial<FrameworkInfo>;
  /** Acknowledge every update with a uuid (default true), or those the function picks. */
  autoAck?: boolean | ((status: TaskStatus) => boolean);
  heartbeatTimeoutMs?: number;
}

export class TestFramework {
  readonly offers = new Map<string, Offer>();
  readonly statuses = new Map<string, TaskStatus[]>();
  /** Every event type seen, in order. */
  readonly eventTypes: string[] = [];
  readonly errors: string[] = [];
  private changed: Array<() => void> = [];
  private readonly acks = new Set<Promise<unknown>>();

  private constructor(
    readonly client: SchedulerClient,
    private readonly autoAck: (status: TaskStatus) => boolean,
  ) {}

  static async subscribe(options: TestFrameworkOptions): Promise<TestFramework> {
    const info: FrameworkInfo = {
      user: os.userInfo().username,
      name: options.name ?? 'agora-test',
      capabilities: [{ type: 'PARTITION_AWARE' }, { type: 'TASK_KILLING_STATE' }],
      ...options.info,
    };
    // Events that arrive before the constructor returns are replayed into it.
    const holder: { framework?: TestFramework } = {};
    const pending: Parameters<NonNullable<SubscribeOptions['onEvent']>>[0][] = [];
    const client = await SchedulerClient.subscribe({
      master: options.master,
      frameworkInfo: info,
      ...(options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: options.heartbeatTimeoutMs }),
      onEvent: (event) => (holder.framework === undefined ? pending.push(event) : holder.framework.handle(event)),
    });
    const ack = options.autoAck ?? true;
    const framework = new TestFramework(client, typeof ack === 'function' ? ack : () => ack);
    for (const event of pending) framework.handle(event);
    holder.framework = framework;
    return framework;
  }

  get frameworkId(): string {
    return this.client.frameworkId;
  }

  private handle(event: Parameters<NonNullable<SubscribeOptions['onEvent']>>[0]): void {
    this.eventTypes.push(event.type);
    switch (event.type) {
      case 'OFFERS':
        for (const offer of event.offers.offers) this.offers.set(offer.id.value, offer);
        break;
      case 'RESCIND':
        this.offers.delete(event.rescind.offer_id.value);
        break;
      case 'UPDATE': {
        const status = event.update.status;
        const list = this.statuses.get(status.task_id.value) ?? [];
        list.push(status);
        this.statuses.set(status.task_id.value, list);
        if (this.autoAck(status)) {
          const sent = this.client.acknowledge(status).catch((err: unknown) => this.errors.push(String(err)));
          this.acks.add(sent);
          void sent.finally(() => this.acks.delete(sent));
        }
        break;
      }
      case 'ERROR':
        this.errors.push(event.error.message);
        break;
      default:
        break;
    }
    const waiters = this.changed;
    this.changed = [];
    waiters.forEach((w) => w());
  }

  /** Resolves when every acknowledgement sent so far has been answered. */
  async acksSettled(): Promise<void> {
    await Promise.all([...this.acks]);
  }

  /** Waits until `check` returns a value, re-checking after every event. */
  async until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${this.summary()}`);
      if (!this.client.isConnected) throw new Error(`stream gone while waiting for ${what}; events: ${this.summary()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.changed.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Takes (removes from the held set) an offer that holds `resources`, waiting for one. */
  takeOffer(resources = SMALL_TASK, timeoutMs = 15_000): Promise<Offer> {
    const wanted = parseResourceSpec(resources);
    if ('error' in wanted) throw new Error(wanted.error);
    return this.until(
      () => {
        for (const offer of this.offers.values()) {
          if (shortfall(wanted, offer.resources).length === 0) {
            this.offers.delete(offer.id.value);
            return offer;
          }
        }
        return undefined;
      },
      timeoutMs,
      `an offer holding ${resources}`,
    );
  }

  /** Launches tasks on a fresh offer that holds all of them. */
  async launch(tasks: TaskInfo[], offer?: Offer): Promise<Offer> {
    const chosen = offer ?? (await this.takeOffer(SMALL_TASK));
    await this.client.launch(chosen, tasks);
    return chosen;
  }

  /** The first status of `taskId` in `state` (already seen or still to come). */
  waitForState(taskId: string, state: TaskState, timeoutMs = 15_000): Promise<TaskStatus> {
    return this.until(
      () => this.statuses.get(taskId)?.find((s) => s.state === state),
      timeoutMs,
      `${state} for task ${taskId}`,
    );
  }

  /** The first terminal status of `taskId`. */
  waitForTerminal(taskId: string, timeoutMs = 15_000): Promise<TaskStatus> {
    return this.until(
      () => this.statuses.get(taskId)?.find((s) => isTerminalState(s.state)),
      timeoutMs,
      `a terminal state for task ${taskId}`,
    );
  }

  /** States of `taskId` in the order they arrived. */
  states(taskId: string): TaskState[] {
    return (this.statuses.get(taskId) ?? []).map((s) => s.state);
  }

  summary(): string {
    const tasks = [...this.statuses.entries()].map(([id, list]) => `${id}:${list.map((s) => s.state).join('>')}`);
    return `[${this.eventTypes.filter((t) => t !== 'HEARTBEAT').slice(-20).join(',')}] tasks {${tasks.slice(-10).join(' ')}} errors [${this.errors.join('; ')}]`;
  }

  async teardown(): Promise<void> {
    if (this.client.isConnected) await this.client.teardown();
  }

  close(): void {
    this.client.close();
  }
}

/** A command task with a small shape; agent_id is set from the offer at launch. */
export function commandTask(
  taskId: string,
  command: string,
  options: { resources?: string; killGraceMs?: number; env?: Record<string, string> } = {},
): TaskInfo {
  const resources = parseResourceSpec(options.resources ?? SMALL_TASK);
  if ('error' in resources) throw new Error(resources.error);
  return {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: '' },
    resources,
    command: {
      shell: true,
      value: command,
      ...(options.env && {
        environment: { variables: Object.entries(options.env).map(([name, value]) => ({ name, type: 'VALUE' as const, value })) },
      }),
    },
    ...(options.killGraceMs === undefined
      ? {}
      : { kill_policy: { grace_period: { nanoseconds: options.killGraceMs * 1_000_000 } } }),
  };
}
