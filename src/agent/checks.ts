/**
 * The agent's shell for command tasks' checks: carries out `runCheck` and `abortCheck` effects
 * with the checks library's runner, against the container's main process (its pid, namespaces,
 * user and environment), and feeds each answer back to the core as a `checkResult` input.
 */
import type { Logger } from 'pino';
import { runProbe } from '../executor/checks/index.js';
import type { AgentEffect, AgentInput } from './core/index.js';

type RunCheck = Extract<AgentEffect, { kind: 'runCheck' }>;
type AbortCheck = Extract<AgentEffect, { kind: 'abortCheck' }>;

export interface CheckRunnerDeps {
  /** The host pid of a running container's main process, or undefined once it is gone. */
  pidOf(containerId: string): number | undefined;
  dispatch(input: AgentInput): void;
  logger: Logger;
}

export class AgentCheckRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: CheckRunnerDeps) {}

  run(effect: RunCheck): void {
    const { containerId, checker, attempt, probe } = effect;
    const key = probeKey(effect);
    const pid = this.deps.pidOf(containerId);
    const controller = new AbortController();
    this.running.set(key, controller);
    const probing =
      pid === undefined
        ? Promise.resolve({ type: 'failed' as const, message: `container ${containerId} is not running` })
        : runProbe(probe, { pid }, controller.signal);
    void probing.then(
      (result) => {
        this.running.delete(key);
        if (controller.signal.aborted) return;
        this.deps.dispatch({ kind: 'checkResult', containerId, checker, attempt, result });
      },
      (err: Error) => {
        this.running.delete(key);
        this.deps.logger.error({ err, containerId, checker }, 'a check probe failed unexpectedly');
        if (!controller.signal.aborted) this.deps.dispatch({ kind: 'checkResult', containerId, checker, attempt, result: { type: 'failed', message: err.message } });
      },
    );
  }

  abort(effect: AbortCheck): void {
    const key = probeKey(effect);
    this.running.get(key)?.abort();
    this.running.delete(key);
  }

  /** The container is gone: whatever still probes it stops. */
  abortContainer(containerId: string): void {
    for (const [key, controller] of this.running) {
      if (key.startsWith(`${containerId}\u0000`)) {
        controller.abort();
        this.running.delete(key);
      }
    }
  }
}

function probeKey({ containerId, checker, attempt }: { containerId: string; checker: string; attempt: number }): string {
  return `${containerId}\u0000${checker}\u0000${attempt}`;
}
