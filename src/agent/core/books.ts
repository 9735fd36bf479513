/**
 * The agent's books: which frameworks and executors it has, live and completed, and how to
 * find them by id or by container. Bookkeeping only; lifecycle decisions are AgentCore's.
 */
import type { FrameworkInfo } from '../../api/index.js';
import { assert } from '../../base/index.js';
import {
  type ExecutorEntry,
  type FrameworkEntry,
  type HttpExecutorEntry,
  type TaskEntry,
  MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK,
  MAX_COMPLETED_FRAMEWORKS,
  pushBounded,
} from './state.js';

// Invariants:
// 1. A framework in `frameworks` has at least one executor (of either kind), or is being given its first one.
// 2. `byContainer` and `httpByContainer` hold exactly the executors of `frameworks`, keyed by container id.
export class AgentBooks {
  readonly frameworks = new Map<string, FrameworkEntry>();
  readonly completedFrameworks: FrameworkEntry[] = [];
  private readonly byContainer = new Map<string, ExecutorEntry>();
  private readonly httpByContainer = new Map<string, HttpExecutorEntry>();

  executor(frameworkId: string, executorId: string): ExecutorEntry | undefined {
    return this.frameworks.get(frameworkId)?.executors.get(executorId);
  }

  executorOfContainer(containerId: string): ExecutorEntry | undefined {
    return this.byContainer.get(containerId);
  }

  /** The newest executor with this id, live or completed (for `/files` virtual paths). */
  latestExecutor(frameworkId: string, executorId: string): ExecutorEntry | HttpExecutorEntry | undefined {
    const framework = this.frameworks.get(frameworkId) ?? this.completedFrameworks.findLast((f) => f.id === frameworkId);
    return (
      framework?.executors.get(executorId) ??
      framework?.httpExecutors.get(executorId) ??
      framework?.completedExecutors.findLast((e) => e.id === executorId) ??
      framework?.completedHttpExecutors.findLast((e) => e.id === executorId)
    );
  }

  httpExecutor(frameworkId: string, executorId: string): HttpExecutorEntry | undefined {
    return this.frameworks.get(frameworkId)?.httpExecutors.get(executorId);
  }

  httpExecutorOfContainer(containerId: string): HttpExecutorEntry | undefined {
    return this.httpByContainer.get(containerId);
  }

  /** The live custom or default executor that runs `taskId`, with the task. */
  httpExecutorOfTask(frameworkId: string, taskId: string): { executor: HttpExecutorEntry; task: TaskEntry } | undefined {
    for (const executor of this.frameworks.get(frameworkId)?.httpExecutors.values() ?? []) {
      const task = executor.tasks.get(taskId);
      if (task !== undefined) return { executor, task };
    }
    return undefined;
  }

  /** A task the agent knows, of either kind of executor, while it is not completed. */
  task(frameworkId: string, taskId: string): TaskEntry | undefined {
    return this.executor(frameworkId, taskId)?.task ?? this.httpExecutorOfTask(frameworkId, taskId)?.task;
  }

  /** The framework's entry, created or taken back from history, with its info updated. */
  frameworkFor(frameworkId: string, info: FrameworkInfo): FrameworkEntry {
    let framework = this.frameworks.get(frameworkId);
    if (framework === undefined) {
      const index = this.completedFrameworks.findIndex((f) => f.id === frameworkId);
      framework =
        index >= 0
          ? this.completedFrameworks.splice(index, 1)[0]!
          : {
              id: frameworkId,
              info,
              executors: new Map(),
              completedExecutors: [],
              httpExecutors: new Map(),
              completedHttpExecutors: [],
              terminating: false,
            };
      framework.terminating = false;
      this.frameworks.set(frameworkId, framework);
    }
    framework.info = info;
    return framework;
  }

  addExecutor(framework: FrameworkEntry, executor: ExecutorEntry): void {
    assert(!framework.executors.has(executor.id), `executor ${executor.id} of framework ${framework.id} added twice`);
    framework.executors.set(executor.id, executor);
    this.byContainer.set(executor.containerId, executor);
  }

  addHttpExecutor(framework: FrameworkEntry, executor: HttpExecutorEntry): void {
    assert(!framework.httpExecutors.has(executor.id), `executor ${executor.id} of framework ${framework.id} added twice`);
    framework.httpExecutors.set(executor.id, executor);
    this.httpByContainer.set(executor.containerId, executor);
  }

  /** Moves an executor to its framework's history; a framework left without executors follows. */
  retire(executor: ExecutorEntry): void {
    const framework = this.frameworks.get(executor.frameworkId);
    assert(framework?.executors.get(executor.id) === executor, `retiring executor ${executor.id}, which is not live`);
    framework.executors.delete(executor.id);
    this.byContainer.delete(executor.containerId);
    pushBounded(framework.completedExecutors, executor, MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
    this.retireFrameworkIfIdle(framework);
  }

  retireHttpExecutor(executor: HttpExecutorEntry): void {
    const framework = this.frameworks.get(executor.frameworkId);
    assert(framework?.httpExecutors.get(executor.id) === executor, `retiring executor ${executor.id}, which is not live`);
    framework.httpExecutors.delete(executor.id);
    this.httpByContainer.delete(executor.containerId);
    pushBounded(framework.completedHttpExecutors, executor, MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK);
    this.retireFrameworkIfIdle(framework);
  }

  /** Containers not yet known to have exited. */
  liveContainerCount(): number {
    let count = 0;
    for (const e of [...this.byContainer.values(), ...this.httpByContainer.values()]) {
      if (e.phase === 'launching' || e.phase === 'running') count++;
    }
    return count;
  }

  private retireFrameworkIfIdle(framework: FrameworkEntry): void {
    if (framework.executors.size > 0 || framework.httpExecutors.size > 0) return;
    this.frameworks.delete(framework.id);
    pushBounded(this.completedFrameworks, framework, MAX_COMPLETED_FRAMEWORKS);
  }
}
