import type { Pool, QueryConfig } from 'pg';
import type { ChangeReader, ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { countChanges, selectChanges, selectKeys } from '../shared/keyset';
import { render, type Sql } from '../sql';
import { readOnly } from './connection';
import { listen, watch } from './notify';
import { postgresSql } from './sql';

/**
 * now() is the start of the writing transaction, and pg_stat_activity shows when every open
 * transaction started: no transaction still open can commit a row whose watermark is below the
 * oldest start. The small settle interval covers the instant between a backend taking its start
 * timestamp and publishing it in pg_stat_activity.
 */
export const SETTLE_MS = 250;

const temporal = (watermark: ColumnInfo): string | null => (/^(timestamp|date)/.test(watermark.type) ? watermark.type : null);

export class PgChanges implements ChangeReader {
  readonly settleMs = SETTLE_MS + 50;
  readonly notifications;

  constructor(private readonly pool: Pool, url: string) {
    this.notifications = {
      watch: (source: ChangeSource, channel: string) => watch(pool, source, channel),
      listen: (channel: string, onChange: () => void) => listen(url, channel, onChange),
    };
  }

  async horizon(_source: ChangeSource, watermark: ColumnInfo): Promise<unknown> {
    const type = temporal(watermark);
    if (!type) return null; // integer watermarks: see README, "How changes are captured"
    const { rows: [row] } = await this.pool.query<{ horizon: string }>(
      `SELECT (LEAST(now(), (SELECT min(xact_start) FROM pg_stat_activity
                              WHERE datname = current_database() AND pid <> pg_backend_pid()
                                AND xact_start IS NOT NULL AND backend_type = 'client backend'))
               - interval '${SETTLE_MS} milliseconds')::${type} AS horizon`,
    );
    return row.horizon;
  }

  /** Now, as a value of the watermark column. */
  async clock(watermark: ColumnInfo): Promise<unknown> {
    const type = temporal(watermark);
    if (!type) return null;
    const { rows: [row] } = await this.pool.query<{ now: string }>(`SELECT clock_timestamp()::${type} AS now`);
    return row.now;
  }

  read(source: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
    return this.select(selectChanges(source, after, upTo, limit));
  }

  async count(source: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
    const [row] = await this.select<{ n: string }>(countChanges(source, after, upTo));
    return Number(row.n);
  }

  scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
    return this.select(selectKeys(source, columns, afterKey, limit));
  }

  /**
   * Always through the extended protocol, which runs exactly one statement: without parameters pg
   * would send the simple protocol, where a query smuggling in `; COMMIT; INSERT …` would end the
   * read-only transaction and write.
   */
  private select<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text, params } = render(statement, postgresSql.renderer);
    const query = { text, values: params, queryMode: 'extended' } as QueryConfig;
    return readOnly(this.pool, async (client) => (await client.query<T>(query)).rows);
  }
}
