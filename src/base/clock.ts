/**
 * Time as the cores see it. Cores never read Date.now(); the shell or a test owns time and
 * passes a Clock in, so the same core runs under HTTP, under unit tests and in the simulator.
 */
export interface Clock {
  /** Milliseconds on a monotonic timeline. Only differences mean anything. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps users see. */
  realtimeMs(): number;
}

/** A clock that only moves when told to. For tests and the simulator. */
export class ManualClock implements Clock {
  private nowMs: number;

  constructor(
    startMs = 0,
    private readonly epochMs = 1_700_000_000_000,
  ) {
    this.nowMs = startMs;
  }

  monotonicMs(): number {
    return this.nowMs;
  }

  realtimeMs(): number {
    return this.epochMs + this.nowMs;
  }

  advanceMs(deltaMs: number): void {
    if (deltaMs < 0) throw new RangeError(`cannot move a clock backwards (${deltaMs} ms)`);
    this.nowMs += deltaMs;
  }
}
