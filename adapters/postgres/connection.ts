import type { Pool, PoolClient } from 'pg';
import type { Row, SqlExecutor } from '../adapter';
import { render, type Sql } from '../sql';
import { postgresSql } from './sql';

/** A pool or one pooled client: both run a query the same way. */
export type Queryable = Pool | PoolClient;

/** Runs statements on a pool or a client, rendered with PostgreSQL's `$n` placeholders. */
export class PgExecutor implements SqlExecutor {
  constructor(protected readonly on: Queryable) {}

  async query<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text, params } = render(statement, postgresSql.renderer);
    return (await this.on.query<T>(text, params)).rows;
  }

  async execute(statement: Sql): Promise<number> {
    const { text, params } = render(statement, postgresSql.renderer);
    return (await this.on.query(text, params)).rowCount ?? 0;
  }
}

/**
 * Runs `fn` on one pooled client inside a transaction opened by `begin`; `onRollback` runs when it
 * is rolled back. A client whose rollback failed is in an unknown state and never goes back to the pool.
 */
export async function inTransaction<T>(pool: Pool, begin: string, fn: (client: PoolClient) => Promise<T>, onRollback?: (client: PoolClient) => void): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    onRollback?.(client);
    await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** A READ ONLY transaction: whatever a source query calls, it cannot write. */
export const readOnly = <T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> => inTransaction(pool, 'BEGIN READ ONLY', fn);
