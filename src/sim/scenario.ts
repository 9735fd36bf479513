/**
 * Scenario files for the simulator: which agents, which frameworks with which workloads, how
 * long, from which seed. JSON, decoded with the same lenient rules as the wire API.
 */
import { z } from 'zod';
import { decodeOrThrow } from '../api/index.js';

const Range = z.object({ min: z.number().nonnegative(), max: z.number().nonnegative() }).refine((r) => r.max >= r.min, 'max must be >= min');

const Batch = z.object({
  kind: z.literal('batch'),
  /** How many tasks, all wanted from the start. */
  tasks: z.number().int().positive(),
  resources: z.string(),
  durationSeconds: Range,
  /** Share of tasks that end TASK_FAILED instead of TASK_FINISHED. */
  failureRate: z.number().min(0).max(1).default(0),
});

const Service = z.object({
  kind: z.literal('service'),
  /** Long-running tasks kept running; a failed one is replaced. */
  instances: z.number().int().positive(),
  resources: z.string(),
  /** Mean seconds between failures of one instance; absent: they never fail. */
  meanSecondsBetweenFailures: z.number().positive().optional(),
});

export const FrameworkSpec = z.object({
  name: z.string(),
  count: z.number().int().positive().default(1),
  roles: z.array(z.string()).min(1).default(['*']),
  /** Seconds after the start at which the framework subscribes. */
  startSeconds: z.number().nonnegative().default(0),
  workload: z.discriminatedUnion('kind', [Batch, Service]),
});
export type FrameworkSpec = z.infer<typeof FrameworkSpec>;
export type Workload = FrameworkSpec['workload'];

export const AgentSpec = z.object({
  count: z.number().int().positive(),
  resources: z.string(),
  attributes: z.string().optional(),
});
export type AgentSpec = z.infer<typeof AgentSpec>;

export const Scenario = z.object({
  name: z.string().default('scenario'),
  seed: z.number().int().nonnegative().default(1),
  durationSeconds: z.number().positive(),
  allocationIntervalSeconds: z.number().positive().default(1),
  /** One-way delay of each message between the master and an agent or framework. */
  latencyMs: Range.default({ min: 0, max: 0 }),
  /** Delay from RUN_TASK to TASK_RUNNING on a hollow agent. */
  taskStartMs: Range.default({ min: 1, max: 5 }),
  agents: z.array(AgentSpec).min(1),
  frameworks: z.array(FrameworkSpec).min(1),
  /** Quota set before the frameworks arrive (UPDATE_QUOTA); limits are checked all along. */
  quota: z
    .array(
      z.object({
        role: z.string(),
        guarantees: z.record(z.string(), z.number().nonnegative()).optional(),
        limits: z.record(z.string(), z.number().nonnegative()).optional(),
      }),
    )
    .default([]),
  /** Check invariants after every step (slower; on by default). */
  checkInvariants: z.boolean().default(true),
});
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

/** Decodes a scenario; throws a 400-style AgoraError naming the bad field. */
export function parseScenario(value: unknown): Scenario {
  return decodeOrThrow(Scenario, value, 'scenario');
}
