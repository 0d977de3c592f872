import { connect } from '../../adapters';
import type { ApplyRecord, ChangeSource, ColumnInfo, Database, Position, Row, TargetTable } from '../../adapters/adapter';
import { quote } from '../../adapters/mssql/sql';
import { readExpression } from '../../adapters/mssql/values';
import { claimInbox } from '../../gateway/bookkeeping/inbox';
import { pendingOutbox, putOutbox } from '../../gateway/bookkeeping/outbox';
import { putQuarantine } from '../../gateway/bookkeeping/quarantine';
import { createBookkeeping } from '../../gateway/bookkeeping/schema';

/**
 * Needs a SQL Server (2016 or later) and a login that may create databases and has VIEW SERVER STATE:
 * DXG_TEST_MSSQL_URL=mssql://sa:Password@127.0.0.1:1433/master?encrypt=false
 * Each run creates a database of its own and drops it afterwards.
 */
const SERVER = process.env.DXG_TEST_MSSQL_URL;
const SKIPPED = 'SQL Server integration tests skipped: set DXG_TEST_MSSQL_URL=mssql://user:pass@host:1433/db to run them';
// past Jest's console, which shows nothing of a file whose tests are all skipped when several files run
if (!SERVER) process.stderr.write(`\n${SKIPPED}\n\n`);
const withServer = SERVER ? describe : describe.skip;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

withServer('SQL Server adapter', () => {
  const name = `dxgt_ms_${process.pid}_${Date.now().toString(36)}`;
  let admin: Database;
  let db: Database;
  let other: Database;

  beforeAll(async () => {
    admin = await connect({ driver: 'mssql', url: SERVER!, pool: 1 }, 'mssql test admin');
    await admin.execute(`CREATE DATABASE ${quote(name)}`);
    const url = new URL(SERVER!);
    url.pathname = `/${name}`;
    db = await connect({ driver: 'mssql', url: url.toString(), pool: 4 }, 'mssql adapter test');
    other = await connect({ driver: 'mssql', url: url.toString(), pool: 2 }, 'mssql adapter test, other session');
  });

  afterAll(async () => {
    await db?.close();
    await other?.close();
    if (!admin) return;
    await admin.execute(`IF DB_ID(N'${name}') IS NOT NULL BEGIN ALTER DATABASE ${quote(name)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quote(name)}; END`);
    await admin.close();
  });

  describe('bookkeeping', () => {
    it('creates the bookkeeping tables twice without harm', async () => {
      await createBookkeeping(db);
      await createBookkeeping(db);
      const versions = await db.describeTable('dxg_versions');
      expect(versions?.uniqueKeys).toEqual([['flow', 'record_key']]);
      expect(versions?.columns.get('record_key')).toEqual({ name: 'record_key', type: 'nvarchar(256)', nullable: false, zoned: false });
      const [head] = await db.query<{ n: number }>('SELECT count(*) AS n FROM dxg_ledger_head');
      expect(head.n).toBe(1);
    });

    it('round-trips outbox bodies as bytes, and stores quarantine items without a body', async () => {
      const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await db.transaction(async (tx) => {
        await putOutbox(tx, [{ messageId: 'm-bytes', flow: 'f', kind: 'records', exchange: 'x', routingKey: 'r', headers: { a: '中' }, body, to: 'tax' }]);
        await putQuarantine(tx, [
          { stage: 'source', flow: 'f', recordKey: 'k1', reason: '缺少名称', record: { a: 1 } },
          { stage: 'dead-letter', reason: 'bad signature', body },
        ]);
      });
      const [item] = await pendingOutbox(db, 10);
      expect(item.body.equals(body)).toBe(true);
      expect(item.headers).toEqual({ a: '中' });
      const stored = await db.query<{ reason: string; body: Buffer | null }>('SELECT reason, body FROM dxg_quarantine ORDER BY id');
      expect(stored.map((q) => [q.reason, q.body?.length ?? null])).toEqual([['缺少名称', null], ['bad signature', 256]]);
    });

    it('recognises a message id claimed twice', async () => {
      const claim = () => db.transaction((tx) => claimInbox(tx, 'm-once', 'f', 'amr', tx.sql.isUniqueViolation));
      expect(await claim()).toBe(true);
      expect(await claim()).toBe(false);
    });

    it('keeps bookkeeping keys exact, not case-blind', async () => {
      await db.execute("INSERT INTO dxg_inbox (message_id, flow, from_dept, applied_at) VALUES ('Abc', 'f', 'amr', 'now'), ('abc', 'f', 'amr', 'now')");
      expect(await db.query("SELECT message_id FROM dxg_inbox WHERE message_id = 'abc'")).toEqual([{ message_id: 'abc' }]);
    });

    it('locks the ledger head and limits with TOP', async () => {
      const head = await db.transaction((tx) => tx.query(tx.sql.forUpdate('SELECT seq, hash FROM dxg_ledger_head WHERE id = 1', 'dxg_ledger_head')));
      expect(head).toEqual([{ seq: '0', hash: '0'.repeat(64) }]);
      expect(await db.query(db.sql.limit("SELECT message_id FROM dxg_inbox WHERE flow = ? ORDER BY message_id", 2), ['f'])).toEqual([
        { message_id: 'Abc' }, { message_id: 'abc' },
      ]);
    });
  });

  describe('catalog', () => {
    beforeAll(async () => {
      await db.execute(`CREATE TABLE ent_registry (
        region CHAR(6) NOT NULL, credit_code VARCHAR(18) NOT NULL, [ent]]name] NVARCHAR(200), capital DECIMAL(18,4),
        updated_at DATETIME2(6) NOT NULL, stamped DATETIMEOFFSET(7), rv ROWVERSION NOT NULL,
        CONSTRAINT pk_ent PRIMARY KEY (region, credit_code), CONSTRAINT uq_ent_name UNIQUE ([ent]]name]));
        CREATE UNIQUE INDEX uq_capital ON ent_registry (capital) WHERE capital IS NOT NULL;
        CREATE INDEX by_time ON ent_registry (updated_at)`);
      await db.execute('EXEC(\'CREATE SCHEMA tax\')');
      await db.execute('CREATE TABLE tax.payer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY)');
    });

    it('describes columns with their own types and the unique keys in key order', async () => {
      const info = await db.describeTable('ent_registry');
      expect([...info!.columns.values()]).toEqual([
        { name: 'region', type: 'char(6)', nullable: false, zoned: false },
        { name: 'credit_code', type: 'varchar(18)', nullable: false, zoned: false },
        { name: 'ent]name', type: 'nvarchar(200)', nullable: true, zoned: false },
        { name: 'capital', type: 'decimal(18,4)', nullable: true, zoned: false },
        { name: 'updated_at', type: 'datetime2(6)', nullable: false, zoned: false },
        { name: 'stamped', type: 'datetimeoffset(7)', nullable: true, zoned: true },
        { name: 'rv', type: 'timestamp', nullable: false, zoned: false },
      ]);
      // the filtered index on capital does not make capital unique
      expect(info!.uniqueKeys).toEqual([['region', 'credit_code'], ['ent]name']]);
    });

    it('finds tables in dbo or in the schema named, and nothing else', async () => {
      expect((await db.describeTable('dbo.ent_registry'))?.columns.size).toBe(7);
      expect((await db.describeTable('tax.payer'))?.uniqueKeys).toEqual([['nsrsbh']]);
      expect(await db.describeTable('payer')).toBeNull();
      expect(await db.describeTable('no_such_table')).toBeNull();
    });

    it('describes a query by its result columns, and refuses one that cannot be read as a derived table', async () => {
      const cols = await db.describeQuery('SELECT credit_code AS code, updated_at, capital FROM ent_registry');
      expect(cols.map((c) => [c.name, c.type])).toEqual([['code', 'varchar(18)'], ['updated_at', 'datetime2(6)'], ['capital', 'decimal(18,4)']]);
      await expect(db.describeQuery('SELECT nope FROM ent_registry')).rejects.toThrow(/nope/);
      await expect(db.describeQuery('SELECT region FROM ent_registry ORDER BY region')).rejects.toThrow(/ORDER BY/);
    });
  });

  describe('reading changes', () => {
    const source: ChangeSource = { table: 'src', columns: ['id', 'updated_at', 'name', 'capital'], key: ['id'], watermark: 'updated_at' };
    const watermark: ColumnInfo = { name: 'updated_at', type: 'datetime2(6)', nullable: false };
    let expected: Row[];

    beforeAll(async () => {
      await db.execute('CREATE TABLE src (id INT PRIMARY KEY, updated_at DATETIME2(6) NOT NULL, name NVARCHAR(50), capital DECIMAL(18,2), INDEX by_change (updated_at, id))');
      // 120 rows share one watermark value (a bulk update), the rest have a value each, inserted out of order
      const rows = Array.from({ length: 250 }, (_, i) => {
        const id = ((i * 97) % 250) + 1;
        const at = id <= 120 ? '2024-03-01 10:00:00.000001' : `2024-03-01 10:00:${String(id % 60).padStart(2, '0')}.${String(id).padStart(6, '0')}`;
        return [id, at, `企业${id}`, `${id}000.50`];
      });
      await db.execute(`INSERT INTO src (id, updated_at, name, capital) VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`, rows.flat());
      expected = rows
        .map(([id, at, name, capital]) => ({ id, updated_at: String(at).replace(' ', 'T'), name, capital }))
        .sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : (a.id as number) - (b.id as number)));
    });

    async function readAll(src: ChangeSource, from: Position | null, pageSize: number): Promise<Row[]> {
      const upTo = await db.horizon(src, watermark);
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

    it('pages in (watermark, key) order through rows sharing one watermark, values exact', async () => {
      expect(await readAll(source, null, 17)).toEqual(expected);
    });

    it('resumes after a saved position', async () => {
      const at = expected[57]; // inside the block sharing one watermark
      const saved = JSON.parse(JSON.stringify({ watermark: at.updated_at, key: [at.id] })) as Position;
      expect(saved.watermark).toBe('2024-03-01T10:00:00.000001');
      expect(await readAll(source, saved, 40)).toEqual(expected.slice(58));
    });

    it('reads a query source the same way', async () => {
      const query: ChangeSource = { ...source, table: undefined, query: 'SELECT id, updated_at, name, capital FROM src WHERE id > 0' };
      expect(await readAll(query, null, 33)).toEqual(expected);
    });
  });

  describe('horizon', () => {
    const source: ChangeSource = { table: 'live', columns: ['id', 'updated_at'], key: ['id'], watermark: 'updated_at' };
    const byVersion: ChangeSource = { table: 'live', columns: ['id', 'rv'], key: ['id'], watermark: 'rv' };
    const watermark: ColumnInfo = { name: 'updated_at', type: 'datetime2(6)', nullable: false };
    const rowversion: ColumnInfo = { name: 'rv', type: 'timestamp', nullable: false };
    const rowOf = `SELECT ${readExpression('updated_at', 'datetime2(6)')} AS at, ${readExpression('rv', 'timestamp')} AS rv FROM live WHERE id = ?`;

    beforeAll(async () => {
      await db.execute('CREATE TABLE live (id INT PRIMARY KEY, updated_at DATETIME2(6) NOT NULL DEFAULT SYSDATETIME(), rv ROWVERSION)');
    });

    it('stays below rows written by a transaction still open in another session', async () => {
      let open: { at: string; rv: string } | undefined;
      let later: { at: string; rv: string } | undefined;
      let byTime: unknown;
      let byRv: unknown;
      await other.transaction(async (tx) => {
        await tx.execute('INSERT INTO live (id) VALUES (1)');
        [open] = await tx.query<{ at: string; rv: string }>(rowOf, [1]);
        // committed after the open one started: @@DBTS would now be past the open row, MIN_ACTIVE_ROWVERSION is not
        await db.execute('INSERT INTO live (id) VALUES (2)');
        [later] = await db.query<{ at: string; rv: string }>(rowOf, [2]);
        await sleep(1500); // past the settle second: only the open transaction can hold the horizon back now
        byTime = await db.horizon(source, watermark);
        byRv = await db.horizon(byVersion, rowversion);
      });
      expect(String(byTime) < open!.at).toBe(true);
      expect(BigInt(String(byRv))).toBeLessThanOrEqual(BigInt(open!.rv));
      expect(BigInt(later!.rv)).toBeGreaterThan(BigInt(open!.rv));
      expect(await db.readChanges(source, null, byTime, 10)).toEqual([]);
      expect(await db.readChanges(byVersion, null, byRv, 10)).toEqual([]);

      // once committed (and the settle second has passed), the next horizon lets both rows through
      let rows: Row[] = [];
      for (let i = 0; i < 20 && rows.length < 2; i++) {
        await sleep(250);
        rows = await db.readChanges(source, null, await db.horizon(source, watermark), 10);
      }
      expect(rows).toEqual([{ id: 1, updated_at: open!.at }, { id: 2, updated_at: later!.at }]);
      const versions = await db.readChanges(byVersion, null, await db.horizon(byVersion, rowversion), 10);
      expect(versions).toEqual([{ id: 1, rv: open!.rv }, { id: 2, rv: later!.rv }]);
      expect(await db.readChanges(byVersion, { watermark: open!.rv, key: [1] }, null, 10)).toEqual([{ id: 2, rv: later!.rv }]);
    });

    it('is cut to the type of the watermark column, and absent for integers', async () => {
      expect(await db.horizon(source, { ...watermark, type: 'date' })).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(await db.horizon(source, { ...watermark, type: 'datetime' })).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(await db.horizon(source, { ...watermark, type: 'datetime2(6)' })).toMatch(/T\d{2}:\d{2}:\d{2}\.\d{6}$/);
      expect(await db.horizon(source, { ...watermark, type: 'datetimeoffset(7)' })).toMatch(/T\d{2}:\d{2}:\d{2}\.\d{7}[+-]\d{2}:\d{2}$/);
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
        { name: 'nsrmc', kind: 'string', type: 'nvarchar(20)' },
        { name: 'zczb', kind: 'decimal', type: 'decimal(18,4)' },
        { name: 'clrq', kind: 'date', type: 'date' },
        { name: 'gxsj', kind: 'datetime', type: 'datetime2(6)' },
        { name: 'djsj', kind: 'datetime', type: 'datetime' },
        { name: 'dzsj', kind: 'datetime', type: 'datetimeoffset(6)' },
        { name: 'yx', kind: 'boolean', type: 'bit' },
        { name: 'bz', kind: 'json', type: 'nvarchar(max)' },
      ],
    };
    const record = (key: string, version: bigint, values: Row): ApplyRecord => ({ key, version, values: { nsrsbh: key, ...values } });
    const read = (key: string) => db.query(
      `SELECT ${target.columns.map((c) => `${readExpression(quote(c.name), c.type)} AS ${quote(c.name)}`).join(', ')} FROM tax_taxpayer WHERE nsrsbh = ?`, [key]);
    const apply = (t: TargetTable, records: ApplyRecord[]) => db.transaction((tx) => tx.apply(t, records));

    beforeAll(async () => {
      await db.execute(`CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc NVARCHAR(20), zczb DECIMAL(18,4), clrq DATE,
        gxsj DATETIME2(6), djsj DATETIME, dzsj DATETIMEOFFSET(6), yx BIT, bz NVARCHAR(MAX))`);
      await db.execute('CREATE TABLE tax_log (id BIGINT IDENTITY PRIMARY KEY, nsrsbh VARCHAR(18) NOT NULL, nsrmc NVARCHAR(20))');
    });

    it('writes every value shape and reads back exactly the same values', async () => {
      const values = {
        nsrmc: '杭州市某某科技有限公司', zczb: '12345678901234.5678', clrq: '2024-02-29', gxsj: '2024-03-01T10:00:00.123456',
        djsj: '2024-03-01T10:00:00.123', dzsj: '2024-03-01T10:00:00.654321+08:00', yx: true, bz: { 经营范围: ['软件', '咨询'], n: 1 },
      };
      const outcome = await apply(target, [record('91330100A', 1n, values), record('91330100B', 1n, { nsrmc: null, yx: false })]);
      expect(outcome).toEqual({ written: 2, superseded: [] });
      expect(await read('91330100A')).toEqual([{ nsrsbh: '91330100A', ...values, bz: JSON.stringify(values.bz) }]);
      expect(await read('91330100B')).toEqual([{ nsrsbh: '91330100B', nsrmc: null, zczb: null, clrq: null, gxsj: null, djsj: null, dzsj: null, yx: false, bz: null }]);
    });

    it('keeps the clock time of a timestamp with an offset written to a column without a zone', async () => {
      await apply(target, [record('91330100C', 1n, { gxsj: '2024-03-01T02:00:00.123456+08:00', djsj: '2024-03-01T02:00:00.1234567Z' })]);
      const [row] = await read('91330100C');
      expect([row.gxsj, row.djsj]).toEqual(['2024-03-01T02:00:00.123456', '2024-03-01T02:00:00.123']);
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

    it('fails values the columns cannot hold as data errors, leaving nothing of the failed call behind', async () => {
      const tooLong = record('91330100F', 1n, { nsrmc: '这个纳税人名称超过了二十个字符的列宽限制所以必须被拒绝' });
      const notNumber = record('91330100F', 1n, { zczb: '一千' });
      for (const bad of [tooLong, notNumber]) {
        const failure = await apply(target, [bad]).catch((err: unknown) => err);
        expect(db.sql.isDataError(failure)).toBe(true);
      }

      await db.transaction(async (tx) => {
        await tx.apply(target, [record('91330100G', 1n, { nsrmc: '好' })]);
        // no savepoint around it: apply itself undoes the versions it took before the target refused the batch
        const bare = await tx.apply(target, [record('91330100H', 1n, { nsrmc: '也好' }), tooLong]).catch((err: unknown) => err);
        expect(tx.sql.isDataError(bare)).toBe(true);
        const inner = await tx.savepoint(() => tx.apply(target, [record('91330100H', 1n, { nsrmc: '也好' }), notNumber])).catch((err: unknown) => err);
        expect(tx.sql.isDataError(inner)).toBe(true);
        expect(await tx.savepoint(() => tx.apply(target, [record('91330100H', 1n, { nsrmc: '也好' })]))).toEqual({ written: 1, superseded: [] });
      });
      const keys = await db.query<{ nsrsbh: string }>("SELECT nsrsbh FROM tax_taxpayer WHERE nsrsbh IN ('91330100F', '91330100G', '91330100H') ORDER BY nsrsbh");
      expect(keys.map((k) => k.nsrsbh)).toEqual(['91330100G', '91330100H']);
      expect(await db.query("SELECT record_key FROM dxg_versions WHERE record_key = '91330100F'")).toEqual([]);
    });

    it('takes a duplicate key in the target for a data error, but not a missing table', async () => {
      await db.execute('CREATE TABLE tax_unique (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc NVARCHAR(20) NOT NULL UNIQUE)');
      const unique: TargetTable = { ...target, table: 'tax_unique', columns: target.columns.slice(0, 2) };
      await apply(unique, [record('U1', 1n, { nsrmc: '同名' })]);
      const duplicate = await apply(unique, [record('U2', 1n, { nsrmc: '同名' })]).catch((err: unknown) => err);
      expect([db.sql.isDataError(duplicate), db.sql.isUniqueViolation(duplicate)]).toEqual([true, true]);
      const missing = await apply({ ...unique, table: 'no_such_table' }, [record('U3', 1n, { nsrmc: '无' })]).catch((err: unknown) => err);
      expect(missing).toBeInstanceOf(Error);
      expect(db.sql.isDataError(missing)).toBe(false);
    });
  });
});
