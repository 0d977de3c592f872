import { sql } from '../../adapters/sql';
import { createMysql, createPostgres, type TestDatabase } from '../helpers/databases';
import { TestExchange } from '../helpers/exchange';

/** Values arrive exactly or not at all: what a target column would round, cut or change is rejected with the reason. */
const SET = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    code: { type: 'string' },
    amount: { type: ['string', 'null'], format: 'decimal' },
    stamp: { type: ['string', 'null'], format: 'date-time' },
    born: { type: ['string', 'null'], format: 'date' },
    updated_at: { type: 'string', format: 'date-time' },
  },
  required: ['code', 'updated_at'],
  additionalProperties: false,
};

const flow = (id: string, source: string) => `flow: ${id}
resource: test.value
source:
  department: src
  ${source}
  key: [code]
  watermark: updated_at
  fields: { code: code, amount: amount, stamp: stamp, born: born, updated_at: updated_at }
targets:
  - department: pg
    table: t_val
    fields: { code: code, amount: amount, stamp: stamp, born: born }
  - department: my
    table: t_val
    fields: { code: code, amount: amount, stamp: stamp, born: born }
`;

describe('values a target cannot hold exactly', () => {
  const dbs: TestDatabase[] = [];
  let ex: TestExchange;
  let src: TestDatabase;
  let pg: TestDatabase;
  let my: TestDatabase;

  beforeAll(async () => {
    [src, pg, my] = await Promise.all([createPostgres('exsrc'), createPostgres('expg'), createMysql('exmy')]);
    dbs.push(src, pg, my);
    await src.run('CREATE TABLE src_val (code text PRIMARY KEY, amount numeric(40,15), stamp text, born text, updated_at timestamp(6) NOT NULL DEFAULT clock_timestamp())');
    await pg.run('CREATE TABLE t_val (code varchar(20) PRIMARY KEY, amount numeric(30,10), stamp timestamp(6), born date)');
    await my.run('CREATE TABLE t_val (code VARCHAR(20) PRIMARY KEY, amount DECIMAL(30,10), stamp DATETIME(6), born DATE)');
    ex = new TestExchange(
      { src: { driver: 'postgres', url: src.url }, pg: { driver: 'postgres', url: pg.url }, my: { driver: 'mysql', url: my.url } },
      { values: flow('values', 'table: src_val') }, { 'test.value': SET });
    await ex.setUp();
  });

  afterAll(async () => {
    await ex?.destroy();
    await Promise.all(dbs.map((d) => d.drop()));
  });

  it('rejects them at every target with the reason, and applies the rest unchanged', async () => {
    const rows: [string, string | null, string | null, string | null][] = [
      ['OK01', '1.1234567890', '2024-01-01T10:00:00.123456', '2000-02-29'],
      ['OK02', '-12345678901234567890.5000000000', '2024-01-01T10:00:00.120000000', null],
      ['DEC1', '1.123456789012345', null, null],
      ['WHL1', '123456789012345678901.5', null, null],
      ['TS09', null, '2024-01-01T10:00:00.123456789', null],
      ['BC01', null, null, '0044-03-15 BC'],
    ];
    for (const [code, amount, stamp, born] of rows) {
      await src.execute(sql`INSERT INTO src_val (code, amount, stamp, born) VALUES (${code}, ${amount}, ${stamp}, ${born})`);
    }
    await ex.ok('run', '--once');

    const held = async (db: TestDatabase) => (await db.query<{ code: string; amount: string | null; stamp: string | null; born: string | null }>(
      sql`SELECT code, amount, stamp, born FROM t_val ORDER BY code`)).map((r) => ({ ...r, stamp: r.stamp?.replace(' ', 'T') ?? null }));
    for (const db of [pg, my]) {
      expect(await held(db)).toEqual([
        { code: 'OK01', amount: '1.1234567890', stamp: '2024-01-01T10:00:00.123456', born: '2000-02-29' },
        // PostgreSQL prints fractional seconds without trailing zeros, MariaDB to the column's precision
        { code: 'OK02', amount: '-12345678901234567890.5000000000', stamp: expect.stringMatching(/^2024-01-01T10:00:00\.12(0000)?$/), born: null },
      ]);
    }
    const rejected = JSON.parse(await ex.ok('quarantine', '--format', 'json')) as { department: string; stage: string; record_key: string; reason: string }[];
    const reasons = (department: string) => Object.fromEntries(rejected.filter((r) => r.department === department).map((r) => [r.record_key, r.reason]));
    for (const department of ['pg', 'my']) {
      expect(reasons(department)).toEqual({
        DEC1: expect.stringMatching(/^column 'amount': 1\.123456789012345 has 15 decimal places; (numeric|decimal)\(30,10\) keeps 10, so it would be rounded$/),
        WHL1: expect.stringMatching(/^column 'amount': 123456789012345678901\.50* has 21 digits before the point; (numeric|decimal)\(30,10\) holds 20$/),
        TS09: expect.stringMatching(/^column 'stamp': 2024-01-01T10:00:00\.123456789 has 9 fractional second digits; (timestamp\(6\) without time zone|datetime\(6\)) keeps 6, so it would be rounded$/),
      });
    }
    // a BC date is no date the indicator set allows: it never leaves the source, rather than arriving as AD
    expect(reasons('src')).toEqual({ BC01: 'born: must match format "date"' });
    expect(await ex.ok('status')).not.toMatch(/do not reconcile|≠/);
  });

  it('sets aside source rows that claim to be the same version of one record, instead of choosing one', async () => {
    await src.execute(sql`UPDATE src_val SET amount = '2.5' WHERE code = 'OK01'`);
    const twice = `query: "SELECT code, amount, stamp, born, updated_at FROM src_val UNION ALL SELECT code, '7', stamp, born, updated_at FROM src_val WHERE code = 'OK01'"`;
    const ex2 = new TestExchange(
      { src: { driver: 'postgres', url: src.url }, pg: { driver: 'postgres', url: pg.url }, my: { driver: 'mysql', url: my.url } },
      { twice: flow('twice', twice) }, { 'test.value': SET });
    try {
      await ex2.setUp();
      await ex2.ok('run', '--once');
      const set = JSON.parse(await ex2.ok('quarantine', '--format', 'json', '--stage', 'source')) as { record_key: string; reason: string }[];
      const ok01 = set.filter((r) => r.record_key === 'OK01');
      expect(ok01).toHaveLength(2);
      for (const r of ok01) expect(r.reason).toMatch(/^2 rows of this page have key OK01 and updated_at .*: the key does not tell them apart, so none is sent$/);
      // what the first flow wrote stays as it was: neither copy reached the targets
      expect((await pg.query(sql`SELECT amount FROM t_val WHERE code = 'OK01'`))[0]).toEqual({ amount: '1.1234567890' });
    } finally {
      await ex2.destroy();
    }
  });
});
