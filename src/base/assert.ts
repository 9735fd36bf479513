/**
 * Assertions for invariants. A failed assertion is a bug in agora, never a user's mistake:
 * it throws BugIndicatingError, which no core catches.
 */
export class BugIndicatingError extends Error {
  override readonly name = 'BugIndicatingError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new BugIndicatingError(message);
}

/** Ends a switch over a union: a new member without a case does not compile. */
export function assertNever(value: never, what = 'value'): never {
  throw new BugIndicatingError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
