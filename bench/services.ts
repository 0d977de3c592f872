/**
 * The shared local services the bench runs against, and the throw-away databases it makes on them
 * (names prefixed dxgb_, unique per run, dropped at the end).
 */
import amqp from 'amqplib';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { connect, createDatabase, dropDatabase, sql, type Database } from '../adapters';
import type { BulkCopy } from '../adapters/adapter';

export const PG_SERVER = process.env.DXG_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const MYSQL_SERVER = process.env.DXG_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const BROKER_URL = process.env.DXG_BENCH_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export type Driver = 'postgres' | 'mysql';

/** Each engine's server, and its name in progress lines. */
export const ENGINES: Record<Driver, { server: string; title: string }> = {
  postgres: { server: PG_SERVER, title: 'PostgreSQL' },
  mysql: { server: MYSQL_SERVER, title: 'MariaDB' },
};

export interface Db {
  driver: Driver;
  name: string;
  url: string;
}

/** A connection pool to `db` through the adapters, as the gateway opens its own (`pool`: how many connections it may open). */
export const open = (db: Pick<Db, 'driver' | 'url'>, pool = 2): Promise<Database> => connect({ driver: db.driver, url: db.url, pool }, 'bench');

/** PostgreSQL's maintenance database: server settings and pg_stat_activity. */
export const PG_ADMIN: Pick<Db, 'driver' | 'url'> = { driver: 'postgres', url: `${PG_SERVER}/postgres` };

/** Runs `fn` on a connection of its own to `db`, closed afterwards. */
export async function using<T>(db: Pick<Db, 'driver' | 'url'>, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await open(db);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** The engine's bulk path (COPY, LOAD DATA): what the source fill and the baselines are made of. */
export function bulk(database: Database): BulkCopy {
  if (!database.bulk) throw new Error(`the ${database.driver} adapter has no bulk copy`);
  return database.bulk;
}

/** Creates and remembers throw-away databases; drops every one of them on `dropAll` (also after a failure). */
export class Databases {
  private readonly made: Db[] = [];

  constructor(readonly runId: string) {}

  async create(driver: Driver, label: string): Promise<Db> {
    const name = `dxgb_${this.runId}_${label}`;
    const db: Db = { driver, name, url: `${ENGINES[driver].server}/${name}` };
    await createDatabase(db);
    this.made.push(db);
    return db;
  }

  async drop(db: Db): Promise<void> {
    const i = this.made.indexOf(db);
    if (i >= 0) this.made.splice(i, 1);
    await dropDatabase(db);
  }

  get names(): string[] {
    return this.made.map((d) => `${d.driver}:${d.name}`);
  }

  async dropAll(): Promise<string[]> {
    const problems: string[] = [];
    for (const db of [...this.made].reverse()) {
      await this.drop(db).catch((err) => problems.push(`${db.name}: ${(err as Error).message}`));
    }
    return problems;
  }
}

export interface MachineFacts {
  host: { nproc: number; cpuModel: string; totalMemoryGiB: number; kernel: string };
  node: string;
  postgres: string;
  mariadb: string;
  rabbitmq: string;
  settings: Record<string, string>;
}

export async function machineFacts(): Promise<MachineFacts> {
  const settings: Record<string, string> = {};
  const postgres = await using(PG_ADMIN, async (pg) => {
    for (const s of ['shared_buffers', 'synchronous_commit', 'max_wal_size', 'autovacuum']) {
      settings[`postgres.${s}`] = (await pg.query<Record<string, string>>(sql.raw(`SHOW ${s}`)))[0][s];
    }
    return (await pg.query<{ server_version: string }>(sql`SHOW server_version`))[0].server_version;
  });
  const mariadb = await using({ driver: 'mysql', url: MYSQL_SERVER }, async (my) => {
    const [r] = await my.query<{ v: string; bp: string; flush: string }>(
      sql`SELECT VERSION() AS v, @@innodb_buffer_pool_size AS bp, @@innodb_flush_log_at_trx_commit AS flush`);
    settings['mariadb.innodb_buffer_pool_size'] = String(r.bp);
    settings['mariadb.innodb_flush_log_at_trx_commit'] = String(r.flush);
    return r.v;
  });
  const conn = await amqp.connect(BROKER_URL);
  const rabbitmq = String(conn.connection.serverProperties.version ?? 'unknown');
  await conn.close();
  let kernel = '';
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  return {
    host: { nproc: cpus().length, cpuModel: cpus()[0]?.model ?? '', totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, kernel },
    node: process.version,
    postgres,
    mariadb,
    rabbitmq,
    settings,
  };
}
