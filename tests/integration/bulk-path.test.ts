import { sql } from '../../adapters/sql';
import { createMysql, createPostgres, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';

/**
 * A target writes a batch of new keys by its bulk path straight into the target table and into
 * dxg_versions, after the inbox claim (PostgreSQL: COPY; MariaDB: plain INSERTs). A batch that cannot
 * take that path — a key the target table already holds, a key with a version or a tombstone, a value
 * the table refuses — is rolled back and takes the guarded upsert; values its column would round
 * never reach either. On PostgreSQL a trigger logs which statement wrote each row (COPY or the
 * upsert's WITH … INSERT); MariaDB has no such function, so there the outcomes alone are checked.
 */
const SET = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    code: { type: 'string' },
    amount: { type: ['string', 'null'], format: 'decimal' },
    name: { type: ['string', 'null'] },
    updated_at: { type: 'string', format: 'date-time' },
  },
  required: ['code', 'updated_at'],
  additionalProperties: false,
};

const FLOW = `flow: bulk
resource: test.bulk
source:
  department: src
  table: src_b
  key: [code]
  watermark: updated_at
  fields: { code: code, amount: amount, name: name, updated_at: updated_at }
targets:
  - department: pg
    table: t_b
    fields: { code: code, amount: amount, name: name }
`;

type Entry = {
  kind: string;
  record_count: number;
  detail: string | null;
};

describe.each(['postgres', 'mysql'] as const)('the bulk path of new keys (%s target)', (driver) => {
  let ex: TestExchange;
  let src: TestDatabase;
  let pg: TestDatabase;
  let seenLedger = 0;
  const isPg = driver === 'postgres';

  beforeAll(async () => {
    [src, pg] = await Promise.all([createPostgres('bksrc'), isPg ? createPostgres('bkpg') : createMysql('bkmy')]);
    await src.run('CREATE TABLE src_b (code text PRIMARY KEY, amount numeric(20,6), name text, updated_at timestamp(6) NOT NULL DEFAULT clock_timestamp())');
    await pg.run('CREATE TABLE t_b (code varchar(20) PRIMARY KEY, amount numeric(12,2), name varchar(10))');
    if (isPg) {
      await pg.run('CREATE TABLE t_b_log (code text, how text)');
      await pg.run(`CREATE FUNCTION t_b_how() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO t_b_log VALUES (NEW.code, CASE WHEN current_query() ILIKE 'COPY%' THEN 'copy' ELSE 'upsert' END); RETURN NEW; END $$`);
      await pg.run('CREATE TRIGGER t_b_how BEFORE INSERT OR UPDATE ON t_b FOR EACH ROW EXECUTE FUNCTION t_b_how()');
    }
    ex = new TestExchange({ src: { driver: 'postgres', url: src.url }, pg: { driver, url: pg.url } }, { bulk: FLOW }, { 'test.bulk': SET });
    await ex.setUp();
  });

  afterAll(async () => {
    await ex?.destroy();
    await Promise.all([src, pg].filter(Boolean).map((d) => d.drop()));
  });

  const add = async (rows: [string, string | null, string | null][]) => {
    for (const [code, amount, name] of rows) await src.execute(sql`INSERT INTO src_b (code, amount, name) VALUES (${code}, ${amount}, ${name})`);
  };
  const held = async (codes: string[]) => pg.query<{ code: string; amount: string | null; name: string | null }>(
    sql`SELECT code, amount, name FROM t_b WHERE code IN ${sql.list(codes)} ORDER BY code`);
  /** which statement wrote each row (PostgreSQL only) */
  const expectHow = async (codes: string[], expected: Record<string, string>) => {
    if (!isPg) return;
    expect(Object.fromEntries((await pg.query<{ code: string; how: string }>(
      sql`SELECT code, string_agg(how, ',') AS how FROM t_b_log WHERE code IN ${sql.list(codes)} GROUP BY code`)).map((r) => [r.code, r.how]))).toEqual(expected);
  };
  const versions = async (codes: string[]) => Object.fromEntries((await pg.query<{ record_key: string; deleted: boolean | number }>(
    sql`SELECT record_key, deleted FROM dxg_versions WHERE flow = 'bulk' AND record_key IN ${sql.list(codes)}`)).map((r) => [r.record_key, Boolean(Number(r.deleted))]));
  /** the target's apply and reject entries since the last call */
  const newEntries = async () => {
    const rows = await pg.query<Entry & { seq: string }>(sql`SELECT seq, kind, record_count, detail FROM dxg_ledger WHERE kind IN ('apply', 'reject') AND seq > ${seenLedger} ORDER BY seq`);
    if (rows.length) seenLedger = Number(rows[rows.length - 1].seq);
    return rows.map((r) => ({ kind: r.kind, count: Number(r.record_count), ...(JSON.parse(r.detail ?? '{}') as Record<string, unknown>) }));
  };

  it('copies a batch of new keys and records their versions', async () => {
    await add([['A1', '1.50', 'a1'], ['A2', null, null], ['A3', '-3', 'tab\there']]);
    await ex.ok('run', '--once');
    expect(await held(['A1', 'A2', 'A3'])).toEqual([
      { code: 'A1', amount: '1.50', name: 'a1' }, { code: 'A2', amount: null, name: null }, { code: 'A3', amount: '-3.00', name: 'tab\there' }]);
    await expectHow(['A1', 'A2', 'A3'], { A1: 'copy', A2: 'copy', A3: 'copy' });
    expect(await versions(['A1', 'A2', 'A3'])).toEqual({ A1: false, A2: false, A3: false });
    expect(await newEntries()).toEqual([expect.objectContaining({ kind: 'apply', count: 3, written: 3, superseded: 0 })]);
  });

  it('takes the guarded upsert for a batch with a key the target table holds (no version) or one it had before', async () => {
    await pg.run(`INSERT INTO t_b (code, amount, name) VALUES ('B1', 9.99, 'there')`);
    if (isPg) await pg.run('DELETE FROM t_b_log');
    await src.execute(sql`UPDATE src_b SET name = 'a1 again', updated_at = clock_timestamp() WHERE code = 'A1'`);
    await add([['B1', '1.25', 'b1'], ['B2', '2', 'b2']]);
    await ex.ok('run', '--once');
    expect(await held(['A1', 'B1', 'B2'])).toEqual([
      { code: 'A1', amount: '1.50', name: 'a1 again' }, { code: 'B1', amount: '1.25', name: 'b1' }, { code: 'B2', amount: '2.00', name: 'b2' }]);
    // the COPY was rolled back to the savepoint: only the upsert's writes remain (a key held fires the insert trigger, then the update's)
    await expectHow(['A1', 'B1', 'B2'], { A1: 'upsert,upsert', B1: 'upsert,upsert', B2: 'upsert' });
    expect(await versions(['B1', 'B2'])).toEqual({ B1: false, B2: false });
    expect(await newEntries()).toEqual([expect.objectContaining({ kind: 'apply', count: 3, written: 3, superseded: 0 })]);
  });

  it('does not bring back a record deleted at a newer version (a tombstone), and writes one deleted at an older one', async () => {
    await pg.run(`INSERT INTO dxg_versions (flow, record_key, version, deleted) VALUES ('bulk', 'C1', 9000000000000000000, true), ('bulk', 'C3', 1, true)`);
    await add([['C1', '1', 'c1'], ['C2', '2', 'c2'], ['C3', '3', 'c3']]);
    await ex.ok('run', '--once');
    expect(await held(['C1', 'C2', 'C3'])).toEqual([{ code: 'C2', amount: '2.00', name: 'c2' }, { code: 'C3', amount: '3.00', name: 'c3' }]);
    await expectHow(['C1', 'C2', 'C3'], { C2: 'upsert', C3: 'upsert' });
    expect(await versions(['C1', 'C2', 'C3'])).toEqual({ C1: true, C2: false, C3: false });
    expect(await newEntries()).toEqual([expect.objectContaining({ kind: 'apply', count: 3, written: 2, superseded: 1 })]);
  });

  it('rejects a value the column would round before the COPY, and copies the rest', async () => {
    await add([['D1', '1.234', 'd1'], ['D2', '2.5', 'd2']]);
    await ex.ok('run', '--once');
    expect(await held(['D1', 'D2'])).toEqual([{ code: 'D2', amount: '2.50', name: 'd2' }]);
    await expectHow(['D1', 'D2'], { D2: 'copy' });
    expect(await versions(['D1', 'D2'])).toEqual({ D2: false });
    const [q] = await pg.query<{ reason: string }>(sql`SELECT reason FROM dxg_quarantine WHERE record_key = 'D1'`);
    expect(q.reason).toMatch(/column 'amount': 1\.234(000)? has 3 decimal places; (numeric|decimal)\(12,2\) keeps 2, so it would be rounded/);
    expect(await newEntries()).toEqual([
      expect.objectContaining({ kind: 'apply', count: 1, written: 1 }), expect.objectContaining({ kind: 'reject', count: 1 })]);
  });

  it('falls back for a value the table refuses, and rejects exactly that record', async () => {
    await add([['E1', '1', 'much too long'], ['E2', '2', 'e2']]);
    await ex.ok('run', '--once');
    expect(await held(['E1', 'E2'])).toEqual([{ code: 'E2', amount: '2.00', name: 'e2' }]);
    await expectHow(['E1', 'E2'], { E2: 'upsert' });
    expect(await versions(['E1', 'E2'])).toEqual({ E2: false });
    const [q] = await pg.query<{ reason: string }>(sql`SELECT reason FROM dxg_quarantine WHERE record_key = 'E1'`);
    expect(q.reason).toMatch(/target database refused the record: (value too long|Data too long)/);
    expect(await newEntries()).toEqual([
      expect.objectContaining({ kind: 'apply', count: 1, written: 1 }), expect.objectContaining({ kind: 'reject', count: 1 })]);
  });
});
