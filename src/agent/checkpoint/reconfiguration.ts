/**
 * Mesos's `--reconfiguration_policy`: whether an agent restarted with other flags may recover
 * the agent it was (its id, its tasks), by comparing the AgentInfo it checkpointed with the one
 * it has now. Pure.
 */
import type { AgentInfo, Attribute } from '../../api/index.js';
import { Resources } from '../../resources/index.js';

/** `equal`: nothing may change; `additive`: resources may grow and attributes be added. */
export type ReconfigurationPolicy = 'equal' | 'additive';
export const RECONFIGURATION_POLICIES: readonly ReconfigurationPolicy[] = ['equal', 'additive'];

/**
 * What changed in a way the policy refuses, one phrase per change; empty when the agent may
 * recover. Dynamic reservations are the master's doing and never count as a change. The port
 * is not compared: the master learns the agent's endpoint anew when it re-registers.
 */
export function reconfigurationChanges(previous: AgentInfo, current: AgentInfo, policy: ReconfigurationPolicy): string[] {
  const changes: string[] = [];
  if (previous.hostname !== current.hostname) changes.push(`the hostname changed from "${previous.hostname}" to "${current.hostname}"`);
  const before = statically(previous);
  const now = statically(current);
  if ('error' in before || 'error' in now) {
    changes.push(`the checkpointed resources cannot be read (${'error' in before ? before.error : ''}${'error' in now ? now.error : ''})`);
  } else if (policy === 'equal' ? !now.equals(before) : !now.contains(before)) {
    const rule = policy === 'equal' ? 'must stay the same' : 'may only grow';
    changes.push(`--resources changed from "${before.toString()}" to "${now.toString()}" (with --reconfiguration_policy=${policy} they ${rule})`);
  }
  const previousAttributes = new Map((previous.attributes ?? []).map((a) => [a.name, attributeText(a)]));
  const currentAttributes = new Map((current.attributes ?? []).map((a) => [a.name, attributeText(a)]));
  for (const [name, text] of previousAttributes) {
    const after = currentAttributes.get(name);
    if (after === undefined) changes.push(`attribute "${name}" (${text}) was removed`);
    else if (after !== text) changes.push(`attribute "${name}" changed from ${text} to ${after}`);
  }
  if (policy === 'equal') {
    for (const [name, text] of currentAttributes) if (!previousAttributes.has(name)) changes.push(`attribute "${name}" (${text}) was added (with --reconfiguration_policy=equal nothing may be added)`);
  }
  return changes;
}

/** The refusal a user reads: what changed, and the two ways forward. */
export function reconfigurationRefusal(agentId: string, latestPath: string, changes: readonly string[]): string {
  return (
    `this agent cannot recover agent ${agentId} from its checkpoint: ${changes.join('; ')}. ` +
    `Restart it with the flags it had to keep its tasks, or remove ${latestPath} to start as a new agent (its tasks will be killed)`
  );
}

function statically(info: AgentInfo): Resources | { error: string } {
  const parsed = Resources.tryFromWire(info.resources ?? []);
  return 'error' in parsed ? parsed : parsed.withoutDynamicReservations();
}

function attributeText(attribute: Attribute): string {
  const { name: _name, ...value } = attribute;
  return JSON.stringify(value);
}
