/**
 * Status updates flowing through the master: from agents (forwarded to the framework with
 * their uuid), acknowledgements back (forwarded to the agent), and KILL requests.
 */
import { AgoraError } from '../../base/index.js';
import { isTerminalState } from '../../api/index.js';
import type { AgentStatusUpdate, SchedulerCall } from '../../api/index.js';
import type { MasterContext } from './context.js';
import { explicitStatus } from './reconciliation.js';
import type { AgentRecord, FrameworkRecord } from './state.js';
import { applyTaskState, retireTask } from './tasks.js';

export function onAgentStatusUpdate(ctx: MasterContext, agent: AgentRecord, update: AgentStatusUpdate): void {
  const framework = ctx.state.frameworks.get(update.framework_id.value);
  const status = { ...update.status, agent_id: { value: agent.id } };
  if (framework === undefined) {
    // The framework is gone; the agent was told to shut it down and will stop retrying.
    ctx.count('master/invalid_status_updates');
    return;
  }
  ctx.count('master/valid_status_updates');
  ctx.count('master/messages_status_update');
  const task = framework.tasks.get(status.task_id.value);
  if (task !== undefined && task.agentId === agent.id) {
    const retransmission = status.uuid !== undefined && status.uuid === task.statusUpdateUuid;
    if (!retransmission) applyTaskState(ctx, task, status, update.latest_state ?? status.state);
    task.statusUpdateState = status.state;
    if (status.uuid !== undefined) task.statusUpdateUuid = status.uuid;
    else if (isTerminalState(status.state)) retireTask(ctx, task);
  }
  // Forwarded while the framework is connected; otherwise dropped, and the agent retries.
  ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
}

/** Base64 of exactly 16 bytes: 22 characters and padding. */
const UUID_BASE64 = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

export function acknowledge(
  ctx: MasterContext,
  framework: FrameworkRecord,
  call: NonNullable<SchedulerCall['acknowledge']>,
): AgoraError | undefined {
  if (!UUID_BASE64.test(call.uuid)) {
    return new AgoraError('AGORA_ERR_VALIDATION', "'acknowledge.uuid' is not a valid UUID (base64 of 16 bytes)");
  }
  ctx.count('master/messages_status_update_acknowledgement');
  const taskId = call.task_id.value;
  const agent = ctx.state.agents.get(call.agent_id.value);
  const task = framework.tasks.get(taskId);
  if (agent !== undefined) {
    ctx.sendToAgent(agent, {
      type: 'ACKNOWLEDGE',
      acknowledge: { framework_id: { value: framework.id }, task_id: call.task_id, uuid: call.uuid },
    });
  }
  if (task === undefined || task.statusUpdateUuid !== call.uuid) {
    ctx.count('master/invalid_status_update_acknowledgements');
    return undefined;
  }
  ctx.count('master/valid_status_update_acknowledgements');
  if (task.statusUpdateState !== undefined && isTerminalState(task.statusUpdateState)) retireTask(ctx, task);
  return undefined;
}

export function killTask(ctx: MasterContext, framework: FrameworkRecord, call: NonNullable<SchedulerCall['kill']>): void {
  ctx.count('master/messages_kill_task');
  const taskId = call.task_id.value;
  const task = framework.tasks.get(taskId);
  if (task === undefined) {
    // Facts 1.2: a KILL of an unknown task is answered by explicit reconciliation.
    const status = explicitStatus(ctx, framework, taskId, call.agent_id?.value);
    if (status !== undefined) ctx.sendToFramework(framework, { type: 'UPDATE', update: { status } });
    return;
  }
  if (isTerminalState(task.state)) return;
  const agent = ctx.state.agents.get(task.agentId);
  if (agent === undefined) return;
  ctx.sendToAgent(agent, {
    type: 'KILL_TASK',
    kill_task: {
      framework_id: { value: framework.id },
      task_id: call.task_id,
      ...(call.kill_policy === undefined ? {} : { kill_policy: call.kill_policy }),
    },
  });
}
