import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TableInfo, TargetTable, Tx } from '../adapter';
import { CommitHooks, numberPlaceholders } from '../shared/keyset';
import { apply } from './apply';
import { describeQuery, describeTable } from './catalog';
import { clock, countChanges, horizon, readChanges, scanKeys, SETTLE_MS, SourceColumns } from './changes';
import { driver, type ConnectionPool, type Request, type Result, type Transaction } from './driver';
import { mssqlSql } from './sql';
import { poolConfig } from './url';
import { sqlParam } from './values';

/** Runs SQL whose parameters are already named `@p1, @p2, …`, bound from `params` in order. */
export interface Runner {
  run(sql: string, params?: readonly unknown[]): Promise<Result>;
}

const named = (sql: string): string => numberPlaceholders(sql, (n) => `@p${n}`);
const affected = (result: Result): number => result.rowsAffected.reduce((sum, n) => sum + n, 0);

function run(request: Request, sql: string, params: readonly unknown[]): Promise<Result> {
  params.forEach((value, i) => {
    const p = sqlParam(value);
    request.input(`p${i + 1}`, p.type, p.value);
  });
  return request.query(sql);
}

export class MssqlDatabase implements Database, Runner {
  readonly driver = 'mssql';
  readonly sql = mssqlSql;
  readonly settleMs = SETTLE_MS + 100; // transaction_begin_time is a datetime, in 1/300 s steps
  private readonly sources = new SourceColumns(this);

  private constructor(private readonly pool: ConnectionPool) {}

  static async open(config: DatabaseConfig, label: string): Promise<MssqlDatabase> {
    const pool = new driver.ConnectionPool(poolConfig(config, label));
    // an idle connection failing must not take the process down; the next request opens another
    pool.on('error', () => undefined);
    await pool.connect();
    return new MssqlDatabase(pool);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<Result> {
    return run(new driver.Request(this.pool), sql, params);
  }

  async native<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return ((await this.run(sql, params)).recordset ?? []) as T[];
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.native<T>(named(sql), params);
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return affected(await this.run(named(sql), params));
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

  async readChanges(source: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
    return readChanges(this, source, await this.sources.of(source), after, upTo, limit);
  }

  async countChanges(source: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
    return countChanges(this, source, await this.sources.of(source), after, upTo);
  }

  async scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
    return scanKeys(this, source, await this.sources.of(source), columns, afterKey, limit);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

class MssqlTx implements Tx, Runner {
  readonly sql = mssqlSql;
  private savepoints = 0;

  constructor(private readonly tx: Transaction, private readonly hooks: CommitHooks) {}

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<Result> {
    return run(new driver.Request(this.tx), sql, params);
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return ((await this.run(named(sql), params)).recordset ?? []) as T[];
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return affected(await this.run(named(sql), params));
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this, target, records);
  }

  /** SQL Server has no RELEASE: a savepoint that is not rolled back to simply stays until the transaction ends. */
  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `dxg_sp${++this.savepoints}`;
    await this.run(`SAVE TRANSACTION ${name}`);
    try {
      return await fn();
    } catch (err) {
      // when the transaction itself has ended (deadlock victim, lost connection) there is no savepoint to
      // go back to: the error that ended it is the one to report, and every later statement fails too
      await this.run(`ROLLBACK TRANSACTION ${name}`).catch(() => undefined);
      throw err;
    }
  }
}
