import { FieldDef, Pool, PoolClient } from 'pg';
import type { DatabaseConfig } from '../../gateway/config/model';
import type { ApplyOutcome, ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TableInfo, TargetTable, Tx } from '../adapter';
import { CommitHooks, numberPlaceholders } from '../shared/keyset';
import { apply, forgetStages } from './apply';
import { describeQuery, describeTable } from './catalog';
import { clock, countChanges, horizon, readChanges, scanKeys, SETTLE_MS } from './changes';
import { listen, watch } from './notify';
import { postgresSql } from './sql';
import { typeParsers } from './values';

const dollar = (n: number) => `$${n}`;

export class PgDatabase implements Database {
  readonly driver = 'postgres';
  readonly sql = postgresSql;
  readonly settleMs = SETTLE_MS + 50;
  private readonly pool: Pool;
  readonly notifications = {
    watch: (source: ChangeSource, channel: string) => watch((sql) => this.native(sql), source, channel),
    listen: (channel: string, onChange: () => void) => listen(this.url, channel, onChange),
  };

  constructor(config: DatabaseConfig, label: string, private readonly url = config.url) {
    this.pool = new Pool({
      connectionString: config.url,
      max: config.pool,
      types: typeParsers,
      application_name: `dxg ${label}`.slice(0, 63),
      connectionTimeoutMillis: 10_000,
    });
    // an idle client losing its connection must not take the process down; the next query reconnects
    this.pool.on('error', () => undefined);
    // nor one losing it while checked out between two statements: the next statement fails instead (fault suite, case 4)
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async native<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.pool.query<T>(sql, params as unknown[]);
    return res.rows;
  }

  async fields(sql: string): Promise<FieldDef[]> {
    return (await this.pool.query(sql)).fields;
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.native<T>(numberPlaceholders(sql, dollar), params);
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    const res = await this.pool.query(numberPlaceholders(sql, dollar), params as unknown[]);
    return res.rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const hooks = new CommitHooks();
      const result = await fn(new PgTx(client, hooks));
      await client.query('COMMIT');
      hooks.run();
      return result;
    } catch (err) {
      forgetStages(client);
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
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

class PgTx implements Tx {
  readonly sql = postgresSql;
  private savepoints = 0;
  /** staging tables this transaction has filled */
  private readonly stages = new Set<string>();

  constructor(private readonly client: PoolClient, private readonly hooks: CommitHooks) {}

  afterCommit(fn: () => void): void {
    this.hooks.add(fn);
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.client.query<T>(numberPlaceholders(sql, dollar), params as unknown[])).rows;
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return (await this.client.query(numberPlaceholders(sql, dollar), params as unknown[])).rowCount ?? 0;
  }

  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
    return apply(this.client, this.stages, target, records);
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
