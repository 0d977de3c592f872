import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, Database, SqlExecutor, TargetTable, Tx } from '../adapter';
import { CommitHooks } from '../shared/keyset';
import { apply } from './apply';
import { MssqlCatalog } from './catalog';
import { MssqlChanges } from './changes';
import { MssqlExecutor, run, type Runner } from './connection';
import { driver, type ConnectionPool, type Result, type Transaction } from './driver';
import { mssqlSql } from './sql';
import { poolConfig } from './url';

const on = (parent: ConnectionPool | Transaction): Runner => ({
  run: (sql: string, params: readonly unknown[] = []): Promise<Result> => run(new driver.Request(parent), sql, params),
});

export class MssqlDatabase extends MssqlExecutor implements Database {
  readonly driver = 'mssql';
  readonly sql = mssqlSql;
  readonly catalog: MssqlCatalog;
  readonly changes: MssqlChanges;

  private constructor(private readonly pool: ConnectionPool) {
    super(on(pool));
    this.catalog = new MssqlCatalog(this.runner);
    this.changes = new MssqlChanges(this.runner, this.catalog);
  }

  static async open(config: DatabaseConfig, label: string): Promise<MssqlDatabase> {
    const pool = new driver.ConnectionPool(poolConfig(config, label));
    // an idle connection failing must not take the process down; the next request opens another
    pool.on('error', () => undefined);
    await pool.connect();
    return new MssqlDatabase(pool);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const tx = new driver.Transaction(this.pool);
    await tx.begin();
    try {
      const hooks = new CommitHooks();
      const result = await fn(new MssqlTx(tx, hooks));
      await tx.commit();
      hooks.run();
      return result;
    } catch (err) {
      // a transaction the server has ended already (deadlock victim, lost connection) cannot be rolled
      // back again: the error that ended it is the one to report
      await tx.rollback().catch(() => undefined);
      throw err;
    }
  }

  /** SQL Server has no read-only transaction: the node's login must hold only read rights on source objects. */
  readOnly<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

class MssqlTx extends MssqlExecutor implements Tx {
  readonly sql = mssqlSql;
  private savepoints = 0;

  constructor(tx: Transaction, private readonly hooks: CommitHooks) {
    super(on(tx));
  }

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this.runner, target, records);
  }

  /** SQL Server has no RELEASE: a savepoint that is not rolled back to simply stays until the transaction ends. */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `dxg_sp${++this.savepoints}`;
    await this.runner.run(`SAVE TRANSACTION ${name}`);
    try {
      return await fn();
    } catch (err) {
      // when the transaction itself has ended (deadlock victim, lost connection) there is no savepoint to
      // go back to: the error that ended it is the one to report, and every later statement fails too
      await this.runner.run(`ROLLBACK TRANSACTION ${name}`).catch(() => undefined);
      throw err;
    }
  }
}
