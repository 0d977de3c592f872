import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type Sql } from '../../adapters/sql';
import type { Random } from '../../gateway/demo/random';
import { ENT_REGISTRY_FIELDS, type EntRegistryRow } from '../../gateway/demo/tables';
import { usccCheckChar } from '../../gateway/indicators/formats';
import type { TestDatabase } from '../helpers/databases';
import { ROOT } from '../helpers/exchange';

/**
 * The suite's business data: an enterprise registry (企业登记) at market regulation, whose
 * `updated_at` the database sets on every write (a trigger with now() in PostgreSQL, ON UPDATE
 * CURRENT_TIMESTAMP(6) in MariaDB), and the rows generated into it.
 */
export interface Enterprise extends EntRegistryRow {
  is_deleted: boolean;
}

/** Source columns in table order, with the type each engine declares them with. */
export const SOURCE_COLUMNS: readonly [keyof Enterprise | 'updated_at', string, string][] = [
  ['credit_code', 'varchar(18) PRIMARY KEY', 'VARCHAR(18) PRIMARY KEY'],
  ['ent_name', 'varchar(200) NOT NULL', 'VARCHAR(200) NOT NULL'],
  ['legal_rep', 'varchar(50)', 'VARCHAR(50)'],
  ['reg_capital', 'numeric(18,4)', 'DECIMAL(18,4)'],
  ['currency', 'varchar(3)', 'VARCHAR(3)'],
  ['status_code', 'varchar(2) NOT NULL', 'VARCHAR(2) NOT NULL'],
  ['est_date', 'date', 'DATE'],
  ['ent_type', 'varchar(50) NOT NULL', 'VARCHAR(50) NOT NULL'],
  ['industry_code', 'varchar(5)', 'VARCHAR(5)'],
  ['region_code', 'varchar(6) NOT NULL', 'VARCHAR(6) NOT NULL'],
  ['address', 'varchar(300)', 'VARCHAR(300)'],
  ['business_scope', 'varchar(2000)', 'VARCHAR(2000)'],
  ['reg_authority', 'varchar(100) NOT NULL', 'VARCHAR(100) NOT NULL'],
  ['employees', 'integer', 'INT'],
  ['is_listed', 'boolean', 'TINYINT(1)'],
  ['is_deleted', 'boolean NOT NULL DEFAULT false', 'TINYINT(1) NOT NULL DEFAULT 0'],
  ['updated_at', 'timestamp(6) NOT NULL', 'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)'],
];
const WRITTEN = SOURCE_COLUMNS.map(([c]) => c).filter((c): c is keyof Enterprise => c !== 'updated_at');

export async function createRegistry(db: TestDatabase): Promise<void> {
  const pg = db.driver === 'postgres';
  const cols = SOURCE_COLUMNS.map(([name, pgType, myType]) => `${name} ${pg ? pgType : myType}`).join(', ');
  if (pg) {
    await db.run(`CREATE TABLE ent_registry (${cols})`);
    await db.run('CREATE INDEX ent_registry_wm ON ent_registry (updated_at, credit_code)');
    // the transaction's start time, as most PostgreSQL schemas stamp rows (the trap: it is not the commit time)
    await db.run(`CREATE FUNCTION ent_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$`);
    await db.run('CREATE TRIGGER ent_touch BEFORE INSERT OR UPDATE ON ent_registry FOR EACH ROW EXECUTE FUNCTION ent_touch()');
  } else {
    await db.run(`CREATE TABLE ent_registry (${cols}, INDEX ent_registry_wm (updated_at, credit_code))`);
  }
}

/** The PostgreSQL target (quality supervision): every indicator. */
export async function createQsTable(db: TestDatabase): Promise<void> {
  const pg = db.driver === 'postgres';
  await db.run(pg
    ? `CREATE TABLE qs_enterprise (uscc varchar(18) PRIMARY KEY, name varchar(200), legal_rep varchar(50), reg_capital numeric(18,4),
        currency varchar(3), status varchar(2), established date, ent_type varchar(50), industry varchar(5), region varchar(6),
        address varchar(300), scope varchar(2000), reg_authority varchar(100), employees integer, listed boolean, deleted boolean,
        source_updated_at timestamp(6))`
    : `CREATE TABLE qs_enterprise (uscc VARCHAR(18) PRIMARY KEY, name VARCHAR(200), legal_rep VARCHAR(50), reg_capital DECIMAL(18,4),
        currency VARCHAR(3), status VARCHAR(2), established DATE, ent_type VARCHAR(50), industry VARCHAR(5), region VARCHAR(6),
        address VARCHAR(300), scope VARCHAR(2000), reg_authority VARCHAR(100), employees INT, listed TINYINT(1), deleted TINYINT(1),
        source_updated_at DATETIME(6))`);
}

/** The MariaDB target (tax): some indicators, some enterprise types, status through a code table. */
export async function createTaxTable(db: TestDatabase): Promise<void> {
  const pg = db.driver === 'postgres';
  await db.run(pg
    ? `CREATE TABLE tax_taxpayer (nsrsbh varchar(18) PRIMARY KEY, nsrmc varchar(200), fddbr varchar(50), zczb numeric(18,4), zt varchar(10),
        clrq date, xzqh varchar(6), scjydz varchar(300), src_updated timestamp(6))`
    : `CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) PRIMARY KEY, nsrmc VARCHAR(200), fddbr VARCHAR(50), zczb DECIMAL(18,4), zt VARCHAR(10),
        clrq DATE, xzqh VARCHAR(6), scjydz VARCHAR(300), src_updated DATETIME(6))`);
}

export const TAX_TYPES = ['有限责任公司', '股份有限公司'];
const ENT_TYPES = [...TAX_TYPES, '个人独资企业', '合伙企业', '外商投资企业'];
export const STATUS_CODES: Record<string, string> = { '1': '存续', '2': '在业', '3': '吊销', '4': '注销', '5': '迁出' };

/** The flow's indicator set: the product's enterprise.basic plus a deletion flag. */
export function indicatorSet(): object {
  const base = JSON.parse(readFileSync(join(ROOT, 'schemas', 'enterprise.basic.json'), 'utf8')) as { properties: Record<string, object> } & Record<string, unknown>;
  return {
    ...base,
    $id: 'https://dxg.gov.local/schemas/fault.enterprise.json',
    properties: { ...base.properties, deleted: { type: ['boolean', 'null'], title: '已删除' } },
  };
}

export const RESOURCE = 'fault.enterprise';

/** source indicator → source column: the register's own mapping, typed for look-ups by any indicator name */
export const SOURCE_FIELDS: Readonly<Record<string, string>> = ENT_REGISTRY_FIELDS;
export const QS_FIELDS: Record<string, string> = {
  uscc: 'uscc', name: 'name', legal_rep: 'legal_rep', reg_capital: 'reg_capital', currency: 'currency', status: 'status', established: 'established',
  ent_type: 'ent_type', industry: 'industry', region: 'region', address: 'address', scope: 'scope', reg_authority: 'reg_authority',
  employees: 'employees', listed: 'listed', updated_at: 'source_updated_at',
};
export const TAX_FIELDS: Record<string, string> = {
  uscc: 'nsrsbh', name: 'nsrmc', legal_rep: 'fddbr', reg_capital: 'zczb', status: 'zt', established: 'clrq', region: 'xzqh', address: 'scjydz',
  updated_at: 'src_updated',
};

const yamlMap = (m: Record<string, string>) => `{ ${Object.entries(m).map(([k, v]) => `${k}: ${v}`).join(', ')} }`;

export interface FlowOptions {
  pageSize?: number;
  batchSize?: number;
  /** soft deletes (the `deleted` indicator) and hard deletes (reconcile) reach the targets */
  deletes?: { reconcile: string; qs: 'delete' | 'flag'; tax: 'delete' | 'flag' };
}

export function registryFlow(options: FlowOptions = {}): string {
  const d = options.deletes;
  const source = d ? { ...SOURCE_FIELDS, deleted: 'is_deleted' } : SOURCE_FIELDS;
  const qs = d?.qs === 'flag' ? { ...QS_FIELDS, deleted: 'deleted' } : QS_FIELDS;
  const tax = d?.tax === 'flag' ? { ...TAX_FIELDS, deleted: 'deleted' } : TAX_FIELDS;
  return `flow: registry
title: 企业登记信息同步（故障注入）
resource: ${RESOURCE}
source:
  department: amr
  table: ent_registry
  key: [uscc]
  watermark: updated_at
  schedule: "* * * * * *"
  page_size: ${options.pageSize ?? 5000}
  batch_size: ${options.batchSize ?? 500}
${d ? `  soft_delete: deleted\n  reconcile: "${d.reconcile}"\n` : ''}  fields: ${yamlMap(source)}
targets:
  - department: qs
    table: qs_enterprise
${d ? `    on_delete: ${d.qs}\n` : ''}    fields: ${yamlMap(qs)}
  - department: tax
    table: tax_taxpayer
${d ? `    on_delete: ${d.tax}\n` : ''}    fields: ${yamlMap(tax)}
    where: { ent_type: { in: [${TAX_TYPES.join(', ')}] } }
    codes: { status: ${JSON.stringify(STATUS_CODES)} }
`;
}

// --- generated rows ---

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗'.split('');
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华'.split('');
const TRADE = '鑫源恒泰华宇瑞丰盛达嘉禾金诚信德汇通博远新锐天成宏图'.split('');
const WORDS = ['科技', '商贸', '建筑工程', '食品', '物流', '信息技术', '餐饮管理', '机械制造', '农业开发', '医药'];
const INDUSTRIES = ['A01', 'C13', 'C3511', 'E47', 'F51', 'G54', 'H62', 'I65', 'K70', 'M73', null];
const REGIONS = ['110101', '110105', '310115', '440305', '330106', '510107', '420106', '320102'];
const STREETS = ['人民路', '解放大道', '建设街', '中山路', '科技园路', '滨江大道'];
const CURRENCIES = ['CNY', 'CNY', 'CNY', 'USD', 'HKD', null];
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';

/** A valid, unique credit code for row `i`. */
export function creditCode(i: number, region: string): string {
  let body = '';
  for (let n = i, k = 0; k < 9; k++, n = Math.floor(n / 31)) body = USCC_CHARS[n % 31] + body;
  const first17 = `91${region}${body}`;
  return first17 + usccCheckChar(first17);
}

/** Every `INVALID_EVERY`th row breaks the indicator set (status 9): it is quarantined at the source. */
export const INVALID_EVERY = 1000;

export function enterprise(rand: Random, i: number): Enterprise {
  const region = rand.pick(REGIONS);
  return {
    credit_code: creditCode(i, region),
    ...changes(rand),
    status_code: i % INVALID_EVERY === INVALID_EVERY - 1 ? '9' : rand.pick(['1', '1', '2', '2', '3', '4', '5']),
    est_date: rand.chance(0.05) ? null : `${rand.int(1985, 2024)}-${String(rand.int(1, 12)).padStart(2, '0')}-${String(rand.int(1, 28)).padStart(2, '0')}`,
    ent_type: rand.pick(ENT_TYPES),
    industry_code: rand.pick(INDUSTRIES),
    region_code: region,
    reg_authority: `${region}市场监督管理局`,
    is_listed: rand.chance(0.1) ? null : rand.chance(0.05),
    is_deleted: false,
  };
}

/** New values for the columns a registration change (变更登记) touches; all valid. */
export function changes(rand: Random): Pick<Enterprise, 'ent_name' | 'legal_rep' | 'reg_capital' | 'currency' | 'address' | 'business_scope' | 'employees'> {
  const name = `${rand.pick(TRADE)}${rand.pick(TRADE)}${rand.pick(WORDS)}有限公司`;
  return {
    ent_name: name,
    legal_rep: rand.chance(0.05) ? null : `${rand.pick(SURNAMES)}${rand.pick(GIVEN)}${rand.chance(0.5) ? rand.pick(GIVEN) : ''}`,
    reg_capital: rand.chance(0.1) ? null : `${rand.int(1, 99_999_999)}.${String(rand.int(0, 9999)).padStart(4, '0')}`,
    currency: rand.pick(CURRENCIES),
    address: rand.chance(0.05) ? null : `${rand.pick(STREETS)}${rand.int(1, 999)}号${rand.chance(0.3) ? `${rand.int(1, 30)}层` : ''}`,
    business_scope: rand.chance(0.1) ? null : `${rand.pick(WORDS)}领域内的技术开发、技术咨询、技术服务；${rand.pick(WORDS)}产品销售。（依法须经批准的项目，经相关部门批准后方可开展经营活动）`,
    employees: rand.chance(0.1) ? null : rand.int(0, 5000),
  };
}

const PG_CASTS: Record<string, string> = { reg_capital: 'numeric', est_date: 'date', employees: 'integer', is_listed: 'boolean', is_deleted: 'boolean' };

/** Rows as one multi-row INSERT: for a few hundred rows, or on MariaDB, whose values are sent as literals. */
export function insertRows(rows: Enterprise[]): Sql {
  const [first, ...rest] = rows.map((r) => sql.list(WRITTEN.map((c) => r[c])));
  // joined a row at a time: thousands of rows spliced into the template as one fragment overflow the stack
  return sql.join([sql`INSERT INTO ent_registry (${sql.ids(WRITTEN)}) VALUES ${first}`, ...rest]);
}

/**
 * PostgreSQL takes a chunk as one array per column: one statement of 16 parameters however many rows,
 * where a `VALUES` list of 5000 rows would pass its limit of 65535.
 */
function unnested(rows: Enterprise[]): Sql {
  const select = WRITTEN.map((c, n) => `a${n}${PG_CASTS[c] ? `::${PG_CASTS[c]}` : ''}`).join(', ');
  const arrays = WRITTEN.map((c) => sql`${rows.map((r) => (r[c] === null ? null : String(r[c])))}::text[]`);
  return sql`INSERT INTO ent_registry (${sql.ids(WRITTEN)}) SELECT ${sql.raw(select)} FROM unnest(${sql.join(arrays)}) AS u(${sql.raw(WRITTEN.map((_, n) => `a${n}`).join(', '))})`;
}

/** Inserts rows in chunks of `chunk`, one transaction each (so chunks carry different timestamps). */
export async function insertEnterprises(db: TestDatabase, rows: Enterprise[], chunk = 5000): Promise<void> {
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    await db.execute(db.driver === 'postgres' ? unnested(part) : insertRows(part));
  }
}

// --- the tables as text, read straight from the databases ---

export type TextRow = Record<string, string | null>;
type Kind = 'text' | 'bool' | 'stamp';

function asText(db: Pick<TestDatabase, 'driver'>, column: string, kind: Kind): string {
  const pg = db.driver === 'postgres';
  if (kind === 'stamp') return pg ? `to_char(${column}, 'YYYY-MM-DD HH24:MI:SS.US')` : `DATE_FORMAT(${column}, '%Y-%m-%d %H:%i:%s.%f')`;
  if (kind === 'bool') return pg ? `CASE WHEN ${column} THEN '1' WHEN NOT ${column} THEN '0' END` : `CAST(${column} AS CHAR)`;
  return pg ? `${column}::text` : `CAST(${column} AS CHAR)`;
}

const kindOf = (column: string): Kind =>
  ['updated_at', 'source_updated_at', 'src_updated'].includes(column) ? 'stamp' : ['is_listed', 'is_deleted', 'listed', 'deleted'].includes(column) ? 'bool' : 'text';

/** The select list reading `columns` as text in one engine-neutral spelling. */
export const textColumns = (db: Pick<TestDatabase, 'driver'>, columns: readonly string[]): Sql =>
  sql.raw(columns.map((c) => `${asText(db, c, kindOf(c))} AS ${c}`).join(', '));

/** Every row of a table, each column as text, by the first column. */
export async function textRows(db: TestDatabase, table: string, columns: readonly string[]): Promise<Map<string, TextRow>> {
  const rows = await db.query<TextRow>(sql`SELECT ${textColumns(db, columns)} FROM ${sql.id(table)}`);
  return new Map(rows.map((r) => [String(r[columns[0]]), r]));
}

export const SOURCE_COLUMN_NAMES = SOURCE_COLUMNS.map(([c]) => c);

export const sourceRows = (db: TestDatabase) => textRows(db, 'ent_registry', SOURCE_COLUMN_NAMES);
export const qsRows = (db: TestDatabase, flagged = false) => textRows(db, 'qs_enterprise', [...Object.values(QS_FIELDS), ...(flagged ? ['deleted'] : [])]);
export const taxRows = (db: TestDatabase, flagged = false) => textRows(db, 'tax_taxpayer', [...Object.values(TAX_FIELDS), ...(flagged ? ['deleted'] : [])]);
