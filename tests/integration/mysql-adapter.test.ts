import { connect } from '../../adapters';
import type { ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TargetTable } from '../../adapters/adapter';
import { claimInbox } from '../../gateway/bookkeeping/inbox';
import { pendingOutbox, putOutbox } from '../../gateway/bookkeeping/outbox';
import { createBookkeeping } from '../../gateway/bookkeeping/schema';
import { createMysql, type TestDatabase } from '../helpers/databases';

let server: TestDatabase;
let db: Database;

beforeAll(async () => {
  server = await createMysql('adapter');
  db = await connect({ driver: 'mysql', url: server.url, pool: 4 }, 'mysql adapter test');
  await createBookkeeping(db);
});

afterAll(async () => {
  await db?.close();
  await server?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const spaced = (t: unknown) => String(t).replace('T', ' ');

describe('session and bookkeeping', () => {
  it('runs in strict mode', async () => {
    const [row] = await db.query<{ mode: string }>('SELECT @@SESSION.sql_mode AS mode');
    expect(row.mode.split(',')).toContain('STRICT_TRANS_TABLES');
  });

  it('creates the bookkeeping tables again without harm', async () => {
    await createBookkeeping(db);
    const versions = await db.describeTable('dxg_versions');
    expect(versions?.uniqueKeys).toEqual([['flow', 'record_key']]);
    const [head] = await db.query<{ n: string }>('SELECT count(*) AS n FROM dxg_ledger_head');
    expect(Number(head.n)).toBe(1);
  });

  it('round-trips outbox bodies as bytes', async () => {
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await db.transaction((tx) => putOutbox(tx, [{
      messageId: 'm-bytes', flow: 'f', kind: 'records', exchange: 'x', routingKey: 'r', headers: { a: '中' }, body, to: 'tax',
    }]));
    const [item] = await pendingOutbox(db, 10);
    expect(item.body.equals(body)).toBe(true);
    expect(item.headers).toEqual({ a: '中' });
  });

  it('recognises a message id claimed twice', async () => {
    const claim = () => db.transaction((tx) => claimInbox(tx, 'm-once', 'f', 'amr', tx.sql.isUniqueViolation));
    expect(await claim()).toBe(true);
    expect(await claim()).toBe(false);
  });

  it('keeps bookkeeping keys exact, not case-blind', async () => {
    await db.execute("INSERT INTO dxg_inbox (message_id, flow, from_dept, applied_at) VALUES ('Abc', 'f', 'amr', 'now'), ('abc', 'f', 'amr', 'now')");
    const rows = await db.query("SELECT message_id FROM dxg_inbox WHERE message_id = 'abc'");
    expect(rows).toEqual([{ message_id: 'abc' }]);
  });
});

describe('catalog', () => {
  beforeAll(async () => {
    await server.query(`CREATE TABLE Ent_Registry (
      region CHAR(6) NOT NULL, credit_code VARCHAR(18) NOT NULL, ent_name VARCHAR(200), capital DECIMAL(18,4),
      updated_at DATETIME(6) NOT NULL, note TEXT,
      PRIMARY KEY (region, credit_code), UNIQUE KEY by_name (ent_name), UNIQUE KEY by_note (note(20)), KEY by_time (updated_at))`);
  });

  it('describes columns with their own types and the unique keys in key order', async () => {
    const info = await db.describeTable('Ent_Registry');
    expect([...info!.columns.values()]).toEqual([
      { name: 'region', type: 'char(6)', nullable: false },
      { name: 'credit_code', type: 'varchar(18)', nullable: false },
      { name: 'ent_name', type: 'varchar(200)', nullable: true },
      { name: 'capital', type: 'decimal(18,4)', nullable: true },
      { name: 'updated_at', type: 'datetime(6)', nullable: false },
      { name: 'note', type: 'text', nullable: true },
    ]);
    // the prefix index on note does not make note unique
    expect(info!.uniqueKeys).toEqual([['region', 'credit_code'], ['ent_name']]);
  });

  it('finds a table qualified with its database, by its exact name only', async () => {
    expect((await db.describeTable(`${server.name}.Ent_Registry`))?.columns.size).toBe(6);
    expect(await db.describeTable('ent_registry')).toBeNull();
    expect(await db.describeTable('no_such_table')).toBeNull();
  });

  it('describes a query by its result columns', async () => {
    const cols = await db.describeQuery('SELECT credit_code AS code, updated_at, capital FROM Ent_Registry');
    expect(cols.map((c) => [c.name, c.type])).toEqual([['code', 'var_string'], ['updated_at', 'datetime(6)'], ['capital', 'newdecimal']]);
  });
});

describe('reading changes', () => {
  const source: ChangeSource = { table: 'src', columns: ['id', 'updated_at', 'name'], key: ['id'], watermark: 'updated_at' };
  let expected: Row[];

  beforeAll(async () => {
    await server.query('CREATE TABLE src (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL, name VARCHAR(50), KEY (updated_at, id))');
    // 120 rows share one watermark value (a bulk update), the rest have a value each, inserted out of order
    const rows = Array.from({ length: 250 }, (_, i) => {
      const id = (i * 97) % 250 + 1;
      const at = id <= 120 ? '2024-03-01 10:00:00.000001' : `2024-03-01 10:00:${String(id % 60).padStart(2, '0')}.${String(id).padStart(6, '0')}`;
      return [id, at, `企业${id}`];
    });
    await server.query('INSERT INTO src (id, updated_at, name) VALUES ?', [rows]);
    expected = rows
      .map(([id, at, name]) => ({ id, updated_at: String(at).replace(' ', 'T'), name }))
      .sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : (a.id as number) - (b.id as number)));
  });

  async function readAll(src: ChangeSource, from: Position | null, pageSize: number): Promise<Row[]> {
    const upTo = await db.horizon(src, { name: 'updated_at', type: 'datetime(6)', nullable: false });
    const all: Row[] = [];
    let after = from;
    for (;;) {
      const page = await db.readChanges(src, after, upTo, pageSize);
      all.push(...page);
      if (page.length < pageSize) return all;
      const last = page[page.length - 1];
      after = { watermark: last.updated_at, key: [last.id] };
    }
  }

  it('pages in (watermark, key) order through rows sharing one watermark', async () => {
    const rows = await readAll(source, null, 17);
    expect(rows).toEqual(expected);
  });

  it('resumes after a saved position, given in ISO or in the server form', async () => {
    const at = expected[57]; // inside the block sharing one watermark
    const saved = JSON.parse(JSON.stringify({ watermark: at.updated_at, key: [at.id] })) as Position;
    expect(saved.watermark).toBe('2024-03-01T10:00:00.000001');
    expect(await readAll(source, saved, 40)).toEqual(expected.slice(58));
    expect(await readAll(source, { watermark: spaced(at.updated_at), key: [at.id] }, 40)).toEqual(expected.slice(58));
  });

  it('reads a query source the same way', async () => {
    const query: ChangeSource = { ...source, table: undefined, query: 'SELECT id, updated_at, name FROM src WHERE id > 0' };
    expect(await readAll(query, null, 33)).toEqual(expected);
  });
});

describe('horizon', () => {
  const source: ChangeSource = { table: 'live', columns: ['id', 'updated_at'], key: ['id'], watermark: 'updated_at' };
  const watermark: ColumnInfo = { name: 'updated_at', type: 'datetime(6)', nullable: false };

  beforeAll(async () => {
    await server.query('CREATE TABLE live (id INT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))');
  });

  it('stays below a row written by a transaction still open elsewhere', async () => {
    await server.query('START TRANSACTION');
    await server.query('INSERT INTO live (id) VALUES (1)');
    const [{ at }] = await server.query<{ at: string }>('SELECT updated_at AS at FROM live WHERE id = 1');
    await sleep(1500); // past the settle second: only the open transaction can hold the horizon back now
    const before = await db.horizon(source, watermark);
    expect(spaced(before) < at).toBe(true);
    await server.query('COMMIT');
    expect(await db.readChanges(source, null, before, 10)).toEqual([]);

    // once committed (and a second has passed), the next horizon lets the row through
    let rows: Row[] = [];
    for (let i = 0; i < 20 && rows.length === 0; i++) {
      await sleep(250);
      rows = await db.readChanges(source, null, await db.horizon(source, watermark), 10);
    }
    expect(rows).toEqual([{ id: 1, updated_at: at.replace(' ', 'T') }]);
  });

  it('is cut to the precision of the watermark column, and absent for integers', async () => {
    expect(await db.horizon(source, { ...watermark, type: 'date' })).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(await db.horizon(source, { ...watermark, type: 'datetime' })).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect(await db.horizon(source, { ...watermark, type: 'timestamp(3)' })).toMatch(/T\d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(await db.horizon(source, { ...watermark, type: 'datetime(6)' })).toMatch(/T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect(await db.horizon(source, { ...watermark, type: 'bigint' })).toBeNull();
  });
});

describe('applying records', () => {
  const target: TargetTable = {
    flow: 'enterprise-basic',
    table: 'tax_taxpayer',
    mode: 'upsert',
    keyColumns: ['nsrsbh'],
    columns: [
      { name: 'nsrsbh', kind: 'string', type: 'varchar(18)' },
      { name: 'nsrmc', kind: 'string', type: 'varchar(20)' },
      { name: 'zczb', kind: 'decimal', type: 'decimal(18,4)' },
      { name: 'clrq', kind: 'date', type: 'date' },
      { name: 'gxsj', kind: 'datetime', type: 'datetime(6)' },
      { name: 'dzsj', kind: 'datetime', type: 'timestamp(6)' },
      { name: 'yx', kind: 'boolean', type: 'tinyint(1)' },
      { name: 'bz', kind: 'json', type: 'longtext' },
    ],
  };
  const record = (key: string, version: bigint, values: Row): ApplyRecord => ({ key, version, values: { nsrsbh: key, ...values } });
  const read = (key: string) => db.query('SELECT * FROM tax_taxpayer WHERE nsrsbh = ?', [key]);
  const apply = (t: TargetTable, records: ApplyRecord[]) => db.transaction((tx) => tx.apply(t, records));

  beforeAll(async () => {
    await server.query(`CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) PRIMARY KEY, nsrmc VARCHAR(20), zczb DECIMAL(18,4), clrq DATE,
      gxsj DATETIME(6), dzsj TIMESTAMP(6) NULL, yx TINYINT(1), bz LONGTEXT)`);
    await server.query('CREATE TABLE tax_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, nsrsbh VARCHAR(18) NOT NULL, nsrmc VARCHAR(20))');
  });

  it('writes every value shape and reads back exactly the same values', async () => {
    const values = {
      nsrmc: '杭州市某某科技有限公司', zczb: '12345678901234.5678', clrq: '2024-02-29', gxsj: '2024-03-01T10:00:00.123456',
      dzsj: '2024-03-01T10:00:00.654321', yx: true, bz: { 经营范围: ['软件', '咨询'], n: 1 },
    };
    const outcome = await apply(target, [record('91330100A', 1n, values), record('91330100B', 1n, { nsrmc: null, yx: false })]);
    expect(outcome).toEqual({ written: 2, superseded: [] });
    expect(await read('91330100A')).toEqual([{ nsrsbh: '91330100A', ...values, yx: 1, bz: JSON.stringify(values.bz) }]);
    expect(await read('91330100B')).toEqual([{ nsrsbh: '91330100B', nsrmc: null, zczb: null, clrq: null, gxsj: null, dzsj: null, yx: 0, bz: null }]);
  });

  it('keeps the clock time of a timestamp with an offset (as PostgreSQL does for a column without a zone), microseconds kept', async () => {
    await apply(target, [record('91330100C', 1n, { gxsj: '2024-03-01T02:00:00.123456+08:00', dzsj: '2024-03-01T02:00:00.654321Z' })]);
    const [row] = await read('91330100C');
    expect(row.gxsj).toBe('2024-03-01T02:00:00.123456');
    expect(row.dzsj).toBe('2024-03-01T02:00:00.654321');
  });

  it('never lets an older version overwrite a newer one', async () => {
    await apply(target, [record('91330100D', 5n, { nsrmc: '第五版' })]);
    expect(await apply(target, [record('91330100D', 3n, { nsrmc: '第三版' }), record('91330100E', 3n, { nsrmc: '新' })]))
      .toEqual({ written: 1, superseded: ['91330100D'] });
    expect((await read('91330100D'))[0].nsrmc).toBe('第五版');
    expect(await apply(target, [record('91330100D', 5n, { nsrmc: '第五版重放' })])).toEqual({ written: 1, superseded: [] });
    expect((await read('91330100D'))[0].nsrmc).toBe('第五版重放');
    const [v] = await db.query('SELECT version FROM dxg_versions WHERE flow = ? AND record_key = ?', [target.flow, '91330100D']);
    expect(v.version).toBe('5');
  });

  it('appends each version once in insert mode', async () => {
    const log: TargetTable = { flow: 'enterprise-log', table: 'tax_log', mode: 'insert', keyColumns: ['nsrsbh'], columns: target.columns.slice(0, 2) };
    expect(await apply(log, [record('K1', 1n, { nsrmc: '一' })])).toEqual({ written: 1, superseded: [] });
    expect(await apply(log, [record('K1', 1n, { nsrmc: '一' })])).toEqual({ written: 0, superseded: ['K1'] });
    expect(await apply(log, [record('K1', 2n, { nsrmc: '二' })])).toEqual({ written: 1, superseded: [] });
    expect((await db.query('SELECT nsrmc FROM tax_log ORDER BY id')).map((r) => r.nsrmc)).toEqual(['一', '二']);
  });

  it('fails a value too long as a data error, and a savepoint undoes only its own work', async () => {
    const tooLong = record('91330100F', 1n, { nsrmc: '这个纳税人名称超过了二十个字符的列宽限制所以必须被拒绝' });
    const failure = await apply(target, [tooLong]).catch((err: unknown) => err);
    expect(db.sql.isDataError(failure)).toBe(true);

    await db.transaction(async (tx) => {
      await tx.apply(target, [record('91330100G', 1n, { nsrmc: '好' })]);
      const inner = await tx.savepoint(() => tx.apply(target, [record('91330100H', 1n, { nsrmc: '也好' }), tooLong])).catch((err: unknown) => err);
      expect(tx.sql.isDataError(inner)).toBe(true);
      expect(await tx.savepoint(() => tx.apply(target, [record('91330100H', 1n, { nsrmc: '也好' })]))).toEqual({ written: 1, superseded: [] });
    });
    const keys = await db.query<{ nsrsbh: string }>("SELECT nsrsbh FROM tax_taxpayer WHERE nsrsbh IN ('91330100F', '91330100G', '91330100H') ORDER BY nsrsbh");
    expect(keys.map((k) => k.nsrsbh)).toEqual(['91330100G', '91330100H']);
    const versions = await db.query("SELECT record_key FROM dxg_versions WHERE record_key = '91330100F'");
    expect(versions).toEqual([]);
  });

  it('does not take deadlocks or lock timeouts for data errors', () => {
    expect(db.sql.isDataError({ errno: 1213 })).toBe(false);
    expect(db.sql.isDataError({ errno: 1205 })).toBe(false);
    expect(db.sql.isDataError(new Error('connection lost'))).toBe(false);
  });

  it('takes a real deadlock, also one inside a savepoint, for a conflict to run again', async () => {
    await db.execute('CREATE TABLE lock_pair (id INT PRIMARY KEY, n INT)');
    await db.execute('INSERT INTO lock_pair VALUES (1, 0), (2, 0)');
    let both: () => void = () => undefined;
    const met = new Promise<void>((r) => {
      let n = 0;
      both = () => ++n === 2 && r();
    });
    // each locks one row, then wants the other's: the server kills one of them
    const cross = (first: number, second: number) => db.transaction((tx) => tx.savepoint(async () => {
      await tx.execute('UPDATE lock_pair SET n = n + 1 WHERE id = ?', [first]);
      both();
      await met;
      await tx.execute('UPDATE lock_pair SET n = n + 1 WHERE id = ?', [second]);
    }));
    const outcomes = await Promise.allSettled([cross(1, 2), cross(2, 1)]);
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(db.sql.isConflict(failed[0].reason)).toBe(true);
    expect(db.sql.isDataError(failed[0].reason)).toBe(false);
    expect(db.sql.isConflict({ errno: 1406 })).toBe(false);
  });
});
