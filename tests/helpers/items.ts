import type { SqlExecutor } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { createTestDatabase, type Driver, type TestDatabase } from './databases';
import { TestExchange } from './exchange';
import { freePort } from './ports';

/**
 * The test exchange's business tables: a source table of items with every value type, and two target
 * tables (one granted every indicator, one only a few), in PostgreSQL or MariaDB dialect.
 */
export const ITEM_SET = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    code: { type: 'string', pattern: '^[A-Z]{2}[0-9]{4}$' },
    title: { type: 'string', minLength: 2, maxLength: 100 },
    amount: { type: ['string', 'null'], format: 'decimal' },
    qty: { type: ['integer', 'null'], minimum: 0 },
    born: { type: ['string', 'null'], format: 'date' },
    active: { type: ['boolean', 'null'] },
    status: { type: 'string', enum: ['1', '2', '3'] },
    updated_at: { type: 'string', format: 'date-time' },
  },
  required: ['code', 'title', 'status', 'updated_at'],
  additionalProperties: false,
};

export const itemFlow = (src: string, full: string, part: string) => `flow: items
title: 测试条目
resource: test.item
source:
  department: ${src}
  table: src_item
  key: [code]
  watermark: updated_at
  page_size: 97
  batch_size: 40
  fields:
    code: code
    title: title
    amount: amount
    qty: qty
    born: born
    active: active
    status: status
    updated_at: updated_at
targets:
  - department: ${full}
    table: t_full
    fields: { code: code, title: title, amount: amount, qty: qty, born: born, active: active, status: status, updated_at: src_updated }
  - department: ${part}
    table: t_part
    fields: { code: bh, title: mc, status: zt }
    where: { status: { in: ["1", "2"] } }
    codes: { status: { "1": "存续", "2": "在业" } }
`;

export async function createSource(db: TestDatabase): Promise<void> {
  if (db.driver === 'postgres') {
    await db.run(`CREATE TABLE src_item (code varchar(20) PRIMARY KEY, title varchar(100) NOT NULL, amount numeric(18,4), qty integer,
      born date, active boolean, status varchar(2), updated_at timestamp(6) NOT NULL)`);
    await db.run('CREATE INDEX src_item_wm ON src_item (updated_at, code)');
    await db.run(`CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$`);
    await db.run('CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON src_item FOR EACH ROW EXECUTE FUNCTION touch()');
  } else {
    await db.run(`CREATE TABLE src_item (code VARCHAR(20) PRIMARY KEY, title VARCHAR(100) NOT NULL, amount DECIMAL(18,4), qty INT,
      born DATE, active TINYINT(1), status VARCHAR(2),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), INDEX (updated_at, code))`);
  }
}

export async function createTargets(full: TestDatabase, part: TestDatabase): Promise<void> {
  if (full.driver === 'postgres') {
    await full.run(`CREATE TABLE t_full (code varchar(20) PRIMARY KEY, title varchar(100), amount numeric(18,4), qty integer, born date,
      active boolean, status varchar(2), src_updated timestamp(6))`);
  } else {
    await full.run(`CREATE TABLE t_full (code VARCHAR(20) PRIMARY KEY, title VARCHAR(100), amount DECIMAL(18,4), qty INT, born DATE,
      active TINYINT(1), status VARCHAR(2), src_updated DATETIME(6))`);
  }
  // mc is shorter than the indicator allows: long titles are refused by this database (a target-side rejection)
  await part.run(part.driver === 'postgres'
    ? 'CREATE TABLE t_part (bh varchar(20) PRIMARY KEY, mc varchar(10), zt varchar(10))'
    : 'CREATE TABLE t_part (bh VARCHAR(20) PRIMARY KEY, mc VARCHAR(10), zt VARCHAR(10))');
}

export interface Item {
  code: string;
  title: string;
  amount: string | null;
  qty: number | null;
  born: string | null;
  active: boolean | null;
  status: string;
}

/** Valid items with every kind of value, Chinese text, exact decimals, NULLs. */
export function validItems(n: number, from = 0): Item[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i + from;
    return {
      code: `AB${String(k).padStart(4, '0')}`,
      title: `条目${k}`,
      amount: k % 7 === 0 ? null : `${k * 13}.${String(k % 10000).padStart(4, '0')}`,
      qty: k % 5 === 0 ? null : k,
      born: k % 9 === 0 ? null : `19${String(50 + (k % 50)).padStart(2, '0')}-0${1 + (k % 9)}-1${k % 10}`,
      active: k % 11 === 0 ? null : k % 2 === 0,
      status: String(1 + (k % 3)),
    };
  });
}

/** Inserts items in statements of 200 rows, on a database or inside a transaction held open (`db.transaction`). */
export async function insertItems(db: SqlExecutor, items: Item[]): Promise<void> {
  await inChunks(items, 200, async (chunk) => {
    const rows = chunk.map((r) => sql.list([r.code, r.title, r.amount, r.qty, r.born, r.active, r.status]));
    await db.execute(sql`INSERT INTO src_item (code, title, amount, qty, born, active, status) VALUES ${sql.join(rows)}`);
  });
}

/** A table's rows as text (as each engine prints them), keyed by the first column: independent of the gateway. */
export async function snapshot(db: TestDatabase, table: 'src_item' | 't_full' | 't_part'): Promise<Map<string, Record<string, string | null>>> {
  const cols: Record<string, string[]> = {
    src_item: ['code', 'title', 'amount', 'qty', 'born', 'active', 'status', 'updated_at'],
    t_full: ['code', 'title', 'amount', 'qty', 'born', 'active', 'status', 'src_updated'],
    t_part: ['bh', 'mc', 'zt'],
  };
  const asText = (c: string) => {
    if (c === 'updated_at' || c === 'src_updated') {
      return db.driver === 'postgres' ? `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') AS ${c}` : `DATE_FORMAT(${c}, '%Y-%m-%d %H:%i:%s.%f') AS ${c}`;
    }
    if (c === 'active') return db.driver === 'postgres' ? `CASE WHEN active THEN '1' WHEN NOT active THEN '0' END AS active` : 'CAST(active AS CHAR) AS active';
    return db.driver === 'postgres' ? `${c}::text AS ${c}` : `CAST(${c} AS CHAR) AS ${c}`;
  };
  const rows = await db.query<Record<string, string | null>>(sql`SELECT ${sql.raw(cols[table].map(asText).join(', '))} FROM ${sql.id(table)}`);
  return new Map(rows.map((r) => [String(r[cols[table][0]]), r]));
}

/** The items exchange on throw-away databases: source src, targets full (every indicator) and part (a few). */
export interface ItemExchange {
  ex: TestExchange;
  src: TestDatabase;
  full: TestDatabase;
  part: TestDatabase;
  /** takes the exchange off the broker and drops its databases */
  destroy(): Promise<void>;
}

/** Builds it (keys and `dxg init` are the caller's: some change the config first). */
export async function itemExchange(prefix: string, options: { source?: Driver; full?: Driver; flow?: (yaml: string) => string; listen?: Partial<Record<'src' | 'full' | 'part', string>> } = {}): Promise<ItemExchange> {
  const [src, full, part] = await Promise.all([
    createTestDatabase(options.source ?? 'postgres', `${prefix}src`), createTestDatabase(options.full ?? 'postgres', `${prefix}full`), createTestDatabase('postgres', `${prefix}part`),
  ]);
  await createSource(src);
  await createTargets(full, part);
  const flow = itemFlow('src', 'full', 'part');
  const department = (name: 'src' | 'full' | 'part', d: TestDatabase) => ({ driver: d.driver, url: d.url, listen: options.listen?.[name] });
  const ex = new TestExchange({ src: department('src', src), full: department('full', full), part: department('part', part) },
    { items: options.flow ? options.flow(flow) : flow }, { 'test.item': ITEM_SET });
  return {
    ex, src, full, part,
    destroy: async () => {
      await ex.destroy();
      await Promise.all([src, full, part].map((d) => d.drop()));
    },
  };
}

/** The flow polled every second, for tests that run `dxg up`. */
export const everySecond = (flow: string): string => flow.replace('  watermark: updated_at\n', '  watermark: updated_at\n  schedule: "* * * * * *"\n');

/** The items' catalog entry: a conditional resource of src, every indicator an item (tests of grants). */
export const ITEM_ENTRY = `resource: test.item
code: 9999-01/000001
title: 测试条目
provider: src
abstract: 供测试用的条目资源，有条件共享。
classification: { class: 部门信息资源, item: 测试 }
themes: [测试]
items:
  - { name: code }
  - { name: title }
  - { name: amount }
  - { name: qty }
  - { name: born }
  - { name: active }
  - { name: status }
  - { name: updated_at }
sharing: { type: conditional, condition: 仅用于测试 }
update_cycle: realtime
published: 2026-01-01
`;

/** Rows in one of the test tables. */
export const countRows = async (db: TestDatabase, table: string): Promise<number> => Number((await db.query<{ n: string }>(sql`SELECT count(*) AS n FROM ${sql.id(table)}`))[0].n);

/**
 * An item exchange governed by the items' catalog entry, polled every second, with a centre that
 * checks grants every second, keys generated, and centre users: the operator `op` and an approver
 * `appr-<d>` for each department given; their passwords by name.
 */
export async function governedItemExchange(prefix: string, approvers: readonly string[]): Promise<{ x: ItemExchange; centreDb: TestDatabase; base: string; passwords: Record<string, string> }> {
  const x = await itemExchange(prefix, { flow: everySecond });
  const centreDb = await createTestDatabase('postgres', `${prefix}centre`);
  const port = await freePort();
  x.ex.addCatalog({ 'test.item': ITEM_ENTRY });
  x.ex.addCentre({ databaseUrl: centreDb.url, port, approval: '{ check_every: 1s }' });
  await x.ex.ok('keys', 'generate');
  const passwords: Record<string, string> = {};
  for (const [name, role, department] of [['op', 'operator', null], ...approvers.map((d) => [`appr-${d}`, 'approver', d])]) {
    const added = await x.ex.ok('centre', 'users', 'add', name!, '--role', role!, ...(department ? ['--department', department] : []), '--generate');
    passwords[name!] = /password: (\S+)/.exec(added)![1];
  }
  return { x, centreDb, base: `http://127.0.0.1:${port}`, passwords };
}
