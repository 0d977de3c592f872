/**
 * The bench's business tables: the market regulator's enterprise register (source, PostgreSQL) and
 * a receiving department's enterprise table (target, PostgreSQL or MariaDB) that carries every
 * indicator, plus what the latency part adds to a target to see when each change arrived.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { Client } from 'pg';
import { copyLine, enterprise, generation, SOURCE_COLUMNS, type Generation } from './data';
import { myConnection, pgClient, type Db } from './services';

export const SOURCE_TABLE = 'ent_registry';
export const TARGET_TABLE = 'bench_enterprise';
export const COPY_TABLE = 'copy_enterprise';
export const APPLY_LOG = 'bench_apply_log';

const SOURCE_DDL = `CREATE TABLE ${SOURCE_TABLE} (credit_code varchar(18) NOT NULL, ent_name varchar(200) NOT NULL, legal_rep varchar(50),
  reg_capital numeric(18,4), currency char(3), status_code varchar(2) NOT NULL, est_date date, ent_type varchar(50),
  industry_code varchar(5), region_code char(6), address varchar(300), business_scope text, reg_authority varchar(100),
  employees integer, is_listed boolean, updated_at timestamp(6) NOT NULL)`;

/** After the load: key, change index, and the trigger that stamps every later write (as the register's own system would). */
const SOURCE_AFTER = [
  `ALTER TABLE ${SOURCE_TABLE} ADD PRIMARY KEY (credit_code)`,
  `CREATE INDEX ${SOURCE_TABLE}_changes ON ${SOURCE_TABLE} (updated_at, credit_code)`,
  `CREATE FUNCTION ${SOURCE_TABLE}_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$`,
  `CREATE TRIGGER ${SOURCE_TABLE}_touch BEFORE INSERT OR UPDATE ON ${SOURCE_TABLE} FOR EACH ROW EXECUTE FUNCTION ${SOURCE_TABLE}_touch()`,
  `ANALYZE ${SOURCE_TABLE}`,
];

/** Target columns in the order of SOURCE_COLUMNS (what the baselines copy). */
export const TARGET_COLUMNS = [
  'uscc', 'name', 'legal_rep', 'reg_capital', 'currency', 'status', 'established', 'ent_type', 'industry', 'region', 'address',
  'scope', 'reg_authority', 'employees', 'listed', 'source_updated_at',
];

export function targetDdl(driver: Db['driver'], table: string): string {
  if (driver === 'postgres') {
    return `CREATE TABLE ${table} (uscc varchar(18) PRIMARY KEY, name varchar(200) NOT NULL, legal_rep varchar(50), reg_capital numeric(18,4),
      currency char(3), status varchar(2) NOT NULL, established date, ent_type varchar(50), industry varchar(5), region char(6),
      address varchar(300), scope text, reg_authority varchar(100), employees integer, listed boolean,
      source_updated_at timestamp(6) NOT NULL, applied_at timestamptz)`;
  }
  return `CREATE TABLE ${table} (uscc VARCHAR(18) PRIMARY KEY, name VARCHAR(200) NOT NULL, legal_rep VARCHAR(50), reg_capital DECIMAL(18,4),
    currency CHAR(3), status VARCHAR(2) NOT NULL, established DATE, ent_type VARCHAR(50), industry VARCHAR(5), region CHAR(6),
    address VARCHAR(300), scope TEXT, reg_authority VARCHAR(100), employees INT, listed TINYINT(1),
    source_updated_at DATETIME(6) NOT NULL, applied_at TIMESTAMP(6) NULL DEFAULT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** Runs statements on a database (a fresh connection each time). */
export async function exec(db: Db, statements: string[]): Promise<void> {
  if (db.driver === 'postgres') {
    const c = await pgClient(db);
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end();
    }
  } else {
    const c = await myConnection(db);
    try {
      for (const s of statements) await c.query(s);
    } finally {
      await c.end();
    }
  }
}

export async function countRows(db: Db, table: string): Promise<number> {
  if (db.driver === 'postgres') {
    const c = await pgClient(db);
    try {
      return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    } finally {
      await c.end();
    }
  }
  const c = await myConnection(db);
  try {
    const [rows] = await c.query(`SELECT count(*) AS n FROM ${table}`);
    return Number((rows as { n: string }[])[0].n);
  } finally {
    await c.end();
  }
}

/**
 * Fills the source table with `count` records through COPY FROM STDIN, generated on the fly in
 * chunks (memory stays flat), then adds the key, the change index and the watermark trigger.
 */
export async function generateSource(db: Db, count: number, progress: (done: number) => void): Promise<Generation> {
  const gen = generation(count);
  const c: Client = await pgClient(db);
  try {
    await c.query(SOURCE_DDL);
    const CHUNK = 2000;
    let next = 0;
    const lines = new Readable({
      read() {
        if (next >= count) {
          this.push(null);
          return;
        }
        const end = Math.min(count, next + CHUNK);
        let text = '';
        for (let i = next; i < end; i++) text += copyLine(enterprise(i, gen));
        next = end;
        if (next % 100_000 < CHUNK || next === count) progress(next);
        this.push(text);
      },
    });
    await pipeline(lines, c.query(copyFrom(`COPY ${SOURCE_TABLE} (${SOURCE_COLUMNS.join(', ')}) FROM STDIN`)));
    for (const s of SOURCE_AFTER) await c.query(s);
  } finally {
    await c.end();
  }
  return gen;
}

/** The latency part's instruments on a target: the time each row is written, and a log of every (key, version) written. */
export function applyLogDdl(driver: Db['driver']): string[] {
  if (driver === 'postgres') {
    return [
      `CREATE TABLE ${APPLY_LOG} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, uscc varchar(18) NOT NULL, version timestamp(6) NOT NULL, applied_at timestamptz NOT NULL)`,
      `CREATE FUNCTION bench_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END $$`,
      `CREATE FUNCTION bench_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         INSERT INTO ${APPLY_LOG} (uscc, version, applied_at) VALUES (NEW.uscc, NEW.source_updated_at, NEW.applied_at); RETURN NULL; END $$`,
      `CREATE TRIGGER bench_stamp BEFORE INSERT OR UPDATE ON ${TARGET_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_stamp()`,
      `CREATE TRIGGER bench_log AFTER INSERT OR UPDATE ON ${TARGET_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_log()`,
    ];
  }
  const log = `INSERT INTO ${APPLY_LOG} (uscc, version, applied_at) VALUES (NEW.uscc, NEW.source_updated_at, NEW.applied_at)`;
  return [
    `CREATE TABLE ${APPLY_LOG} (id BIGINT AUTO_INCREMENT PRIMARY KEY, uscc VARCHAR(18) NOT NULL, version DATETIME(6) NOT NULL, applied_at TIMESTAMP(6) NULL DEFAULT NULL) ENGINE=InnoDB`,
    `CREATE TRIGGER bench_stamp_i BEFORE INSERT ON ${TARGET_TABLE} FOR EACH ROW SET NEW.applied_at = SYSDATE(6)`,
    `CREATE TRIGGER bench_stamp_u BEFORE UPDATE ON ${TARGET_TABLE} FOR EACH ROW SET NEW.applied_at = SYSDATE(6)`,
    `CREATE TRIGGER bench_log_i AFTER INSERT ON ${TARGET_TABLE} FOR EACH ROW ${log}`,
    `CREATE TRIGGER bench_log_u AFTER UPDATE ON ${TARGET_TABLE} FOR EACH ROW ${log}`,
  ];
}

export function dropApplyLog(driver: Db['driver']): string[] {
  return driver === 'postgres'
    ? [`DROP TRIGGER IF EXISTS bench_stamp ON ${TARGET_TABLE}`, `DROP TRIGGER IF EXISTS bench_log ON ${TARGET_TABLE}`,
      'DROP FUNCTION IF EXISTS bench_stamp()', 'DROP FUNCTION IF EXISTS bench_log()', `DROP TABLE IF EXISTS ${APPLY_LOG}`]
    : ['bench_stamp_i', 'bench_stamp_u', 'bench_log_i', 'bench_log_u'].map((t) => `DROP TRIGGER IF EXISTS ${t}`).concat(`DROP TABLE IF EXISTS ${APPLY_LOG}`);
}
