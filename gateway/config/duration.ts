/** The centre's name among the exchange's broker users and queues, which no department may then take. */
export const CENTRE = 'centre';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `5m`, `500ms`, `1h`, `90d` in milliseconds (the spec's DURATION_PATTERN has checked the form). */
export function durationMs(text: string): number {
  const m = /^([0-9]+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: '${text}' (write e.g. 500ms, 30s, 5m, 1h, 90d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}
