/**
 * What the master core asks its shell to do. The core never performs I/O; it returns these in
 * order, and the shell carries them out in that order.
 */
import type { AgentEvent, SchedulerEvent } from '../../api/index.js';
import type { RegistryOperation } from '../registry/state.js';
import type { ConnectionId } from './state.js';

export type TimerName = string;

export type Effect =
  /** Write one event on a framework's subscription stream. */
  | { kind: 'frameworkEvent'; connection: ConnectionId; event: SchedulerEvent }
  /** Write one event on an agent's link stream. */
  | { kind: 'agentEvent'; connection: ConnectionId; event: AgentEvent }
  /** End a stream (the peer sees it close). */
  | { kind: 'closeConnection'; connection: ConnectionId }
  /** Call timerFired(name) at atMs (monotonic); replaces an earlier timer of that name. */
  | { kind: 'setTimer'; name: TimerName; atMs: number }
  | { kind: 'cancelTimer'; name: TimerName }
  /**
   * Store a registry operation. The state already reflects it; the shell must not carry out any
   * later effect, nor answer the call that caused it, until the operation is durable.
   */
  | { kind: 'persist'; operation: RegistryOperation };
