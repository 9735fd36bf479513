/**
 * What `agora task` asks the cluster: the master's tasks and agents (v1 Operator API, at the leader
 * that etcd names or a standby redirects to), and a task's agent (its Operator API and `/state`).
 * Every failure becomes one line that names the fix.
 */
import { AgoraError } from '../base/index.js';
import { type HttpResponse, request } from '../http/index.js';
import { isEtcdUrl } from '../etcd/index.js';
import { leaderUrl, masterBaseUrl } from './scheduler-client.js';

/** A task as the master reports it (v1 `Task`), reduced to what the CLI uses. */
export interface TaskView {
  id: string;
  name: string;
  state: string;
  frameworkId: string;
  agentId: string;
  /** The container of its latest status (nested for a task of a task group). */
  containerId?: ContainerIdJson;
}

export interface ContainerIdJson {
  value: string;
  parent?: ContainerIdJson;
}

export interface AgentView {
  id: string;
  hostname: string;
  /** http://ip:port */
  url: string;
}

const MAX_REDIRECTS = 3;
/** How long to wait for etcd to name a leader. */
const LEADER_WAIT_MS = 10_000;

/** A failure the user can act on; printed as the one line of `agora task`. */
export function userError(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_VALIDATION', message);
}

/** A daemon refused a call: its HTTP status and words. */
export class RefusedCallError extends AgoraError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super('AGORA_ERR_VALIDATION', message);
  }
}

export class ClusterClient {
  /** As given: HOST:PORT, or etcd://... (the leader is looked up there). */
  readonly masterUrl: string;
  private base: Promise<string> | undefined;

  constructor(master: string) {
    this.masterUrl = isEtcdUrl(master) ? master : masterBaseUrl(master);
  }

  /** Active tasks, and with `completed` the finished ones too. */
  async tasks(completed: boolean): Promise<TaskView[]> {
    const body = (await this.operator({ type: 'GET_TASKS' })) as { get_tasks?: Record<string, unknown[] | undefined> };
    const lists = body.get_tasks ?? {};
    const active = [...(lists['tasks'] ?? []), ...(lists['pending_tasks'] ?? []), ...(lists['unreachable_tasks'] ?? [])];
    const finished = completed ? (lists['completed_tasks'] ?? []) : [];
    return [...active, ...finished].map((t) => taskView(t as V1Task));
  }

  async agents(): Promise<Map<string, AgentView>> {
    const body = (await this.operator({ type: 'GET_AGENTS' })) as { get_agents?: { agents?: V1Agent[] } };
    const agents = new Map<string, AgentView>();
    for (const agent of body.get_agents?.agents ?? []) {
      const id = agent.agent_info?.id?.value;
      const url = agentUrlOf(agent);
      if (id !== undefined && url !== undefined) agents.set(id, { id, hostname: agent.agent_info?.hostname ?? '', url });
    }
    return agents;
  }

  /**
   * The task named `query`: its id exactly, else the one task whose id starts with it. Not found
   * or ambiguous: an error listing candidates.
   */
  async findTask(query: string): Promise<{ task: TaskView; agent: AgentView }> {
    const tasks = await this.tasks(true);
    // A task id may be reused after it ended: the running one first, then the latest.
    const exact = tasks.filter((t) => t.id === query);
    const matches = exact.length > 0 ? exact : tasks.filter((t) => t.id.startsWith(query));
    const ids = [...new Set(matches.map((t) => t.id))];
    if (ids.length === 0) {
      const similar = tasks.filter((t) => t.id.includes(query) || t.name === query).map((t) => t.id);
      const candidates = (similar.length > 0 ? similar : tasks.filter((t) => !isTerminal(t.state)).map((t) => t.id)).slice(0, 10);
      const list = candidates.length === 0 ? 'the master knows no tasks' : `${similar.length > 0 ? 'did you mean' : 'running tasks'}: ${candidates.join(', ')}`;
      throw userError(`no task '${query}' at the master ${this.masterUrl} (${list}); see agora task list --all`);
    }
    if (ids.length > 1) {
      throw userError(`'${query}' matches ${ids.length} tasks: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', ...' : ''}; give more of the id`);
    }
    const task = matches.find((t) => !isTerminal(t.state)) ?? matches.at(-1)!;
    const agent = (await this.agents()).get(task.agentId);
    if (agent === undefined) {
      throw userError(`task '${task.id}' is on agent ${task.agentId}, which the master no longer knows (removed or unreachable)`);
    }
    return { task, agent };
  }

  /** POSTs an operator call to the master (to the leader, if a standby redirects). */
  async operator(call: { type: string; [member: string]: unknown }): Promise<unknown> {
    this.base ??= leaderUrl(this.masterUrl, LEADER_WAIT_MS).catch((err: Error) => {
      throw userError(`no leading master in ${this.masterUrl}: ${err.message}`);
    });
    let url = `${await this.base}/api/v1`;
    for (let hop = 0; ; hop++) {
      const response = await send(url, call, `the master at ${this.masterUrl}`, 'is it running? pass --master HOST:PORT');
      if (response.status === 307 && hop < MAX_REDIRECTS) {
        const location = header(response, 'location');
        if (location !== undefined) {
          url = new URL(location.startsWith('//') ? `http:${location}` : location, url).toString();
          continue;
        }
      }
      if (response.status === 503) throw userError(`the master at ${this.masterUrl} cannot answer now (${response.text.trim() || '503'}); retry in a moment`);
      return parseAnswer(response, call.type, `the master at ${this.masterUrl}`);
    }
  }
}

/** POSTs an operator call to an agent and returns its JSON answer. */
export async function agentCall(agent: AgentView, call: { type: string; [member: string]: unknown }): Promise<unknown> {
  const response = await send(`${agent.url}/api/v1`, call, agentName(agent), 'is the agent running and reachable from here?');
  return parseAnswer(response, call.type, agentName(agent));
}

/** GET a JSON endpoint of an agent (`/state`). */
export async function agentGet(agent: AgentView, path: string): Promise<unknown> {
  let response: HttpResponse;
  try {
    response = await request(`${agent.url}${path}`, undefined, { timeoutMs: 15_000 });
  } catch (err) {
    throw unreachable(agentName(agent), err, 'is the agent running and reachable from here?');
  }
  return parseAnswer(response, `GET ${path}`, agentName(agent));
}

export function agentName(agent: AgentView): string {
  return `agent ${agent.id} (${agent.url})`;
}

export function isTerminal(state: string): boolean {
  return /^TASK_(FINISHED|FAILED|KILLED|ERROR|LOST|DROPPED|GONE|GONE_BY_OPERATOR)$/.test(state);
}

async function send(url: string, call: unknown, who: string, hint: string): Promise<HttpResponse> {
  try {
    return await request(url, JSON.stringify(call), { timeoutMs: 15_000 });
  } catch (err) {
    throw unreachable(who, err, hint);
  }
}

function unreachable(who: string, err: unknown, hint: string): AgoraError {
  const code = (err as NodeJS.ErrnoException).code;
  return userError(`cannot reach ${who}: ${code ?? (err as Error).message}; ${hint}`);
}

function parseAnswer(response: HttpResponse, what: string, who: string): unknown {
  if (response.status !== 200) {
    const text = response.text.trim();
    throw new RefusedCallError(`${who} answered ${what} with ${response.status}${text === '' ? '' : `: ${text}`}`, response.status);
  }
  try {
    return JSON.parse(response.text) as unknown;
  } catch {
    throw userError(`${who} answered ${what} with something that is not JSON; is that address an agora/Mesos daemon?`);
  }
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

interface V1Task {
  task_id: { value: string };
  name?: string;
  state?: string;
  framework_id?: { value: string };
  agent_id?: { value: string };
  statuses?: Array<{ container_status?: { container_id?: ContainerIdJson } }>;
}

interface V1Agent {
  agent_info?: { id?: { value: string }; hostname?: string; port?: number };
  pid?: string;
}

function taskView(task: V1Task): TaskView {
  const containerId = task.statuses?.findLast((s) => s.container_status?.container_id !== undefined)?.container_status?.container_id;
  return {
    id: task.task_id.value,
    name: task.name ?? '',
    state: task.state ?? 'TASK_STAGING',
    frameworkId: task.framework_id?.value ?? '',
    agentId: task.agent_id?.value ?? '',
    ...(containerId === undefined ? {} : { containerId }),
  };
}

/** From the agent's pid `slave(1)@ip:port`, else its hostname and port. */
function agentUrlOf(agent: V1Agent): string | undefined {
  const endpoint = /@(.+:\d+)$/.exec(agent.pid ?? '')?.[1];
  if (endpoint !== undefined) return `http://${endpoint}`;
  const { hostname, port } = agent.agent_info ?? {};
  return hostname === undefined ? undefined : `http://${hostname}:${port ?? 5051}`;
}
