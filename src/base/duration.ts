/**
 * Mesos duration syntax for flags: a number followed by ns, us, ms, secs, mins, hrs, days or
 * weeks ("15secs", "1.5mins"). Bare numbers are read as seconds.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** Returns milliseconds, or an error text naming the fix. */
export function parseDurationMs(text: string): number | { error: string } {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/.exec(text);
  if (match === null) return { error: `"${text}" is not a duration; write e.g. "15secs", "500ms" or "2mins"` };
  const unit = match[2] === '' ? 'secs' : match[2]!;
  const factor = UNIT_MS[unit];
  if (factor === undefined) {
    return { error: `"${text}" has unknown unit "${unit}"; use one of ${Object.keys(UNIT_MS).join(', ')}` };
  }
  return Number(match[1]) * factor;
}

/** Formats milliseconds the way Mesos prints durations ("5secs", "100ms"). */
export function formatDuration(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}secs`;
  return `${ms}ms`;
}
