/**
 * The shared local services the bench runs against, and the throw-away databases it makes on them
 * (names prefixed dxgb_, unique per run, dropped at the end).
 */
import amqp from 'amqplib';
import mysql from 'mysql2/promise';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Client } from 'pg';

export const PG_SERVER = process.env.DXG_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const MYSQL_SERVER = process.env.DXG_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const BROKER_URL = process.env.DXG_BENCH_BROKER_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export type Driver = 'postgres' | 'mysql';

export interface Db {
  driver: Driver;
  name: string;
  url: string;
}

export async function pgClient(db: string | Db): Promise<Client> {
  const c = new Client({ connectionString: typeof db === 'string' ? `${PG_SERVER}/${db}` : db.url, application_name: 'dxg-bench' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function myConnection(db: Db | null, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    uri: db ? db.url : MYSQL_SERVER, charset: 'utf8mb4', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, ...extra,
  });
}

/** Creates and remembers throw-away databases; drops every one of them on `dropAll` (also after a failure). */
export class Databases {
  private readonly made: Db[] = [];

  constructor(readonly runId: string) {}

  async create(driver: Driver, label: string): Promise<Db> {
    const name = `dxgb_${this.runId}_${label}`;
    if (driver === 'postgres') {
      const admin = await pgClient('postgres');
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const db: Db = { driver, name, url: `${PG_SERVER}/${name}` };
      this.made.push(db);
      return db;
    }
    const admin = await myConnection(null);
    try {
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    } finally {
      await admin.end();
    }
    const db: Db = { driver, name, url: `${MYSQL_SERVER}/${name}` };
    this.made.push(db);
    return db;
  }

  async drop(db: Db): Promise<void> {
    const i = this.made.indexOf(db);
    if (i >= 0) this.made.splice(i, 1);
    if (db.driver === 'postgres') {
      const admin = await pgClient('postgres');
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    } else {
      const admin = await myConnection(null);
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${db.name}`);
      } finally {
        await admin.end();
      }
    }
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
  const pg = await pgClient('postgres');
  const settings: Record<string, string> = {};
  let postgres = '';
  try {
    postgres = (await pg.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    for (const s of ['shared_buffers', 'synchronous_commit', 'max_wal_size']) {
      settings[`postgres.${s}`] = (await pg.query<Record<string, string>>(`SHOW ${s}`)).rows[0][s];
    }
  } finally {
    await pg.end();
  }
  const my = await myConnection(null);
  let mariadb = '';
  try {
    const [rows] = await my.query('SELECT VERSION() AS v, @@innodb_buffer_pool_size AS bp, @@innodb_flush_log_at_trx_commit AS flush');
    const r = (rows as { v: string; bp: string; flush: string }[])[0];
    mariadb = r.v;
    settings['mariadb.innodb_buffer_pool_size'] = String(r.bp);
    settings['mariadb.innodb_flush_log_at_trx_commit'] = String(r.flush);
  } finally {
    await my.end();
  }
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
