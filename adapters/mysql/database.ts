import { createPool, type PoolConnection } from 'mysql2/promise';
import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, Database, SqlExecutor, TargetTable, Tx } from '../adapter';
import { CommitHooks } from '../shared/keyset';
import { apply, insertNew } from './apply';
import { MysqlBulk } from './bulk';
import { MysqlCatalog } from './catalog';
import { MysqlChanges } from './changes';
import { Connections, lend, MysqlExecutor } from './connection';
import { mysqlSql } from './sql';
import { typeCast } from './values';

export class MysqlDatabase extends MysqlExecutor implements Database {
  readonly driver = 'mysql';
  readonly sql = mysqlSql;
  readonly catalog: MysqlCatalog;
  readonly changes: MysqlChanges;
  readonly bulk: MysqlBulk;

  constructor(config: DatabaseConfig, label: string, private readonly connections = new Connections(createPool({
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
  }))) {
    super(connections.using);
    this.catalog = new MysqlCatalog(connections.using, connections.readOnly);
    this.changes = new MysqlChanges(connections.using, connections.readOnly);
    this.bulk = new MysqlBulk(connections.using);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks = new CommitHooks();
    const result = await this.connections.inTransaction('BEGIN', (conn) => fn(new MysqlTx(conn, hooks)));
    hooks.run();
    return result;
  }

  readOnly<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.connections.readOnly((conn) => fn(new MysqlExecutor(lend(conn))));
  }

  async close(): Promise<void> {
    await this.connections.pool.end();
  }
}

class MysqlTx extends MysqlExecutor implements Tx {
  readonly sql = mysqlSql;
  private savepoints = 0;

  constructor(private readonly conn: PoolConnection, private readonly hooks: CommitHooks) {
    super(lend(conn));
  }

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this.conn, target, records);
  }

  insertNew(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return insertNew(this.conn, target, records);
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
