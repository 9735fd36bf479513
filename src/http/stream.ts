/**
 * Server side of a RecordIO event stream: one chunked 200 response that stays open, with each
 * event written as its own record the moment it exists (no batching, no buffering by us).
 */
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { encodeRecord } from '../api/index.js';

export class EventStream {
  private closed = false;
  private readonly raw: ServerResponse;
  private readonly closeListeners: Array<() => void> = [];

  /** Takes over the reply: fastify will not touch it again. */
  constructor(reply: FastifyReply, headers: Record<string, string>) {
    reply.hijack();
    this.raw = reply.raw;
    this.raw.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', ...headers });
    this.raw.flushHeaders();
    const onGone = () => this.markClosed();
    this.raw.on('close', onGone);
    this.raw.on('error', onGone);
    this.raw.socket?.setNoDelay(true);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes one event now. Returns false if the stream is already closed. */
  send(event: unknown): boolean {
    if (this.closed) return false;
    this.raw.write(encodeRecord(JSON.stringify(event)));
    return true;
  }

  /** Ends the response (the client sees the stream close). */
  close(): void {
    if (this.closed) return;
    this.raw.end();
    this.markClosed();
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
