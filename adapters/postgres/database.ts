import { Pool, type PoolClient } from 'pg';
import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, Database, SqlExecutor, TargetTable, Tx } from '../adapter';
import { CommitHooks } from '../shared/keyset';
import { apply, copyInText, forgetStages, insertNew } from './apply';
import { PgBulk } from './bulk';
import { PgCatalog } from './catalog';
import { PgChanges } from './changes';
import { inTransaction, PgExecutor, readOnly } from './connection';
import { quoteName } from '../sql';
import { postgresSql, quote } from './sql';
import { typeParsers } from './values';

export class PgDatabase extends PgExecutor implements Database {
  readonly driver = 'postgres';
  readonly sql = postgresSql;
  readonly catalog: PgCatalog;
  readonly changes: PgChanges;
  readonly bulk: PgBulk;
  private readonly pool: Pool;

  constructor(config: DatabaseConfig, label: string) {
    const pool = new Pool({
      connectionString: config.url,
      max: config.pool,
      types: typeParsers,
      application_name: `dxg ${label}`.slice(0, 63),
      connectionTimeoutMillis: 10_000,
    });
    super(pool);
    this.pool = pool;
    this.catalog = new PgCatalog(pool);
    this.changes = new PgChanges(pool, config.url);
    this.bulk = new PgBulk(pool);
    // an idle client losing its connection must not take the process down; the next query reconnects
    pool.on('error', () => undefined);
    // nor one losing it while checked out between two statements: the next statement fails instead (fault suite, case 4)
    pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const hooks = new CommitHooks();
    const result = await inTransaction(this.pool, 'BEGIN', (client) => fn(new PgTx(client, hooks)), forgetStages);
    hooks.run();
    return result;
  }

  readOnly<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return readOnly(this.pool, (client) => fn(new PgExecutor(client)));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

class PgTx extends PgExecutor implements Tx {
  readonly sql = postgresSql;
  private savepoints = 0;
  /** staging tables this transaction has filled */
  private readonly stages = new Set<string>();

  constructor(private readonly client: PoolClient, private readonly hooks: CommitHooks) {
    super(client);
  }

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this.client, this.stages, target, records);
  }

  insertNew(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return insertNew(this.client, target, records);
  }

  copyIn(table: string, columns: readonly string[], lines: string | Buffer): Promise<number> {
    return copyInText(this.client, `COPY ${quoteName(quote, table)} (${columns.map(quote).join(', ')}) FROM STDIN`, lines);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    const name = `dxg_sp${++this.savepoints}`;
    await this.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await this.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      forgetStages(this.client);
      throw err;
    }
  }
}
