/**
 * Validation of window durations given by users. Durations are whole milliseconds; a bad one
 * is a configuration error, reported where the window is defined rather than at run time.
 */

/** A whole number of milliseconds, at least `min`. */
export function checkMillis(what: string, value: number, min: number, hint = ''): number {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`${what} must be a whole number of milliseconds, got ${String(value)}`);
  }
  if (value < min) {
    const bound = min === 0 ? 'must not be negative' : `must be at least ${min} ms`;
    throw new RangeError(`${what} ${bound}, got ${value} ms${hint ? `: ${hint}` : ''}`);
  }
  return value;
}
