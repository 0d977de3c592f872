import type { ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { countChanges as countSql, selectChanges, selectKeys } from '../shared/keyset';
import type { MysqlDatabase } from './database';
import { quote } from './sql';

/**
 * MySQL's CURRENT_TIMESTAMP/NOW() is the start of the writing *statement*, and INNODB_TRX lists every
 * running InnoDB transaction with its start: no transaction still open can commit a row stamped
 * before the oldest start. A transaction shows up there only once InnoDB has begun it, a little after
 * its first statement started (and the table is a snapshot refreshed every 0.1 s), and `trx_started`
 * has whole seconds: hence a second taken off both bounds. `trx_started` is in the server's system
 * zone while NOW() and the columns read in the session's, so it is converted.
 *
 * Because the stamp is the statement's, a transaction can only have stamped rows in the past if it has
 * written (rows modified) or is running a statement now: idle readers (a report, a consistent dump)
 * do not hold the horizon back.
 */
/** the second taken off, the second a DATETIME(0) column may round down, the 0.1 s INNODB_TRX refresh */
export const SETTLE_MS = 2100;

const HORIZON = `SELECT CAST(LEAST(NOW(6), COALESCE(CONVERT_TZ(MIN(trx_started), 'SYSTEM', @@session.time_zone), NOW(6)))
                  - INTERVAL 1 SECOND AS DATETIME(6)) AS horizon
                  FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id <> CONNECTION_ID()
                   AND trx_autocommit_non_locking = 0 AND (trx_rows_modified > 0 OR trx_query IS NOT NULL)`;

export async function horizon(db: MysqlDatabase, watermark: ColumnInfo): Promise<unknown> {
  const type = temporal(watermark);
  if (!type) return null; // integer watermarks: see README, "How changes are captured"
  const [row] = await db.native<{ horizon: string }>(HORIZON);
  return cut(row.horizon, type);
}

/** Now, as a value of the watermark column. */
export async function clock(db: MysqlDatabase, watermark: ColumnInfo): Promise<unknown> {
  const type = temporal(watermark);
  if (!type) return null;
  const [row] = await db.native<{ now: string }>('SELECT CAST(NOW(6) AS DATETIME(6)) AS now');
  return cut(row.now, type);
}

const temporal = (column: ColumnInfo) => /^(datetime|timestamp|date)\b(?:\((\d)\))?/i.exec(column.type);

/** Cut to the column's precision: truncating only lowers an exclusive bound, so it stays safe. */
function cut(value: string, type: RegExpExecArray): string {
  if (type[1].toLowerCase() === 'date') return value.slice(0, 10);
  const digits = Number(type[2] ?? 0);
  return value.slice(0, digits ? 20 + digits : 19);
}

export async function readChanges(db: MysqlDatabase, src: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
  const { sql, params } = selectChanges(quote, src, after, upTo, limit);
  return db.native(sql, params);
}

export async function countChanges(db: MysqlDatabase, src: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
  const { sql, params } = countSql(quote, src, after, upTo);
  const [row] = await db.native<{ n: string | number }>(sql, params);
  return Number(row.n);
}

export async function scanKeys(db: MysqlDatabase, src: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
  const { sql, params } = selectKeys(quote, src, columns, afterKey, limit);
  return db.native(sql, params);
}
