import { createPool, type FieldPacket, type Pool, type PoolConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TableInfo, TargetTable, Tx } from '../adapter';
import { apply } from './apply';
import { describeQuery, describeTable } from './catalog';
import { clock, countChanges, horizon, readChanges, scanKeys, SETTLE_MS } from './changes';
import { affected, fields, rows, strictSession } from './connection';
import { mysqlSql } from './sql';
import { typeCast } from './values';
import { CommitHooks } from '../shared/keyset';

export class MysqlDatabase implements Database {
  readonly driver = 'mysql';
  readonly sql = mysqlSql;
  readonly settleMs = SETTLE_MS;
  private readonly pool: Pool;
  /** the driver's connections whose session has been prepared */
  private readonly prepared = new WeakSet<object>();

  constructor(config: DatabaseConfig, label: string) {
    this.pool = createPool({
      uri: config.url,
      connectionLimit: config.pool,
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      typeCast,
      multipleStatements: false,
      connectTimeout: 10_000,
      connectAttributes: { program_name: `dxg ${label}` },
    });
  }

  /** A pooled connection whose session is prepared; the caller releases it. */
  private async acquire(): Promise<PoolConnection> {
    const conn = await this.pool.getConnection();
    if (!this.prepared.has(conn.connection)) {
      try {
        await strictSession(conn);
      } catch (err) {
        conn.destroy();
        throw err;
      }
      this.prepared.add(conn.connection);
    }
    return conn;
  }

  private async using<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      conn.release();
    }
  }

  native<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.using((conn) => rows<T>(conn, sql, params));
  }

  fields(sql: string): Promise<FieldPacket[]> {
    return this.using((conn) => fields(conn, sql));
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.native<T>(sql, params);
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.using((conn) => affected(conn, sql, params));
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    let broken = false;
    try {
      await conn.query('BEGIN');
      const hooks = new CommitHooks();
      const result = await fn(new MysqlTx(conn, hooks));
      await conn.query('COMMIT');
      hooks.run();
      return result;
    } catch (err) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        broken = true; // a connection in an unknown state never goes back to the pool
      }
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  describeTable(table: string): Promise<TableInfo | null> {
    return describeTable(this, table);
  }

  describeQuery(query: string): Promise<ColumnInfo[]> {
    return describeQuery(this, query);
  }

  horizon(_source: ChangeSource, watermark: ColumnInfo): Promise<unknown> {
    return horizon(this, watermark);
  }

  clock(watermark: ColumnInfo): Promise<unknown> {
    return clock(this, watermark);
  }

  readChanges(source: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
    return readChanges(this, source, after, upTo, limit);
  }

  countChanges(source: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
    return countChanges(this, source, after, upTo);
  }

  scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
    return scanKeys(this, source, columns, afterKey, limit);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class MysqlTx implements Tx {
  readonly sql = mysqlSql;
  private savepoints = 0;

  constructor(private readonly conn: PoolConnection, private readonly hooks: CommitHooks) {}

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return rows<T>(this.conn, sql, params);
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return affected(this.conn, sql, params);
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this.conn, target, records);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `dxg_sp${++this.savepoints}`;
    await this.conn.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await this.conn.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      try {
        await this.conn.query(`ROLLBACK TO SAVEPOINT ${name}`);
      } catch (rollbackErr) {
        // a deadlock rolls back the whole transaction, savepoints included: the caller must not go on
        // as if only this part failed, so the error no longer reads as a data error
        throw new Error(`${(err as Error).message} (the transaction was rolled back: ${(rollbackErr as Error).message})`, { cause: err });
      }
      throw err;
    }
  }
}
