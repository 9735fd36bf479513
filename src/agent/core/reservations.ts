/**
 * The agent's side of dynamic reservations: the master sends the agent's resources with every
 * reservation change (CHECKPOINT_RESOURCES); they may differ from --resources only in dynamic
 * reservations. Pure: the shell checkpoints what this accepts (src/agent/checkpoint/resources.ts).
 */
import type { Resource } from '../../api/index.js';
import { Resources } from '../../resources/index.js';

/** The agent's total after the master's (or a checkpoint's) view, or why it cannot be taken. */
export function checkpointedTotal(declared: Resources, wire: readonly Resource[]): Resources | { error: string } {
  const decoded = Resources.tryFromWire(wire);
  if ('error' in decoded) return { error: `the checkpointed resources are invalid: ${decoded.error}` };
  const mine = declared.withoutDynamicReservations();
  const theirs = decoded.withoutDynamicReservations();
  if (!theirs.equals(mine)) {
    return { error: `the checkpointed resources (${theirs} without dynamic reservations) are not this agent's --resources (${mine})` };
  }
  return decoded;
}
