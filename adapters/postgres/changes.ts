import type { ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { countChanges as countSql, numberPlaceholders, selectChanges, selectKeys } from '../shared/keyset';
import type { PgDatabase } from './database';
import { quote } from './sql';

/**
 * now() is the start of the writing transaction, and pg_stat_activity shows when every open
 * transaction started: no transaction still open can commit a row whose watermark is below the
 * oldest start. The small settle interval covers the instant between a backend taking its start
 * timestamp and publishing it in pg_stat_activity.
 */
export const SETTLE_MS = 250;

export async function horizon(db: PgDatabase, watermark: ColumnInfo): Promise<unknown> {
  const type = /^(timestamp|date)/.test(watermark.type) ? watermark.type : null;
  if (!type) return null; // integer watermarks: see README, "How changes are captured"
  const [row] = await db.native<{ horizon: string }>(
    `SELECT (LEAST(now(), (SELECT min(xact_start) FROM pg_stat_activity
                            WHERE datname = current_database() AND pid <> pg_backend_pid()
                              AND xact_start IS NOT NULL AND backend_type = 'client backend'))
             - interval '${SETTLE_MS} milliseconds')::${type} AS horizon`,
  );
  return row.horizon;
}

/** Now, as a value of the watermark column. */
export async function clock(db: PgDatabase, watermark: ColumnInfo): Promise<unknown> {
  const type = /^(timestamp|date)/.test(watermark.type) ? watermark.type : null;
  if (!type) return null;
  const [row] = await db.native<{ now: string }>(`SELECT clock_timestamp()::${type} AS now`);
  return row.now;
}

export async function readChanges(db: PgDatabase, src: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
  const { sql, params } = selectChanges(quote, src, after, upTo, limit);
  return db.native(numberPlaceholders(sql, (n) => `$${n}`), params);
}

export async function countChanges(db: PgDatabase, src: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
  const { sql, params } = countSql(quote, src, after, upTo);
  const [row] = await db.native<{ n: string }>(numberPlaceholders(sql, (n) => `$${n}`), params);
  return Number(row.n);
}

export async function scanKeys(db: PgDatabase, src: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
  const { sql, params } = selectKeys(quote, src, columns, afterKey, limit);
  return db.native(numberPlaceholders(sql, (n) => `$${n}`), params);
}
