import type { ChangeReader, ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { countChanges, selectChanges, selectKeys } from '../shared/keyset';
import { render, type Sql } from '../sql';
import { rows, type Using } from './connection';
import { mysqlSql } from './sql';

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

export class MysqlChanges implements ChangeReader {
  readonly settleMs = SETTLE_MS;

  constructor(private readonly using: Using, private readonly readOnly: Using) {}

  async horizon(_source: ChangeSource, watermark: ColumnInfo): Promise<unknown> {
    const type = temporal(watermark);
    if (!type) return null; // integer watermarks: see README, "How changes are captured"
    const [row] = await this.using((conn) => rows<{ horizon: string }>(conn, HORIZON));
    return cut(row.horizon, type);
  }

  /** Now, as a value of the watermark column. */
  async clock(watermark: ColumnInfo): Promise<unknown> {
    const type = temporal(watermark);
    if (!type) return null;
    const [row] = await this.using((conn) => rows<{ now: string }>(conn, 'SELECT CAST(NOW(6) AS DATETIME(6)) AS now'));
    return cut(row.now, type);
  }

  read(source: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
    return this.select(selectChanges(source, after, upTo, limit));
  }

  async count(source: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
    const [row] = await this.select<{ n: string | number }>(countChanges(source, after, upTo));
    return Number(row.n);
  }

  scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
    return this.select(selectKeys(source, columns, afterKey, limit));
  }

  private select<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text } = render(statement, mysqlSql.renderer);
    return this.readOnly((conn) => rows<T>(conn, text));
  }
}

const temporal = (column: ColumnInfo) => /^(datetime|timestamp|date)\b(?:\((\d)\))?/i.exec(column.type);

/** Cut to the column's precision: truncating only lowers an exclusive bound, so it stays safe. */
function cut(value: string, type: RegExpExecArray): string {
  if (type[1].toLowerCase() === 'date') return value.slice(0, 10);
  const digits = Number(type[2] ?? 0);
  return value.slice(0, digits ? 20 + digits : 19);
}

