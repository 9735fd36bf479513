/**
 * Virtual time for the simulator: tasks run in (time, sequence) order, so two runs from one
 * seed replay identically. Implements the cores' Clock, so the master reads this time.
 */
import { MinHeap, assert } from '../base/index.js';
import type { Clock } from '../base/index.js';

const SIM_EPOCH_MS = 1_800_000_000_000;

/**
 * Time as hollow agents and synthetic frameworks see it: virtual in the simulator, real when
 * they speak HTTP to a real master.
 */
export interface Timeline extends Clock {
  /** Runs `run` after `delayMs`. */
  after(delayMs: number, run: () => void): void;
}

interface SimTask {
  atMs: number;
  seq: number;
  run: () => void;
}

export class SimClock implements Timeline {
  private nowMs = 0;
  private seq = 0;
  private readonly queue = new MinHeap<SimTask>((a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq));

  monotonicMs(): number {
    return this.nowMs;
  }

  realtimeMs(): number {
    return SIM_EPOCH_MS + this.nowMs;
  }

  schedule(atMs: number, run: () => void): void {
    assert(atMs >= this.nowMs, `scheduled in the past: ${atMs} < ${this.nowMs}`);
    this.queue.push({ atMs, seq: this.seq++, run });
  }

  after(delayMs: number, run: () => void): void {
    this.schedule(this.nowMs + Math.max(0, delayMs), run);
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Runs every task due at or before `untilMs`, moving time forward; ends at `untilMs`. */
  runUntil(untilMs: number, stop: () => boolean = () => false): void {
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.atMs > untilMs || stop()) break;
      this.queue.pop();
      this.nowMs = next.atMs;
      next.run();
    }
    if (untilMs > this.nowMs) this.nowMs = untilMs;
  }
}
