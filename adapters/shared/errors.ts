/** An error and the errors it wraps (`cause`), outermost first. */
export function* causes(err: unknown): Generator<unknown> {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

/** Whether the error or one it wraps has a property with one of these values (an error code or number). */
export function hasCode(err: unknown, property: string, codes: ReadonlySet<unknown>): boolean {
  for (const e of causes(err)) if (codes.has((e as Record<string, unknown>)[property])) return true;
  return false;
}
