/**
 * The simulator's event log, kept as a running hash (FNV-1a, 32-bit) and a count: two runs from
 * one seed must produce the same hash, which the determinism test checks.
 */
export class EventLog {
  private hash = 0x811c9dc5;
  count = 0;

  record(atMs: number, line: string): void {
    this.count++;
    const text = `${atMs.toFixed(3)} ${line}\n`;
    for (let i = 0; i < text.length; i++) {
      this.hash ^= text.charCodeAt(i);
      this.hash = Math.imul(this.hash, 0x01000193) >>> 0;
    }
  }

  get digest(): string {
    return this.hash.toString(16).padStart(8, '0');
  }
}
