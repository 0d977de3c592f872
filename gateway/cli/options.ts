import { InvalidArgumentError } from 'commander';

/**
 * Parsers for option values, so that a bad value is refused by the command line with the option's
 * name (exit 64) before any work starts, never met later as a database error or a stack trace.
 */
export function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** The same for an option that takes several values (`--id 3 4 5`). */
export function wholeNumbers(min: number, max: number): (text: string, previous?: number[]) => number[] {
  const one = wholeNumber(min, max);
  return (text, previous = []) => [...previous, one(text)];
}

/** Exit codes (documented in the README): what a script can tell apart. */
export const EXIT = {
  ok: 0,
  /** problems found (validate, audit verify), or the command failed */
  failed: 1,
  /** the work was sent, but not every receipt came back in time */
  receiptsMissing: 2,
  /** the command line was used wrongly: an unknown option, a bad value (EX_USAGE) */
  usage: 64,
} as const;
