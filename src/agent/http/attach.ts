/**
 * Attaching to a debug session (facts 3.3): ATTACH_CONTAINER_INPUT is a streaming request, RecordIO
 * of agent.Call records (the container id first, then ProcessIO: STDIN bytes, TTY_INFO window
 * sizes, heartbeats), answered 200 when the input ends; ATTACH_CONTAINER_OUTPUT streams the
 * session's output from the moment it attaches.
 */
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { AgentOperatorCall, decodeJsonBody, RecordIoDecoder, RecordIoError } from '../../api/index.js';
import { AgoraError } from '../../base/index.js';
import type { DebugSession } from './session.js';
import { ProcessIoStream } from './session-stream.js';

/** A ProcessIO record is small (keystrokes, pasted text): a bound on what one may hold. */
const MAX_INPUT_RECORD_BYTES = 4 * 1024 * 1024;

/**
 * Reads the first record of a streaming request: the call (decoded, 400 naming the field when
 * bad) and an iterator over the records after it, read as they arrive.
 */
export async function readAttachInput(body: Readable): Promise<{ call: AgentOperatorCall; records: AsyncIterable<string> }> {
  const iterator = recordsOf(body)[Symbol.asyncIterator]();
  let first: IteratorResult<string>;
  try {
    first = await iterator.next();
  } catch (err) {
    throw inputError(err);
  }
  if (first.done === true) {
    throw new AgoraError('AGORA_ERR_VALIDATION', 'Expecting a first record: an agent.Call of type ATTACH_CONTAINER_INPUT with the container id');
  }
  const call = decodeJsonBody(AgentOperatorCall, first.value, 'agent.Call');
  return { call, records: { [Symbol.asyncIterator]: () => iterator } };
}

/**
 * Feeds the session's input from `records` until they end (the client closed its request) or the
 * session ends. One attacher at a time: another is refused 409 while this one lasts.
 */
export async function attachInput(session: DebugSession, records: AsyncIterable<string>): Promise<void> {
  if (!session.claimInput()) {
    throw new AgoraError('AGORA_ERR_CONFLICT', `Container ${session.containerId.value} already has an input attached; one at a time`);
  }
  const iterator = records[Symbol.asyncIterator]();
  const ended = session.ended.then(() => ({ done: true as const, value: undefined }));
  try {
    for (let index = 1; ; index++) {
      let next: IteratorResult<string>;
      try {
        next = await Promise.race([iterator.next(), ended]);
      } catch (err) {
        if (err instanceof RecordIoError) throw inputError(err);
        return; // The client went away: its input is over; the session lives on.
      }
      if (next.done === true) return;
      // In order: a resize takes effect before the keys typed after it.
      await applyInput(session, decodeJsonBody(AgentOperatorCall, next.value, `agent.Call (record ${index + 1})`), index + 1);
    }
  } finally {
    session.releaseInput();
    void iterator.return?.();
  }
}

async function applyInput(session: DebugSession, call: AgentOperatorCall, record: number): Promise<void> {
  const where = `agent.Call (record ${record})`;
  const io = call.attach_container_input?.process_io;
  if (call.type !== 'ATTACH_CONTAINER_INPUT' || call.attach_container_input?.type !== 'PROCESS_IO' || io === undefined) {
    throw new AgoraError(
      'AGORA_ERR_VALIDATION',
      `${where}: expecting {"type": "ATTACH_CONTAINER_INPUT", "attach_container_input": {"type": "PROCESS_IO", "process_io": {...}}}`,
    );
  }
  if (io.type === 'DATA') {
    if (io.data?.type !== 'STDIN') throw new AgoraError('AGORA_ERR_VALIDATION', `${where}.attach_container_input.process_io.data.type: must be STDIN`);
    session.input(Buffer.from(io.data.data ?? '', 'base64'));
  } else if (io.type === 'CONTROL' && io.control?.type === 'TTY_INFO') {
    const size = io.control.tty_info?.window_size;
    if (size === undefined) {
      throw new AgoraError('AGORA_ERR_VALIDATION', `${where}.attach_container_input.process_io.control.tty_info.window_size: required for TTY_INFO`);
    }
    if (session.tty) await session.resize(size);
  }
  // HEARTBEAT keeps the connection alive; nothing to do.
}

/** Streams the session's output to `reply` from now until the session ends or the client leaves. */
export function attachOutput(session: DebugSession, reply: FastifyReply, heartbeatIntervalMs: number): void {
  session.addOutput(new ProcessIoStream(reply, heartbeatIntervalMs), false);
}

async function* recordsOf(body: Readable): AsyncGenerator<string> {
  const decoder = new RecordIoDecoder(MAX_INPUT_RECORD_BYTES);
  for await (const chunk of body) {
    for (const record of decoder.push(chunk as Buffer)) yield record;
  }
}

function inputError(err: unknown): AgoraError {
  if (err instanceof RecordIoError) return new AgoraError('AGORA_ERR_VALIDATION', `Malformed RecordIO in the request: ${err.message}`);
  return new AgoraError('AGORA_ERR_VALIDATION', `The request stream failed: ${(err as Error).message}`);
}
