/**
 * The bench's bulk parts beyond the enterprise register:
 *
 * - `population`: a population register (public security's `rk_person`, person.basic's indicators) of
 *   `--population-rows` persons, PostgreSQL → PostgreSQL: first the bare COPY of the same rows into a
 *   table of the target's shape (its own baseline), then `dxg run --once` into an empty target table,
 *   so the ratio is the gateway's to COPY on the same rows, in the same run.
 * - `updates`: ongoing changes, i.e. updates of keys the target already holds (they cannot take a
 *   bulk path of new keys): `--update-rows` source rows changed after the enterprise sync, then
 *   `dxg run --once` of the same flow timed again.
 */
import { sql } from '../adapters';
import { address, personName } from '../gateway/demo/generate';
import { Random } from '../gateway/demo/random';
import { DISTRICTS } from '../gateway/demo/vocabulary';
import { idCheckChar } from '../gateway/indicators/formats';
import type { BaselineResult } from './baselines';
import { generation, timestamp, type Generation } from './data';
import type { FlowShape } from './exchange';
import { bulk, open, using, type Db } from './services';
import { countRows, exec, generatedLines } from './tables';

export const PERSON_SOURCE = 'rk_person';
export const PERSON_TARGET = 'bench_person';
const PERSON_COPY = 'copy_person';

/** rk_person's columns in table order (the COPY column list), and their indicators */
const PERSON_FIELDS: Record<string, string> = {
  id_number: 'sfzh', name: 'xm', gender: 'xb', birth_date: 'csrq', ethnicity: 'mz', household_region: 'hjdqh', household_address: 'hjdz',
  marital_status: 'hyzk', deceased: 'swbz', death_date: 'swrq', migration: 'qyzt', employment: 'jyzt', low_income: 'dbbz', phone: 'sjhm',
  updated_at: 'gxsj',
};
const SOURCE_COLUMNS = Object.values(PERSON_FIELDS);
const TARGET_FIELDS: Record<string, string> = Object.fromEntries(Object.keys(PERSON_FIELDS).map((i) => [i, i === 'updated_at' ? 'source_updated_at' : i]));
const TARGET_COLUMNS = Object.values(TARGET_FIELDS);

export const PERSON_SHAPE: FlowShape = {
  title: '人口基础信息（基准测试）', resource: 'person.basic', table: PERSON_SOURCE, key: 'id_number', watermark: 'updated_at',
  fields: PERSON_FIELDS, targetTable: PERSON_TARGET, targetFields: TARGET_FIELDS,
};

const SOURCE_DDL = `CREATE TABLE ${PERSON_SOURCE} (sfzh char(18) NOT NULL, xm varchar(50) NOT NULL, xb char(1) NOT NULL, csrq date NOT NULL,
  mz char(2), hjdqh char(6), hjdz varchar(300), hyzk char(2), swbz boolean NOT NULL, swrq date, qyzt char(1), jyzt varchar(20),
  dbbz boolean, sjhm varchar(11), gxsj timestamp(6) NOT NULL)`;
const SOURCE_AFTER = [
  `ALTER TABLE ${PERSON_SOURCE} ADD PRIMARY KEY (sfzh)`,
  `CREATE INDEX ${PERSON_SOURCE}_changes ON ${PERSON_SOURCE} (gxsj, sfzh)`,
  `ANALYZE ${PERSON_SOURCE}`,
];
const targetDdl = (name: string) => `CREATE TABLE ${name} (id_number char(18) PRIMARY KEY, name varchar(50) NOT NULL, gender char(1) NOT NULL,
  birth_date date NOT NULL, ethnicity char(2), household_region char(6), household_address varchar(300), marital_status char(2),
  deceased boolean NOT NULL, death_date date, migration char(1), employment varchar(20), low_income boolean, phone varchar(11),
  source_updated_at timestamp(6) NOT NULL)`;

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const DAY = 86_400_000;
const BIRTH_FROM = Date.UTC(1935, 0, 1);
/** birth days the records spread over (1935 to 2022); with a 3-digit sequence per day, unique up to 32 M persons */
const BIRTH_DAYS = 32_000;

function copyText(v: string | boolean | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** Person i as COPY text: deterministic by index, a valid 公民身份号码 unique for every index below 32 M. */
export function personLine(index: number, gen: Generation): string {
  const r = new Random(index * 2246822519 + 7);
  const day = index % BIRTH_DAYS;
  const seq = Math.floor(index / BIRTH_DAYS) % 1000;
  const male = seq % 2 === 1;
  const birth = new Date(BIRTH_FROM + day * DAY).toISOString().slice(0, 10);
  const district = DISTRICTS[index % DISTRICTS.length];
  const first17 = `${district.code}${birth.replace(/-/g, '')}${pad(seq, 3)}`;
  const age = 2024 - Number(birth.slice(0, 4));
  const deceased = r.chance(age >= 75 ? 0.08 : 0.004);
  const step = (gen.toMicros - gen.fromMicros) / Math.max(1, gen.count);
  const micros = Math.floor(gen.fromMicros + (index + r.next()) * step);
  const row: (string | boolean | null)[] = [
    first17 + idCheckChar(first17),
    personName(r, male),
    male ? '1' : '2',
    birth,
    r.chance(0.93) ? '01' : r.pick(['02', '03', '05', '08', '11']),
    district.code,
    r.chance(0.01) ? null : address(r, district, true),
    age < 20 ? '10' : r.pick(['10', '20', '20', '21', '30', '40']),
    deceased,
    deceased ? new Date(Date.UTC(2012, 0, 1) + r.int(0, 4000) * DAY).toISOString().slice(0, 10) : null,
    r.pick(['0', '0', '0', '0', '1', '2']),
    age < 18 ? '在校学生' : age >= 60 ? r.pick(['退休', '退休', '无业']) : r.pick(['在业', '在业', '灵活就业', '失业', '无业']),
    r.chance(0.03) ? null : r.chance(0.02),
    r.chance(0.2) ? null : `1${r.pick(['3', '5', '7', '8', '9'])}${pad(r.int(0, 999_999_999), 9)}`,
    timestamp(micros),
  ];
  return row.map(copyText).join('\t') + '\n';
}

/** Fills rk_person with `count` persons through COPY, in chunks, then adds the key and the change index. */
export async function generatePersons(db: Db, count: number, progress: (done: number) => void): Promise<void> {
  const gen = generation(count);
  const lines = generatedLines(count, (i) => personLine(i, gen), progress, 500_000);
  await using(db, async (d) => {
    await d.execute(sql.raw(SOURCE_DDL));
    await bulk(d).copyIn(PERSON_SOURCE, SOURCE_COLUMNS, lines);
    for (const s of SOURCE_AFTER) await d.execute(sql.raw(s));
  });
}

export const createPersonTarget = (db: Db): Promise<void> => exec(db, [targetDdl(PERSON_TARGET)]);

/** Baseline: the same persons by COPY TO STDOUT | COPY FROM STDIN into a fresh table of the target's shape. */
export async function copyPersons(source: Db, target: Db, expected: number): Promise<BaselineResult> {
  await exec(target, [`DROP TABLE IF EXISTS ${PERSON_COPY}`, targetDdl(PERSON_COPY)]);
  const src = await open(source);
  const dst = await open(target);
  let wall: number;
  try {
    const t0 = performance.now();
    await bulk(dst).copyIn(PERSON_COPY, TARGET_COLUMNS, await bulk(src).copyOut!(sql`SELECT ${sql.ids(SOURCE_COLUMNS)} FROM ${sql.id(PERSON_SOURCE)}`));
    wall = (performance.now() - t0) / 1000;
  } finally {
    await src.close();
    await dst.close();
  }
  const n = await countRows(target, PERSON_COPY);
  await exec(target, [`DROP TABLE ${PERSON_COPY}`]);
  if (n !== expected) throw new Error(`baseline population: ${n} rows arrived, ${expected} expected`);
  return { records: n, wallSeconds: Math.round(wall * 1000) / 1000, recordsPerSecond: Math.round(n / wall), detail: { method: 'COPY TO STDOUT | COPY FROM STDIN, one transaction, a table with the same primary key' } };
}

/** 1,000 random persons compared field by field (as text) between source and target. */
export async function checkPersons(source: Db, target: Db, sample = 1000): Promise<string | null> {
  const text = (cols: string[]) => cols.map((c) => `coalesce(${c}::text, '')`).join(` || '|' || `);
  const src = await using(source, (d) => d.query<{ k: string; t: string }>(
    sql`SELECT sfzh AS k, ${sql.raw(text(SOURCE_COLUMNS))} AS t FROM ${sql.id(PERSON_SOURCE)} ORDER BY random() LIMIT ${sample}`));
  const dst = await using(target, (d) => d.query<{ k: string; t: string }>(
    sql`SELECT id_number AS k, ${sql.raw(text(TARGET_COLUMNS))} AS t FROM ${sql.id(PERSON_TARGET)} WHERE id_number IN ${sql.list(src.map((r) => r.k))}`));
  const held = new Map(dst.map((r) => [r.k, r.t]));
  for (const r of src) {
    const t = held.get(r.k);
    if (t === undefined) return `${r.k} is missing at ${target.name}`;
    if (t !== r.t) return `${r.k}: source '${r.t}', ${target.name} '${t}'`;
  }
  return null;
}

/**
 * Changes `count` existing enterprises at the source (address, head count; the trigger stamps a new
 * updated_at), spread over the whole table, in one statement. Returns how many rows changed.
 */
export async function changeEnterprises(source: Db, table: string, total: number, count: number): Promise<number> {
  const every = Math.max(1, Math.floor(total / count));
  return using(source, (d) => d.execute(sql.raw(
    `UPDATE ${table} t SET address = coalesce(t.address, '') || '（变更）', employees = coalesce(t.employees, 0) + 1
       FROM (SELECT credit_code FROM (SELECT credit_code, row_number() OVER (ORDER BY credit_code) AS n FROM ${table}) s
              WHERE n % ${every} = 0 LIMIT ${count}) c
      WHERE t.credit_code = c.credit_code`)));
}
