import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';

/** One flow target's lag and volume over time, in equal buckets (the console's chart). */
export interface LagSeries {
  flow: string;
  target: string;
  points: { at: string; p50: number; p95: number; records: number }[];
}

/**
 * Lag from an envelope's commit at the source (its publish entry) to its apply at the target, from
 * the collected ledgers, per bucket of the last `hours` (sixty buckets): the measure of the monitor's
 * lag, kept over time.
 */
export async function lagHistory(db: Database, hours: number): Promise<LagSeries[]> {
  const bucket = Math.max(60, Math.round((hours * 3600) / 60));
  const since = new Date(Date.now() - hours * 3600_000).toISOString();
  const rows = await db.query<{ flow: string; target: string; at: Date | string; p50: number; p95: number; records: string }>(sql`SELECT a.flow, a.department AS target,
    to_timestamp(floor(extract(epoch FROM a.at::timestamptz) / ${bucket}) * ${bucket}) AS at,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.at::timestamptz - p.at::timestamptz)) AS p50,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM a.at::timestamptz - p.at::timestamptz)) AS p95, sum(a.record_count) AS records
    FROM centre_ledger a JOIN centre_ledger p ON p.message_id = a.message_id AND p.department = a.from_dept AND p.kind = 'publish'
    WHERE a.kind = 'apply' AND a.at >= ${since} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`);
  const series = new Map<string, LagSeries>();
  for (const r of rows) {
    const key = `${r.flow}\u0000${r.target}`;
    if (!series.has(key)) series.set(key, { flow: r.flow, target: r.target, points: [] });
    series.get(key)!.points.push({ at: new Date(r.at).toISOString(), p50: Number(r.p50), p95: Number(r.p95), records: Number(r.records) });
  }
  return [...series.values()];
}
