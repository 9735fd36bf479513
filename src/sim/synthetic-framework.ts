/**
 * A synthetic framework: subscribes, turns offers into launches for its workload (short batch
 * tasks, or long-running services it keeps at strength), acknowledges every update, and
 * suppresses offers when it wants nothing, as a well-behaved Mesos framework does.
 */
import type { Prng } from '../base/index.js';
import type { FrameworkInfo, Offer, SchedulerCall, SchedulerEvent, TaskInfo, TaskStatus } from '../api/index.js';
import { isTerminalState } from '../api/index.js';
import { Resources } from '../resources/index.js';
import { DURATION_LABEL, OUTCOME_LABEL } from './hollow-agent.js';
import type { Workload } from './scenario.js';
import type { Timeline } from './sim-clock.js';

export interface FrameworkWire {
  call(framework: SyntheticFramework, call: SchedulerCall): void;
}

export interface FrameworkStats {
  launched: number;
  finished: number;
  failed: number;
  killed: number;
  lost: number;
  errors: number;
  offersReceived: number;
  offersDeclined: number;
  /** Milliseconds from ACCEPT to TASK_RUNNING, per task. */
  launchLatenciesMs: number[];
}

export class SyntheticFramework {
  frameworkId: string | undefined;
  streamId: string | undefined;
  readonly stats: FrameworkStats = {
    launched: 0,
    finished: 0,
    failed: 0,
    killed: 0,
    lost: 0,
    errors: 0,
    offersReceived: 0,
    offersDeclined: 0,
    launchLatenciesMs: [],
  };
  /** Task ids launched and not yet terminal, with the time of their ACCEPT. */
  readonly active = new Map<string, { acceptedMs: number; running: boolean }>();
  private wanted: number;
  private suppressed = false;
  private nextTask = 0;
  private readonly taskResources: Resources;

  constructor(
    readonly name: string,
    readonly roles: string[],
    readonly workload: Workload,
    private readonly clock: Timeline,
    private readonly prng: Prng,
    private readonly wire: FrameworkWire,
  ) {
    this.wanted = workload.kind === 'batch' ? workload.tasks : workload.instances;
    this.taskResources = Resources.parse(workload.resources) as Resources;
  }

  info(): FrameworkInfo {
    const multiRole = this.roles.length > 1 || this.roles[0] !== '*';
    return {
      user: 'sim',
      name: this.name,
      failover_timeout: 3600,
      capabilities: [{ type: 'PARTITION_AWARE' }, ...(multiRole ? [{ type: 'MULTI_ROLE' as const }] : [])],
      ...(multiRole ? { roles: this.roles } : {}),
    };
  }

  /** Tasks still to launch. */
  get backlog(): number {
    return this.wanted;
  }

  /** Done: a batch whose tasks all ended (services never are). */
  get done(): boolean {
    return this.workload.kind === 'batch' && this.wanted === 0 && this.active.size === 0;
  }

  onEvent(event: SchedulerEvent): void {
    switch (event.type) {
      case 'SUBSCRIBED':
        this.frameworkId = event.subscribed.framework_id.value;
        return;
      case 'OFFERS':
        return this.onOffers(event.offers.offers);
      case 'UPDATE':
        return this.onUpdate(event.update.status);
      default:
        return;
    }
  }

  private onOffers(offers: Offer[]): void {
    this.stats.offersReceived += offers.length;
    for (const offer of offers) {
      let available = Resources.fromWire(offer.resources).unallocated();
      const tasks: TaskInfo[] = [];
      while (this.wanted > 0 && available.contains(this.taskResources)) {
        available = available.subtract(this.taskResources);
        tasks.push(this.nextTaskInfo(offer));
        this.wanted--;
      }
      if (tasks.length === 0) {
        this.stats.offersDeclined++;
        this.call({ type: 'DECLINE', decline: { offer_ids: [offer.id], filters: { refuse_seconds: 5 } } });
        continue;
      }
      for (const task of tasks) this.active.set(task.task_id.value, { acceptedMs: this.clock.monotonicMs(), running: false });
      this.stats.launched += tasks.length;
      this.call({
        type: 'ACCEPT',
        accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: tasks } }], filters: { refuse_seconds: 5 } },
      });
    }
    if (this.wanted === 0 && !this.suppressed) {
      this.suppressed = true;
      this.call({ type: 'SUPPRESS', suppress: {} });
    }
  }

  private nextTaskInfo(offer: Offer): TaskInfo {
    const id = `${this.name}-${this.nextTask++}`;
    const labels: Array<{ key: string; value: string }> = [];
    if (this.workload.kind === 'batch') {
      const { min, max } = this.workload.durationSeconds;
      labels.push({ key: DURATION_LABEL, value: String(Math.round((min + this.prng.next() * (max - min)) * 1000)) });
      if (this.prng.next() < this.workload.failureRate) labels.push({ key: OUTCOME_LABEL, value: 'fail' });
    } else if (this.workload.meanSecondsBetweenFailures !== undefined) {
      const lifetimeMs = -Math.log(1 - this.prng.next()) * this.workload.meanSecondsBetweenFailures * 1000;
      labels.push({ key: DURATION_LABEL, value: String(Math.round(lifetimeMs)) }, { key: OUTCOME_LABEL, value: 'fail' });
    }
    const resources = offer.allocation_info === undefined ? this.taskResources : this.taskResources.allocatedTo(offer.allocation_info.role);
    return {
      name: id,
      task_id: { value: id },
      agent_id: offer.agent_id,
      resources: resources.toWire(),
      command: { value: 'true' },
      labels: { labels },
    };
  }

  private onUpdate(status: TaskStatus): void {
    if (status.uuid !== undefined && status.agent_id !== undefined) {
      this.call({ type: 'ACKNOWLEDGE', acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid } });
    }
    const id = status.task_id.value;
    const task = this.active.get(id);
    if (task === undefined) return;
    if (status.state === 'TASK_RUNNING' && !task.running) {
      task.running = true;
      this.stats.launchLatenciesMs.push(this.clock.monotonicMs() - task.acceptedMs);
    }
    if (!isTerminalState(status.state)) return;
    this.active.delete(id);
    if (status.state === 'TASK_FINISHED') this.stats.finished++;
    else if (status.state === 'TASK_FAILED') this.stats.failed++;
    else if (status.state === 'TASK_KILLED') this.stats.killed++;
    else if (status.state === 'TASK_ERROR') this.stats.errors++;
    else this.stats.lost++;
    // A batch task that did not finish is retried; a service instance that ended is replaced.
    if (this.workload.kind === 'service' || status.state !== 'TASK_FINISHED') this.want(1);
  }

  private want(n: number): void {
    this.wanted += n;
    if (this.suppressed) {
      this.suppressed = false;
      this.call({ type: 'REVIVE', revive: {} });
    }
  }

  private call(call: Omit<SchedulerCall, 'framework_id'>): void {
    this.wire.call(this, { framework_id: { value: this.frameworkId! }, ...call } as SchedulerCall);
  }
}
