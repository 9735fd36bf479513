/**
 * The response side of a debug session's output (facts 0, 3.3): one chunked `200` with
 * `Content-Type: application/recordio` and `Message-Content-Type: application/json`, each record a
 * ProcessIO (DATA STDOUT/STDERR with base64 bytes, CONTROL HEARTBEAT), written as it happens.
 */
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { encodeRecord, type ProcessIO, RECORDIO_TYPE } from '../../api/index.js';
import { JSON_TYPE } from '../../http/index.js';

/** An attacher that lets this much output pile up unread is cut off rather than fill the agent. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export class ProcessIoStream {
  private closed = false;
  private readonly raw: ServerResponse;
  private readonly closeListeners: Array<() => void> = [];
  private readonly heartbeat: NodeJS.Timeout;

  /** Takes the reply over and starts the heartbeats. */
  constructor(reply: FastifyReply, heartbeatIntervalMs: number) {
    reply.hijack();
    this.raw = reply.raw;
    this.raw.writeHead(200, { 'Content-Type': RECORDIO_TYPE, 'Message-Content-Type': JSON_TYPE, 'Cache-Control': 'no-cache' });
    this.raw.flushHeaders();
    this.raw.socket?.setNoDelay(true);
    const onGone = () => this.markClosed();
    this.raw.on('close', onGone);
    this.raw.on('error', onGone);
    const nanoseconds = heartbeatIntervalMs * 1e6;
    this.heartbeat = setInterval(
      () => this.send({ type: 'CONTROL', control: { type: 'HEARTBEAT', heartbeat: { interval: { nanoseconds } } } }),
      heartbeatIntervalMs,
    );
    this.heartbeat.unref();
    // The client may have left while the session was starting: its 'close' has been and gone.
    if (this.raw.socket === null || this.raw.socket.destroyed) this.markClosed();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes `bytes` as a DATA record. False when the client is not keeping up (wait for onDrain). */
  data(type: 'STDOUT' | 'STDERR', bytes: Buffer): boolean {
    return this.send({ type: 'DATA', data: { type, data: bytes.toString('base64') } });
  }

  send(record: ProcessIO): boolean {
    if (this.closed) return true;
    const flowing = this.raw.write(encodeRecord(JSON.stringify(record)));
    if (this.raw.writableLength > MAX_BUFFERED_BYTES) this.close();
    return flowing;
  }

  onDrain(listener: () => void): void {
    this.raw.once('drain', listener);
  }

  /** Ends the response: the client sees the stream end after the last record. */
  close(): void {
    if (this.closed) return;
    this.raw.end();
    this.markClosed();
  }

  /** Called once, when the stream ends by close() or because the client went away. */
  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
