import type { FieldPacket, Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { Row, SqlExecutor } from '../adapter';
import { render, type Sql } from '../sql';
import { mysqlSql } from './sql';

/** The engine's own statements on one pooled connection, `?` placeholders filled in by the driver. */
export async function rows<T extends Row = Row>(conn: PoolConnection, sql: string, params?: readonly unknown[]): Promise<T[]> {
  const [result] = await conn.query(sql, params as unknown[]);
  return (Array.isArray(result) ? result : []) as T[];
}

export async function affected(conn: PoolConnection, sql: string, params?: readonly unknown[]): Promise<number> {
  const [result] = await conn.query<ResultSetHeader>(sql, params as unknown[]);
  return result.affectedRows ?? 0;
}

export async function fields(conn: PoolConnection, sql: string): Promise<FieldPacket[]> {
  return (await conn.query(sql))[1];
}

/** Lends a connection to `fn` for as long as it runs. */
export type Using = <T>(fn: (conn: PoolConnection) => Promise<T>) => Promise<T>;

/**
 * Runs statements on a connection the caller lends. They are rendered with their values as escaped
 * literals and sent without parameters, so the driver never scans the text for `?`.
 */
export class MysqlExecutor implements SqlExecutor {
  constructor(protected readonly using: Using) {}

  query<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text } = render(statement, mysqlSql.renderer);
    return this.using((conn) => rows<T>(conn, text));
  }

  execute(statement: Sql): Promise<number> {
    const { text } = render(statement, mysqlSql.renderer);
    return this.using((conn) => affected(conn, text));
  }
}

/** A connection lent for the length of a transaction. */
export const lend = (conn: PoolConnection): Using => (fn) => fn(conn);

/**
 * Prepares a new connection's session: strict mode, so a value that does not fit fails instead of
 * being stored truncated; and no NO_BACKSLASH_ESCAPES, because values are escaped with backslashes.
 */
export async function strictSession(conn: PoolConnection): Promise<void> {
  const [{ mode }] = await rows<{ mode: string }>(conn, 'SELECT @@SESSION.sql_mode AS mode');
  const modes = mode.split(',').filter((m) => m && m !== 'NO_BACKSLASH_ESCAPES');
  if (!modes.includes('STRICT_TRANS_TABLES') && !modes.includes('STRICT_ALL_TABLES')) modes.push('STRICT_TRANS_TABLES');
  if (modes.join(',') !== mode) await conn.query('SET SESSION sql_mode = ?', [modes.join(',')]);
}

/** The pool's connections, each with its session prepared once, lent to one piece of work at a time. */
export class Connections {
  /** the driver's connections whose session has been prepared */
  private readonly prepared = new WeakSet<object>();

  constructor(readonly pool: Pool) {}

  readonly using: Using = async (fn) => {
    const conn = await this.acquire();
    try {
      return await fn(conn);
    } finally {
      conn.release();
    }
  };

  /** Runs `fn` inside a transaction opened by `begin`; a connection whose rollback failed never goes back to the pool. */
  async inTransaction<T>(begin: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.acquire();
    let broken = false;
    try {
      await conn.query(begin);
      const result = await fn(conn);
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await conn.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw err;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /** A READ ONLY transaction: whatever a source query calls, it cannot write. */
  readonly readOnly: Using = (fn) => this.inTransaction('START TRANSACTION READ ONLY', fn);

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
}
