/**
 * The bench's business tables: the market regulator's enterprise register (source, PostgreSQL) and
 * a receiving department's enterprise table (target, PostgreSQL or MariaDB) that carries every
 * indicator, plus what the latency part adds to a target to see when each change arrived.
 */
import { Readable } from 'node:stream';
import { sql } from '../adapters';
import { copyLine, enterprise, generation, SOURCE_COLUMNS, type Generation } from './data';
import { bulk, using, type Db, type Driver } from './services';

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

/**
 * What the bench's own SQL says differently on each target engine, as data: the target table (every
 * indicator, and `applied_at` for the latency part), the latency part's instruments on it (a trigger
 * stamping each write with the database's clock, another logging every key and version written),
 * and how the checks read values back as comparable text.
 */
interface TargetSql {
  table(name: string): string;
  applyLog: string[];
  /** the spot check's columns: k, name, address, cap, emp, listed (1/0), v (`YYYY-MM-DD HH:MM:SS.ffffff`); '' for NULL */
  checked: string;
  /** the apply log's columns: id, key, version (as `checked.v`), at (ms since the epoch) */
  logged: string;
}

const LOG = `INSERT INTO ${APPLY_LOG} (uscc, version, applied_at) VALUES (NEW.uscc, NEW.source_updated_at, NEW.applied_at)`;

export const TARGET_SQL: Record<Driver, TargetSql> = {
  postgres: {
    table: (name) => `CREATE TABLE ${name} (uscc varchar(18) PRIMARY KEY, name varchar(200) NOT NULL, legal_rep varchar(50), reg_capital numeric(18,4),
      currency char(3), status varchar(2) NOT NULL, established date, ent_type varchar(50), industry varchar(5), region char(6),
      address varchar(300), scope text, reg_authority varchar(100), employees integer, listed boolean,
      source_updated_at timestamp(6) NOT NULL, applied_at timestamptz)`,
    applyLog: [
      `CREATE TABLE ${APPLY_LOG} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, uscc varchar(18) NOT NULL, version timestamp(6) NOT NULL, applied_at timestamptz NOT NULL)`,
      `CREATE FUNCTION bench_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END $$`,
      `CREATE FUNCTION bench_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${LOG}; RETURN NULL; END $$`,
      `CREATE TRIGGER bench_stamp BEFORE INSERT OR UPDATE ON ${TARGET_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_stamp()`,
      `CREATE TRIGGER bench_log AFTER INSERT OR UPDATE ON ${TARGET_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_log()`,
    ],
    checked: `uscc AS k, name, coalesce(address, '') AS address, coalesce(reg_capital::text, '') AS cap, coalesce(employees::text, '') AS emp,
      CASE WHEN listed THEN '1' WHEN NOT listed THEN '0' ELSE '' END AS listed, to_char(source_updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS v`,
    logged: `id, uscc AS key, to_char(version, 'YYYY-MM-DD HH24:MI:SS.US') AS version, extract(epoch FROM applied_at) * 1000 AS at`,
  },
  mysql: {
    table: (name) => `CREATE TABLE ${name} (uscc VARCHAR(18) PRIMARY KEY, name VARCHAR(200) NOT NULL, legal_rep VARCHAR(50), reg_capital DECIMAL(18,4),
      currency CHAR(3), status VARCHAR(2) NOT NULL, established DATE, ent_type VARCHAR(50), industry VARCHAR(5), region CHAR(6),
      address VARCHAR(300), scope TEXT, reg_authority VARCHAR(100), employees INT, listed TINYINT(1),
      source_updated_at DATETIME(6) NOT NULL, applied_at TIMESTAMP(6) NULL DEFAULT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    applyLog: [
      `CREATE TABLE ${APPLY_LOG} (id BIGINT AUTO_INCREMENT PRIMARY KEY, uscc VARCHAR(18) NOT NULL, version DATETIME(6) NOT NULL, applied_at TIMESTAMP(6) NULL DEFAULT NULL) ENGINE=InnoDB`,
      `CREATE TRIGGER bench_stamp_i BEFORE INSERT ON ${TARGET_TABLE} FOR EACH ROW SET NEW.applied_at = SYSDATE(6)`,
      `CREATE TRIGGER bench_stamp_u BEFORE UPDATE ON ${TARGET_TABLE} FOR EACH ROW SET NEW.applied_at = SYSDATE(6)`,
      `CREATE TRIGGER bench_log_i AFTER INSERT ON ${TARGET_TABLE} FOR EACH ROW ${LOG}`,
      `CREATE TRIGGER bench_log_u AFTER UPDATE ON ${TARGET_TABLE} FOR EACH ROW ${LOG}`,
    ],
    checked: `uscc AS k, name, COALESCE(address, '') AS address, COALESCE(CAST(reg_capital AS CHAR), '') AS cap,
      COALESCE(CAST(employees AS CHAR), '') AS emp, COALESCE(CAST(listed AS CHAR), '') AS listed,
      DATE_FORMAT(source_updated_at, '%Y-%m-%d %H:%i:%s.%f') AS v`,
    logged: "id, uscc AS `key`, DATE_FORMAT(version, '%Y-%m-%d %H:%i:%s.%f') AS version, UNIX_TIMESTAMP(applied_at) * 1000 AS at",
  },
};

/** Runs statements (DDL text) on a database, on a connection of its own. */
export function exec(db: Db, statements: string[]): Promise<void> {
  return using(db, async (d) => {
    for (const s of statements) await d.execute(sql.raw(s));
  });
}

/** Creates the bench's target table on a target database. */
export const createTarget = (db: Db): Promise<void> => exec(db, [TARGET_SQL[db.driver].table(TARGET_TABLE)]);

export async function countRows(db: Db, table: string): Promise<number> {
  const [row] = await using(db, (d) => d.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM ${sql.id(table)}`));
  return Number(row.n);
}

/**
 * COPY text of `count` records made on the fly in chunks of 2,000 (memory stays flat), `line(i)` each;
 * progress is told every `every` records and at the end.
 */
export function generatedLines(count: number, line: (i: number) => string, progress: (done: number) => void, every: number): Readable {
  const CHUNK = 2000;
  let next = 0;
  return new Readable({
    read() {
      if (next >= count) {
        this.push(null);
        return;
      }
      const end = Math.min(count, next + CHUNK);
      let text = '';
      for (let i = next; i < end; i++) text += line(i);
      next = end;
      if (next % every < CHUNK || next === count) progress(next);
      this.push(text);
    },
  });
}

/**
 * Fills the source table with `count` records through COPY FROM STDIN, generated on the fly in
 * chunks (memory stays flat), then adds the key, the change index and the watermark trigger.
 */
export async function generateSource(db: Db, count: number, progress: (done: number) => void): Promise<Generation> {
  const gen = generation(count);
  const lines = generatedLines(count, (i) => copyLine(enterprise(i, gen)), progress, 100_000);
  await using(db, async (d) => {
    await d.execute(sql.raw(SOURCE_DDL));
    await bulk(d).copyIn(SOURCE_TABLE, SOURCE_COLUMNS, lines);
    for (const s of SOURCE_AFTER) await d.execute(sql.raw(s));
  });
  return gen;
}
