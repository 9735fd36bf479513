/**
 * The simulator's peers over real HTTP: hollow agents, each holding its own agent-link stream
 * to a real `agora master`, and synthetic frameworks on the v1 Scheduler API, for measuring
 * the cost of the wire. The peers are the simulator's; only the transport and clock are real.
 */
import type { Logger } from 'pino';
import { AGENT_LINK_PATH, AgentEvent } from '../api/index.js';
import type { SchedulerEvent } from '../api/index.js';
import { Prng } from '../base/index.js';
import { openEventStream, postJson } from '../http/index.js';
import { Resources } from '../resources/index.js';
import { HollowAgent, SyntheticFramework } from '../sim/index.js';
import type { AgentWire, FrameworkWire, Timeline } from '../sim/index.js';

export const realTimeline: Timeline = {
  monotonicMs: () => performance.now(),
  realtimeMs: () => Date.now(),
  after: (delayMs, run) => void setTimeout(run, delayMs).unref(),
};

export interface HollowAgentsConfig {
  /** "host:port" of the master. */
  master: string;
  count: number;
  resources: string;
  logger: Logger;
  seed?: number;
}

export interface HollowAgentsHandle {
  agents: readonly HollowAgent[];
  /** How many have received SUBSCRIBED. */
  registered(): number;
  stop(): void;
}

export async function startHollowAgents(config: HollowAgentsConfig): Promise<HollowAgentsHandle> {
  const total = Resources.parse(config.resources);
  if ('error' in total) throw new Error(`--resources: ${total.error}`);
  const url = `http://${config.master}${AGENT_LINK_PATH}`;
  const prng = new Prng(config.seed ?? 1);
  const closers: Array<() => void> = [];
  let stopped = false;
  const wire: AgentWire = {
    call: (agent, call) => {
      if (stopped || agent.streamId === undefined) return;
      postJson(url, call, { 'Mesos-Stream-Id': agent.streamId }).then(
        (res) => {
          if (res.status !== 202) config.logger.warn({ status: res.status, text: res.text, call: call.type }, 'master refused a hollow agent call');
        },
        (err: Error) => config.logger.warn({ err: err.message }, 'hollow agent call failed'),
      );
    },
  };
  const agents = Array.from({ length: config.count }, (_, i) => new HollowAgent(i, total, realTimeline, prng, wire, { min: 1, max: 5 }));
  // Subscribe in slices so a thousand streams do not open in one burst.
  for (let i = 0; i < agents.length; i += 50) {
    await Promise.all(
      agents.slice(i, i + 50).map(async (agent) => {
        const stream = await openEventStream(url, { type: 'SUBSCRIBE', subscribe: agent.subscribeCall() });
        if (stream.status !== 200) throw new Error(`hollow agent ${agent.index} could not subscribe: ${stream.status} ${stream.errorText ?? ''}`);
        agent.streamId = String(stream.headers['mesos-stream-id']);
        closers.push(() => stream.close());
        void (async () => {
          for await (const event of stream.events) {
            const parsed = AgentEvent.safeParse(event);
            if (parsed.success) agent.onEvent(parsed.data);
          }
        })().catch((err: Error) => config.logger.warn({ err: err.message, agent: agent.index }, 'hollow agent stream failed'));
      }),
    );
  }
  return {
    agents,
    registered: () => agents.filter((a) => a.agentId !== undefined).length,
    stop() {
      stopped = true;
      for (const close of closers) close();
    },
  };
}

export interface HttpFramework {
  framework: SyntheticFramework;
  close(): void;
}

/**
 * Subscribes a synthetic framework to a real master over the v1 Scheduler API. `make` builds it
 * around the HTTP wire; refused calls are logged, since a well-behaved framework gets none.
 */
export async function connectSyntheticFramework(
  master: string,
  make: (wire: FrameworkWire, timeline: Timeline) => SyntheticFramework,
  logger: Logger,
): Promise<HttpFramework> {
  const url = `http://${master}/api/v1/scheduler`;
  const wire: FrameworkWire = {
    call: (framework, call) => {
      if (framework.streamId === undefined) return;
      postJson(url, call, { 'Mesos-Stream-Id': framework.streamId }).then(
        (res) => {
          if (res.status >= 300) logger.warn({ status: res.status, text: res.text, call: call.type }, 'master refused a framework call');
        },
        (err: Error) => logger.warn({ err: err.message }, 'framework call failed'),
      );
    },
  };
  const framework = make(wire, realTimeline);
  const stream = await openEventStream(url, { type: 'SUBSCRIBE', subscribe: { framework_info: framework.info() } });
  if (stream.status !== 200) throw new Error(`framework ${framework.name} could not subscribe: ${stream.status} ${stream.errorText ?? ''}`);
  framework.streamId = String(stream.headers['mesos-stream-id']);
  void (async () => {
    for await (const event of stream.events) framework.onEvent(event as SchedulerEvent);
  })().catch((err: Error) => logger.warn({ err: err.message }, 'framework stream failed'));
  return { framework, close: () => stream.close() };
}
