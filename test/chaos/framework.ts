/**
 * A chaos framework: a scheduler on the real v1 API that follows the leader through etcd,
 * subscribes again with its id whenever its stream breaks, launches short and long command
 * tasks on its offers, kills some, acknowledges every update, reconciles after each
 * (re)subscription, and records every UPDATE it receives (with what became of its ack) for
 * the checks. Workload choices come from a seeded PRNG; timing is the real cluster's.
 */
import os from 'node:os';
import { join } from 'node:path';
import type { FrameworkInfo, Offer, Resource, SchedulerEvent, TaskInfo, TaskStatus } from '../../src/api/index.js';
import { Prng } from '../../src/base/index.js';
import { SchedulerClient } from '../../src/cli/scheduler-client.js';
import { parseResourceSpec, shortfall } from '../../src/cli/resources-spec.js';
import { type Delivery, type TaskHistory, isDefiniteTerminal, isReconciliation, isTerminal } from './checks.js';

export interface ChaosFrameworkOptions {
  name: string;
  master: string;
  partitionAware: boolean;
  checkpoint: boolean;
  seed: number;
  /** Where task commands write their pid when they start (one file per task). */
  markerDir: string;
  /** Most tasks of this framework not yet ended at once. */
  maxActive: number;
  log: (line: string) => void;
  nowMs: () => number;
}

export type TaskKind = 'short-ok' | 'short-fail' | 'long';

export interface TaskTrack extends TaskHistory {
  kind: TaskKind;
  agentId: string;
  launchedAtMs: number;
  /** How the ACCEPT that launched it was answered (a status, or the network error). */
  launchAnswer: string;
  killRequested: boolean;
}

const TASK_CPUS = 0.05;
const TASK_MEM_MB = 16;
const RESOURCES = resourcesOf(1);

/** What `count` tasks ask for together. */
function resourcesOf(count: number): Resource[] {
  const parsed = parseResourceSpec(`cpus:${(TASK_CPUS * count).toFixed(2)};mem:${TASK_MEM_MB * count}`);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

export class ChaosFramework {
  readonly tasks = new Map<string, TaskTrack>();
  readonly errors: string[] = [];
  private client: SchedulerClient | undefined;
  private frameworkId: string | undefined;
  private readonly prng: Prng;
  private seq = 0;
  private launched = 0;
  private launching = true;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  subscriptions = 0;
  /** Updates whose ACKNOWLEDGE was answered 2xx / failed. */
  acksAccepted = 0;
  acksFailed = 0;

  constructor(private readonly options: ChaosFrameworkOptions) {
    this.prng = new Prng(options.seed);
  }

  get name(): string {
    return this.options.name;
  }

  get id(): string | undefined {
    return this.frameworkId;
  }

  get connected(): boolean {
    return this.client?.isConnected === true;
  }

  /** Subscribes (retrying until a leader answers) and keeps re-subscribing until stop(). */
  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Stops launching and killing; the framework stays subscribed and keeps acknowledging. */
  quiesce(): void {
    this.launching = false;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
  }

  private info(): FrameworkInfo {
    return {
      user: os.userInfo().username,
      name: this.options.name,
      checkpoint: this.options.checkpoint,
      failover_timeout: 3600,
      capabilities: [...(this.options.partitionAware ? [{ type: 'PARTITION_AWARE' as const }] : []), { type: 'TASK_KILLING_STATE' as const }],
      ...(this.frameworkId === undefined ? {} : { id: { value: this.frameworkId } }),
    };
  }

  private async connect(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const client = await SchedulerClient.subscribe({
          master: this.options.master,
          frameworkInfo: this.info(),
          subscribeTimeoutMs: 5_000,
          onEvent: (event) => this.handle(event),
        });
        if (this.stopped) {
          client.close();
          return;
        }
        this.client = client;
        this.frameworkId = client.frameworkId;
        this.subscriptions++;
        this.options.log(`${this.options.name}: subscribed (${this.subscriptions}) as ${client.frameworkId} at ${client.endpoint}`);
        void client.disconnected.then((d) => {
          if (this.stopped || this.client !== client) return;
          this.options.log(`${this.options.name}: stream lost (${d.reason}: ${d.message})`);
          void this.start();
        });
        void this.reconcile().catch(() => undefined);
        return;
      } catch (err) {
        if (attempt % 10 === 9) this.options.log(`${this.options.name}: still cannot subscribe: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private handle(event: SchedulerEvent): void {
    switch (event.type) {
      case 'OFFERS':
        void this.useOffers(event.offers.offers).catch((err: unknown) => this.errors.push(`offers: ${String(err)}`));
        break;
      case 'UPDATE':
        this.record(event.update.status);
        break;
      case 'ERROR':
        this.errors.push(event.error.message);
        this.options.log(`${this.options.name}: ERROR event: ${event.error.message}`);
        break;
      default:
        break;
    }
  }

  private record(status: TaskStatus): void {
    const taskId = status.task_id.value;
    const track = this.tasks.get(taskId);
    const delivery: Delivery = {
      seq: this.seq++,
      atMs: this.options.nowMs(),
      state: status.state,
      ...(status.source === undefined ? {} : { source: status.source }),
      ...(status.reason === undefined ? {} : { reason: status.reason }),
      ...(status.message === undefined || status.message === '' ? {} : { message: status.message.slice(0, 300) }),
      ...(status.uuid === undefined ? {} : { uuid: status.uuid }),
      ...(status.agent_id === undefined ? {} : { agentId: status.agent_id.value }),
      ...(status.container_status?.container_id?.value === undefined ? {} : { containerId: status.container_status.container_id.value }),
    };
    if (track === undefined) {
      this.errors.push(`update for a task this framework never launched: ${taskId} ${status.state}`);
      return;
    }
    track.deliveries.push(delivery);
    const client = this.client;
    if (status.uuid !== undefined && client !== undefined) {
      client.acknowledge(status).then(
        () => {
          delivery.ack = 'accepted';
          this.acksAccepted++;
        },
        () => {
          delivery.ack = 'failed';
          this.acksFailed++;
        },
      );
    }
  }

  private async useOffers(offers: Offer[]): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    for (const offer of offers) {
      const room = this.options.maxActive - this.activeCount();
      let count = this.launching && room > 0 ? Math.min(room, 1 + this.prng.int(3)) : 0;
      // Only what the offer holds: a task asking for more is the framework's error (TASK_ERROR).
      while (count > 0 && shortfall(resourcesOf(count), offer.resources).length > 0) count--;
      if (count === 0) {
        await client.decline([offer.id.value], { refuse_seconds: 1 }).catch(() => undefined);
        continue;
      }
      const tasks = Array.from({ length: count }, () => this.newTask(offer.agent_id.value));
      let answer: string;
      try {
        answer = String((await client.launch(offer, tasks.map((t) => t.info), { refuse_seconds: 1 })).status);
      } catch (err) {
        answer = (err as Error).message;
      }
      for (const t of tasks) t.track.launchAnswer = answer;
    }
  }

  private newTask(agentId: string): { info: TaskInfo; track: TaskTrack } {
    const taskId = `${this.options.name}-${this.launched++}`;
    const roll = this.prng.next();
    const kind: TaskKind = roll < 0.45 ? 'long' : roll < 0.85 ? 'short-ok' : 'short-fail';
    const seconds = (0.3 + this.prng.next() * 2.5).toFixed(2);
    const marker = join(this.options.markerDir, `${this.options.name}__${taskId}`);
    // The pid goes in first, so the end of the run can tell a task that started twice, and one
    // still alive after it was reported ended.
    const body = kind === 'long' ? 'exec sleep 3600' : kind === 'short-ok' ? `sleep ${seconds}` : `sleep ${seconds}; exit 3`;
    const track: TaskTrack = {
      framework: this.options.name,
      taskId,
      partitionAware: this.options.partitionAware,
      deliveries: [],
      kind,
      agentId,
      launchedAtMs: this.options.nowMs(),
      launchAnswer: 'pending',
      killRequested: false,
    };
    this.tasks.set(taskId, track);
    return {
      track,
      info: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: agentId },
        resources: RESOURCES,
        command: { shell: true, value: `echo $$ >> ${marker}; ${body}` },
        kill_policy: { grace_period: { nanoseconds: 500_000_000 } },
      },
    };
  }

  /** Tasks not yet ended as this framework sees them. */
  private activeCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (!ended(t)) n++;
    return n;
  }

  /** Kills one running long task, picked by the PRNG; returns its id. */
  async killOne(): Promise<string | undefined> {
    const client = this.client;
    if (client === undefined || !this.launching) return undefined;
    const running = [...this.tasks.values()].filter((t) => t.kind === 'long' && !t.killRequested && lastMove(t)?.state === 'TASK_RUNNING');
    if (running.length === 0) return undefined;
    const victim = running[this.prng.int(running.length)]!;
    victim.killRequested = true;
    await client.kill(victim.taskId, victim.agentId).catch((err: unknown) => this.errors.push(`kill ${victim.taskId}: ${String(err)}`));
    return victim.taskId;
  }

  /** Explicit reconciliation of every task not definitely ended (their agent named). */
  async reconcile(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    const open = [...this.tasks.values()].filter((t) => !definitelyEnded(t));
    if (open.length === 0) return;
    await client.reconcile(open.map((t) => ({ taskId: t.taskId, agentId: lastAgent(t) })));
  }

  /**
   * The final reconciliation: asks about every task not definitely ended until each has
   * answered after `sinceSeq`, or `timeoutMs` passes. Returns the tasks still unanswered.
   */
  async reconcileAll(timeoutMs: number): Promise<string[]> {
    const sinceSeq = this.seq;
    const deadline = Date.now() + timeoutMs;
    const unanswered = () =>
      [...this.tasks.values()].filter((t) => !definitelyEnded(t) && !t.deliveries.some((d) => d.seq >= sinceSeq && isReconciliation(d))).map((t) => t.taskId);
    for (;;) {
      const left = unanswered();
      if (left.length === 0 || Date.now() > deadline) return left;
      if (this.client?.isConnected !== true) await this.start();
      await this.client
        ?.reconcile(left.map((taskId) => ({ taskId, agentId: lastAgent(this.tasks.get(taskId)!) })))
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** The last reconciliation answer since the final reconciliation began, per task. */
  lastReconciliation(taskId: string): Delivery | undefined {
    return this.tasks.get(taskId)?.deliveries.filter(isReconciliation).at(-1);
  }
}

function lastMove(t: TaskTrack): Delivery | undefined {
  return t.deliveries.filter((d) => !isReconciliation(d)).at(-1);
}

function lastAgent(t: TaskTrack): string {
  return t.deliveries.map((d) => d.agentId).filter((a) => a !== undefined).at(-1) ?? t.agentId;
}

/** Ended for launching purposes: a terminal update or answer (a lost task may come back, but needs no room). */
function ended(t: TaskTrack): boolean {
  const last = t.deliveries.at(-1);
  return last !== undefined && isTerminal(last.state);
}

function definitelyEnded(t: TaskTrack): boolean {
  return t.deliveries.some((d) => !isReconciliation(d) && isDefiniteTerminal(d.state));
}
