import type { ChangeSource, ColumnInfo, Database, TargetTable } from '../../adapters/adapter';
import { apply, applyRows, buildApplySql, stagingCast } from '../../adapters/mssql/apply';
import { columnType } from '../../adapters/mssql/catalog';
import { buildClock, buildCountChanges, buildHorizon, buildReadChanges, buildScanKeys } from '../../adapters/mssql/changes';
import type { Runner } from '../../adapters/mssql/connection';
import { driver, type Result } from '../../adapters/mssql/driver';
import { mssqlSql, quote, tableName } from '../../adapters/mssql/sql';
import { poolConfig } from '../../adapters/mssql/url';
import { readExpression, rowversionBytes, sqlParam } from '../../adapters/mssql/values';
import { render, sql, type Rendered, type Sql } from '../../adapters/sql';
import { createBookkeeping, SCHEMA_VERSION } from '../../gateway/bookkeeping/schema';

/** SQL with its whitespace runs made single spaces, so that assertions need not mind line breaks. */
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

/** A statement as SQL Server receives it: text with `@pN` placeholders, and their values in order. */
const rendered = (statement: Sql): Rendered => render(statement, mssqlSql.renderer);

describe('SQL Server connection URL', () => {
  const config = (url: string) => poolConfig({ driver: 'mssql', url, pool: 7 }, 'tax');

  it('reads user, password, host, port, database and options', () => {
    expect(config('mssql://dxg:p%40ss%3Aw0rd@db.tax.local:14330/税务?encrypt=false&trustServerCertificate=true&requestTimeout=60000')).toEqual({
      server: 'db.tax.local',
      port: 14330,
      database: '税务',
      user: 'dxg',
      password: 'p@ss:w0rd',
      connectionTimeout: 10000,
      requestTimeout: 60000,
      pool: { max: 7, min: 0 },
      options: { encrypt: false, trustServerCertificate: true, appName: 'dxg tax' },
    });
  });

  it('defaults to port 1433, TLS with a verified certificate, no statement timeout', () => {
    const c = config('mssql://sa@127.0.0.1/master');
    expect([c.port, c.options.encrypt, c.options.trustServerCertificate, c.requestTimeout, c.password]).toEqual([1433, true, false, 0, undefined]);
    expect(config('sqlserver://[::1]:1433/').database).toBeUndefined();
    expect(config('sqlserver://[::1]:1433/').server).toBe('::1');
  });

  it('takes a named instance', () => {
    expect(config('mssql://sa:x@host/db?instanceName=SQLEXPRESS').options.instanceName).toBe('SQLEXPRESS');
  });

  it('refuses other schemes, unknown or misspelt options and bad values', () => {
    expect(() => config('postgres://sa@host/db')).toThrow(/starts with mssql:\/\//);
    expect(() => config('mssql://sa@host/db?encrpyt=false')).toThrow(/unknown SQL Server URL option encrpyt/);
    expect(() => config('mssql://sa@host/db?encrypt=maybe')).toThrow(/must be true or false/);
    expect(() => config('mssql://sa@host/db?requestTimeout=1m')).toThrow(/milliseconds/);
  });
});

describe('names', () => {
  it('brackets identifiers, doubling a closing bracket', () => {
    expect(quote('ent_name')).toBe('[ent_name]');
    expect(quote('a]b')).toBe('[a]]b]');
    expect(quote('企业 名称')).toBe('[企业 名称]');
  });

  it('puts a table without a schema in dbo', () => {
    expect(tableName('ent_registry')).toBe('[dbo].[ent_registry]');
    expect(tableName('tax.tax]payer')).toBe('[tax].[tax]]payer]');
  });
});

describe('bookkeeping DDL', () => {
  it('creates each table and index unless it exists', () => {
    expect(mssqlSql.createTable('dxg_outbox', 'message_id NVARCHAR(100) NOT NULL PRIMARY KEY, flow NVARCHAR(100) NOT NULL', [
      { name: 'dxg_outbox_flow', columns: ['flow', 'created_at'] },
    ]).map(rendered)).toEqual([
      { text: "IF OBJECT_ID(N'[dxg_outbox]', N'U') IS NULL CREATE TABLE [dxg_outbox] (message_id NVARCHAR(100) NOT NULL PRIMARY KEY, flow NVARCHAR(100) NOT NULL)", params: [] },
      {
        text: "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'dxg_outbox_flow' AND object_id = OBJECT_ID(N'[dxg_outbox]')) CREATE INDEX [dxg_outbox_flow] ON [dxg_outbox] ([flow], [created_at])",
        params: [],
      },
    ]);
    // names with quotes in them stay names, in the brackets and in the N'' literals alike
    expect(mssqlSql.createTable("dxg_o'dd]", 'id INT', [{ name: "ix_o'dd", columns: ['a]b'] }]).map((s) => rendered(s).text)).toEqual([
      "IF OBJECT_ID(N'[dxg_o''dd]]]', N'U') IS NULL CREATE TABLE [dxg_o'dd]]] (id INT)",
      "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_o''dd' AND object_id = OBJECT_ID(N'[dxg_o''dd]]]')) CREATE INDEX [ix_o'dd] ON [dxg_o'dd]]] ([a]]b])",
    ]);
  });

  it('writes the statements the core asks for, keys exact and within the 900-byte index key limit', async () => {
    const statements: string[] = [];
    const fake = {
      sql: mssqlSql,
      // a database without bookkeeping yet
      catalog: { describeTable: async () => null },
      execute: async (statement: Sql) => (statements.push(rendered(statement).text), 0),
      query: async () => [{ n: 1 }],
    } as unknown as Database;
    expect(await createBookkeeping(fake)).toEqual({ from: 0, to: SCHEMA_VERSION, upgrades: [] });
    expect(statements).toContain('ALTER TABLE [dxg_ledger] ADD [algorithm] NVARCHAR(40) COLLATE Latin1_General_100_BIN2');
    const versions = statements.find((s) => s.includes('CREATE TABLE [dxg_versions]'))!;
    expect(versions).toContain('flow NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL');
    expect(versions).toContain('record_key NVARCHAR(256) COLLATE Latin1_General_100_BIN2 NOT NULL');
    expect(versions).toContain('PRIMARY KEY (flow, record_key)');
    const keyBytes = ['flow', 'record_key'].map((c) => 2 * Number(new RegExp(`\\b${c} NVARCHAR\\((\\d+)\\)`).exec(versions)![1]));
    expect(keyBytes[0] + keyBytes[1]).toBeLessThanOrEqual(900);
    const quarantine = statements.find((s) => s.includes('CREATE TABLE [dxg_quarantine]'))!;
    expect(quarantine).toContain('id BIGINT IDENTITY(1,1) PRIMARY KEY');
    expect(quarantine).toContain('body VARBINARY(MAX)');
    expect(quarantine).toContain('reason NVARCHAR(MAX) NOT NULL');
    expect(statements.filter((s) => s.startsWith('IF NOT EXISTS (SELECT 1 FROM sys.indexes'))).toHaveLength(6);
  });
});

describe('limit and row locks', () => {
  it('turns the core SELECTs into SELECT TOP (n), keeping their ORDER BY and bound values', () => {
    expect(rendered(mssqlSql.limit(sql`SELECT message_id, flow FROM dxg_outbox ORDER BY created_at, message_id`, 50)))
      .toEqual({ text: 'SELECT TOP (50) message_id, flow FROM dxg_outbox ORDER BY created_at, message_id', params: [] });
    expect(rendered(mssqlSql.limit(sql`SELECT * FROM dxg_ledger WHERE flow = ${'enterprise-basic'} ORDER BY seq DESC`, 20.7)))
      .toEqual({ text: 'SELECT TOP (20) * FROM dxg_ledger WHERE flow = @p1 ORDER BY seq DESC', params: ['enterprise-basic'] });
    // a column list spliced in right after SELECT, as the ledger reads it
    expect(rendered(mssqlSql.limit(sql`SELECT ${sql.ids(['seq', 'hash'])} FROM dxg_ledger WHERE seq >= ${'7'} ORDER BY seq`, 500)))
      .toEqual({ text: 'SELECT TOP (500) [seq], [hash] FROM dxg_ledger WHERE seq >= @p1 ORDER BY seq', params: ['7'] });
    expect(rendered(mssqlSql.limit(sql.raw('  select distinct flow from dxg_inbox'), 3)).text).toBe('SELECT DISTINCT TOP (3) flow from dxg_inbox');
    expect(() => mssqlSql.limit(sql`WITH x AS (SELECT 1 AS n) SELECT n FROM x`, 1)).toThrow(/starts with SELECT/);
    // the keyword must be the statement's own text, not a quoted name or a value
    expect(() => mssqlSql.limit(sql`${sql.id('SELECT')} FROM x`, 1)).toThrow(/starts with SELECT/);
    expect(() => mssqlSql.limit(sql`${'SELECT'} 1`, 1)).toThrow(/starts with SELECT/);
  });

  it('locks rows with a table hint after the table name', () => {
    expect(rendered(mssqlSql.forUpdate(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = ${1}`, 'dxg_ledger_head')))
      .toEqual({ text: 'SELECT seq, hash FROM dxg_ledger_head WITH (UPDLOCK, ROWLOCK) WHERE id = @p1', params: [1] });
    expect(rendered(mssqlSql.forUpdate(sql`SELECT seq FROM [dxg_ledger_head]`, 'dxg_ledger_head')).text).toBe('SELECT seq FROM [dxg_ledger_head] WITH (UPDLOCK, ROWLOCK)');
    // the stored versions of a chunk of deletes, as gateway/flow/deletes reads them
    expect(rendered(mssqlSql.forUpdate(sql`SELECT record_key, version FROM dxg_versions WHERE flow = ${'f'} AND record_key IN ${sql.list(['a', 'b'])}`, 'dxg_versions')))
      .toEqual({ text: 'SELECT record_key, version FROM dxg_versions WITH (UPDLOCK, ROWLOCK) WHERE flow = @p1 AND record_key IN (@p2, @p3)', params: ['f', 'a', 'b'] });
    // a longer table name that starts alike is not the table
    expect(() => mssqlSql.forUpdate(sql`SELECT seq FROM dxg_ledger_head2 WHERE id = 1`, 'dxg_ledger_head')).toThrow(/needs a SELECT reading FROM dxg_ledger_head/);
  });
});

describe('error classification', () => {
  it('knows duplicate keys', () => {
    expect(mssqlSql.isUniqueViolation({ number: 2627 })).toBe(true);
    expect(mssqlSql.isUniqueViolation({ number: 2601 })).toBe(true);
    expect(mssqlSql.isUniqueViolation({ number: 547 })).toBe(false);
    expect(mssqlSql.isUniqueViolation(null)).toBe(false);
  });

  it('takes errors caused by the data for data errors', () => {
    for (const number of [8152, 2628, 515, 245, 8114, 8115, 220, 241, 242, 547, 2627, 2601]) {
      expect([number, mssqlSql.isDataError({ number })]).toEqual([number, true]);
    }
  });

  it('takes deadlocks and lock timeouts, and only those, for conflicts to run again', () => {
    expect(mssqlSql.isConflict({ number: 1205 })).toBe(true);
    expect(mssqlSql.isConflict({ number: 1222 })).toBe(true);
    expect(mssqlSql.isConflict(new Error('the transaction was rolled back', { cause: { number: 1205 } }))).toBe(true);
    for (const err of [{ number: 8152 }, { number: 2627 }, { code: 'ESOCKET' }, undefined]) expect(mssqlSql.isConflict(err)).toBe(false);
  });

  it('does not take deadlocks, lock timeouts, syntax or connection errors for data errors', () => {
    for (const err of [{ number: 1205 }, { number: 1222 }, { number: 102 }, { number: 208 }, { code: 'ESOCKET' }, new Error('Connection lost'), undefined]) {
      expect(mssqlSql.isDataError(err)).toBe(false);
    }
  });
});

describe('values read from SQL Server', () => {
  it('selects temporal, decimal, money, bigint and rowversion columns as exact text', () => {
    expect(readExpression('s.[at]', 'datetime2(7)')).toBe("STUFF(CONVERT(varchar(27), s.[at], 121), 11, 1, 'T')");
    expect(readExpression('s.[at]', 'datetime')).toBe("STUFF(CONVERT(varchar(27), s.[at], 121), 11, 1, 'T')");
    expect(readExpression('s.[at]', 'datetimeoffset(7)')).toBe("REPLACE(STUFF(CONVERT(varchar(34), s.[at], 121), 11, 1, 'T'), ' ', '')");
    expect(readExpression('s.[d]', 'date')).toBe('CONVERT(varchar(10), s.[d], 23)');
    expect(readExpression('s.[m]', 'decimal(38,10)')).toBe('CAST(s.[m] AS varchar(48))');
    expect(readExpression('s.[m]', 'money')).toBe('CONVERT(varchar(32), s.[m], 2)');
    expect(readExpression('s.[n]', 'bigint')).toBe('CAST(s.[n] AS varchar(20))');
    expect(readExpression('s.[rv]', 'timestamp')).toBe('CAST(CAST(s.[rv] AS bigint) AS varchar(20))');
    for (const type of ['nvarchar(50)', 'int', 'bit', 'float', 'uniqueidentifier', 'varbinary(max)']) expect(readExpression('s.[x]', type)).toBe('s.[x]');
  });

  it('writes catalog types as DDL does', () => {
    expect(columnType('nvarchar', 100, 0, 0)).toBe('nvarchar(50)');
    expect(columnType('nvarchar', -1, 0, 0)).toBe('nvarchar(max)');
    expect(columnType('varchar', 18, 0, 0)).toBe('varchar(18)');
    expect(columnType('decimal', 9, 18, 2)).toBe('decimal(18,2)');
    expect(columnType('datetime2', 8, 26, 6)).toBe('datetime2(6)');
    expect(columnType('timestamp', 8, 0, 0)).toBe('timestamp');
  });
});

describe('parameters', () => {
  it('declares each JS value with a matching type', () => {
    expect(sqlParam('企业')).toEqual({ type: driver.NVarChar(4000), value: '企业' });
    expect(sqlParam('x'.repeat(4001)).type).toEqual(driver.NVarChar(driver.MAX));
    expect(sqlParam(42)).toEqual({ type: driver.Int, value: 42 });
    expect(sqlParam(-(2 ** 31) + 1).type).toBe(driver.Int);
    expect(sqlParam(2 ** 31).type).toBe(driver.BigInt);
    expect(sqlParam(2 ** 60).type).toBe(driver.Float); // past 2^53: not an exact integer any more
    expect(sqlParam(1.5).type).toBe(driver.Float);
    expect(sqlParam(9007199254740993n)).toEqual({ type: driver.BigInt, value: 9007199254740993n });
    expect(sqlParam(true)).toEqual({ type: driver.Bit, value: true });
    expect(sqlParam(Buffer.from('ab')).type).toEqual(driver.VarBinary(driver.MAX));
  });

  it('declares NULL as varbinary, which also goes into nvarchar, int and bit columns', () => {
    expect(sqlParam(null)).toEqual({ type: driver.VarBinary(1), value: null });
    expect(sqlParam(undefined)).toEqual({ type: driver.VarBinary(1), value: null });
  });

  it('refuses values that have no canonical shape', () => {
    expect(() => sqlParam(new Date())).toThrow(/cannot pass a Date/);
    expect(() => sqlParam({ a: 1 })).toThrow(/cannot pass a Object/);
  });

  it('turns a rowversion back into its 8 big-endian bytes', () => {
    expect(rowversionBytes('2001').toString('hex')).toBe('00000000000007d1');
    expect(rowversionBytes('9223372036854775807').toString('hex')).toBe('7fffffffffffffff');
  });
});

describe('reading changes', () => {
  const types = new Map<string, ColumnInfo>([
    ['id', { name: 'id', type: 'int', nullable: false }],
    ['updated_at', { name: 'updated_at', type: 'datetime2(6)', nullable: false }],
    ['ent]name', { name: 'ent]name', type: 'nvarchar(100)', nullable: true }],
    ['capital', { name: 'capital', type: 'decimal(18,2)', nullable: true }],
  ]);
  const source: ChangeSource = { table: 'ent_registry', columns: ['id', 'updated_at', 'ent]name', 'capital'], key: ['id'], watermark: 'updated_at' };
  const select = "SELECT TOP (500) s.[id], STUFF(CONVERT(varchar(27), s.[updated_at], 121), 11, 1, 'T') AS [updated_at], s.[ent]]name],"
    + ' CAST(s.[capital] AS varchar(48)) AS [capital] FROM [dbo].[ent_registry] AS s';

  it('reads the first page below the horizon in (watermark, key) order', () => {
    expect(rendered(buildReadChanges(source, types, null, '2024-03-01T10:00:00.123456', 500))).toEqual({
      text: `${select} WHERE s.[updated_at] < @p1 ORDER BY s.[updated_at], s.[id]`,
      params: ['2024-03-01T10:00:00.123456'],
    });
  });

  it('resumes after a position with numbered placeholders', () => {
    const page = rendered(buildReadChanges(source, types, { watermark: '2024-03-01T10:00:00.000001', key: [7] }, '2024-03-02T00:00:00', 500));
    expect(page.text).toBe(`${select} WHERE s.[updated_at] < @p1 AND (s.[updated_at] >= @p2 AND (s.[updated_at] > @p3 OR (s.[updated_at] = @p4 AND (s.[id] > @p5))))`
      + ' ORDER BY s.[updated_at], s.[id]');
    expect(page.params).toEqual(['2024-03-02T00:00:00', '2024-03-01T10:00:00.000001', '2024-03-01T10:00:00.000001', '2024-03-01T10:00:00.000001', 7]);
  });

  it('reads without a horizon, from a query, with a composite key', () => {
    const query: ChangeSource = { query: 'SELECT id, region, updated_at FROM v_ent', columns: ['region', 'id', 'updated_at'], key: ['region', 'id'], watermark: 'updated_at' };
    const page = rendered(buildReadChanges(query, types, { watermark: 'w', key: ['330100', 9] }, null, 10));
    // the query may end on a line of its own inside the parentheses (a line comment at its end must not swallow them)
    expect(page.text.replace(/\s+\) AS s /, ') AS s ')).toBe("SELECT TOP (10) s.[region], s.[id], STUFF(CONVERT(varchar(27), s.[updated_at], 121), 11, 1, 'T') AS [updated_at]"
      + ' FROM (SELECT id, region, updated_at FROM v_ent) AS s'
      + ' WHERE (s.[updated_at] >= @p1 AND (s.[updated_at] > @p2 OR (s.[updated_at] = @p3 AND (s.[region] > @p4 OR (s.[region] = @p5 AND (s.[id] > @p6))))))'
      + ' ORDER BY s.[updated_at], s.[region], s.[id]');
    expect(page.params).toEqual(['w', 'w', 'w', '330100', '330100', 9]);
  });

  it('compares a rowversion watermark as bytes, not as text', () => {
    const rv = new Map<string, ColumnInfo>([['rv', { name: 'rv', type: 'timestamp', nullable: false }]]);
    const page = rendered(buildReadChanges({ table: 'sales.orders', columns: ['id', 'rv'], key: ['id'], watermark: 'rv' }, rv, { watermark: '2000', key: [3] }, '2001', 100));
    expect(page.text).toBe('SELECT TOP (100) s.[id], CAST(CAST(s.[rv] AS bigint) AS varchar(20)) AS [rv] FROM [sales].[orders] AS s'
      + ' WHERE s.[rv] < @p1 AND (s.[rv] >= @p2 AND (s.[rv] > @p3 OR (s.[rv] = @p4 AND (s.[id] > @p5)))) ORDER BY s.[rv], s.[id]');
    expect(page.params.slice(0, 4).map((b) => (b as Buffer).toString('hex'))).toEqual(['00000000000007d1', ...Array(3).fill('00000000000007d0')]);
    expect(page.params[4]).toBe(3);
  });
});

describe('counting and key scans', () => {
  const types = new Map<string, ColumnInfo>([
    ['id', { name: 'id', type: 'int', nullable: false }],
    ['region', { name: 'region', type: 'nchar(6)', nullable: false }],
    ['updated_at', { name: 'updated_at', type: 'datetime2(6)', nullable: false }],
  ]);
  const source: ChangeSource = { table: 'ent', columns: ['id', 'region', 'updated_at'], key: ['region', 'id'], watermark: 'updated_at' };

  it('counts what a cycle would read, with the same conditions', () => {
    expect(rendered(buildCountChanges(source, types, { watermark: 'w', key: ['370202', 5] }, 'h'))).toEqual({
      text: 'SELECT COUNT_BIG(*) AS n FROM [dbo].[ent] AS s WHERE s.[updated_at] < @p1 AND (s.[updated_at] >= @p2 AND (s.[updated_at] > @p3'
        + ' OR (s.[updated_at] = @p4 AND (s.[region] > @p5 OR (s.[region] = @p6 AND (s.[id] > @p7))))))',
      params: ['h', 'w', 'w', 'w', '370202', '370202', 5],
    });
    expect(rendered(buildCountChanges(source, types, null, null))).toEqual({ text: 'SELECT COUNT_BIG(*) AS n FROM [dbo].[ent] AS s', params: [] });
  });

  it('walks the table in key order after a key, selecting exact text', () => {
    expect(rendered(buildScanKeys(source, types, ['region', 'id', 'updated_at'], null, 5000)).text)
      .toBe("SELECT TOP (5000) s.[region], s.[id], STUFF(CONVERT(varchar(27), s.[updated_at], 121), 11, 1, 'T') AS [updated_at] FROM [dbo].[ent] AS s ORDER BY s.[region], s.[id]");
    expect(rendered(buildScanKeys(source, types, ['region', 'id'], ['370202', 5], 10))).toEqual({
      text: 'SELECT TOP (10) s.[region], s.[id] FROM [dbo].[ent] AS s WHERE s.[region] >= @p1 AND (s.[region] > @p2 OR (s.[region] = @p3 AND (s.[id] > @p4)))'
        + ' ORDER BY s.[region], s.[id]',
      params: ['370202', '370202', '370202', 5],
    });
  });

  it('reads the clock as the next rowversion, or now in the column type', () => {
    expect(buildClock('rowversion')).toBe('SELECT CAST(CAST(CAST(CAST(@@DBTS AS bigint) + 1 AS binary(8)) AS bigint) AS varchar(20)) AS now');
    expect(buildClock('datetime2(6)')).toBe("SELECT STUFF(CONVERT(varchar(27), CAST(SYSDATETIME() AS datetime2(6)), 121), 11, 1, 'T') AS now");
    expect(buildClock('int')).toBeNull();
  });
});

describe('horizon', () => {
  it('uses MIN_ACTIVE_ROWVERSION for rowversion watermarks, never @@DBTS', () => {
    for (const type of ['rowversion', 'timestamp']) {
      const sql = buildHorizon(type)!;
      expect(sql).toBe('SELECT CAST(CAST(MIN_ACTIVE_ROWVERSION() AS bigint) AS varchar(20)) AS horizon');
      expect(sql).not.toContain('@@DBTS');
    }
  });

  it('stays below the oldest transaction open in another session, and below now', () => {
    const sql = flat(buildHorizon('datetime2(6)')!);
    expect(sql).toBe("SELECT STUFF(CONVERT(varchar(27), CAST(DATEADD(millisecond, -1000, MIN(t.at)) AS datetime2(6)), 121), 11, 1, 'T') AS horizon FROM ("
      + ' SELECT SYSDATETIME() AS at UNION ALL SELECT CAST(a.transaction_begin_time AS datetime2(7)) FROM sys.dm_tran_active_transactions a'
      + ' JOIN sys.dm_tran_session_transactions s ON s.transaction_id = a.transaction_id WHERE s.session_id <> @@SPID) AS t');
  });

  it('compares instants for datetimeoffset and cuts to the column type', () => {
    const zoned = flat(buildHorizon('datetimeoffset(3)')!);
    expect(zoned).toContain('SELECT SYSDATETIMEOFFSET() AS at');
    expect(zoned).toContain('TODATETIMEOFFSET(a.transaction_begin_time, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()))');
    expect(zoned).toContain("REPLACE(STUFF(CONVERT(varchar(34), CAST(DATEADD(millisecond, -1000, MIN(t.at)) AS datetimeoffset(3)), 121), 11, 1, 'T'), ' ', '')");
    expect(flat(buildHorizon('date')!)).toContain('CONVERT(varchar(10), CAST(DATEADD(millisecond, -1000, MIN(t.at)) AS date), 23) AS horizon');
    expect(flat(buildHorizon('datetime')!)).toContain('AS datetime), 121), 11, 1,');
  });

  it('has none for integer or text watermarks', () => {
    for (const type of ['int', 'bigint', 'nvarchar(20)', 'decimal(18,0)']) expect(buildHorizon(type)).toBeNull();
  });
});

describe('apply', () => {
  const target: TargetTable = {
    flow: 'enterprise-basic',
    table: 'tax.taxpayer',
    mode: 'upsert',
    keyColumns: ['nsrsbh'],
    columns: [
      { name: 'nsrsbh', kind: 'string', type: 'varchar(18)' },
      { name: 'nsr]mc', kind: 'string', type: 'nvarchar(20)' },
      { name: 'zczb', kind: 'decimal', type: 'decimal(18,4)' },
      { name: 'clrq', kind: 'date', type: 'date' },
      { name: 'gxsj', kind: 'datetime', type: 'datetime2(6)' },
      { name: 'djsj', kind: 'datetime', type: 'datetime' },
      { name: 'yx', kind: 'boolean', type: 'bit' },
    ],
  };

  it('stages and casts the JSON records before anything is written', () => {
    const sql = flat(buildApplySql(target));
    expect(sql).toContain('DECLARE @incoming TABLE (k NVARCHAR(256) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY, v BIGINT NOT NULL,'
      + ' c0 nvarchar(max), c1 nvarchar(max), c2 decimal(18,4), c3 date, c4 datetime2(6), c5 datetime, c6 bit);');
    expect(sql).toContain('INSERT INTO @incoming (k, v, c0, c1, c2, c3, c4, c5, c6) SELECT j.k, j.v, CAST(j.c0 AS nvarchar(max)), CAST(j.c1 AS nvarchar(max)),'
      + ' CAST(j.c2 AS decimal(18,4)), CAST(j.c3 AS date), CAST(CAST(j.c4 AS datetimeoffset(7)) AS datetime2(6)), CAST(CAST(j.c5 AS datetimeoffset(7)) AS datetime),'
      + " CAST(j.c6 AS bit) FROM OPENJSON(@p2) WITH (k NVARCHAR(256) '$.k', v BIGINT '$.v', c0 NVARCHAR(MAX) '$.c0',");
    expect(sql.indexOf('INSERT INTO @incoming')).toBeLessThan(sql.indexOf('SAVE TRANSACTION dxg_apply'));
    expect(sql.indexOf('SAVE TRANSACTION dxg_apply')).toBeLessThan(sql.indexOf('MERGE INTO dxg_versions'));
  });

  it('lets a version through dxg_versions unless the target holds a newer one, keeping the keys sent', () => {
    const sql = flat(buildApplySql(target));
    expect(sql).toContain('MERGE INTO dxg_versions WITH (HOLDLOCK) AS cur USING @incoming AS inc ON cur.flow = @p1 AND cur.record_key = inc.k'
      + ' WHEN MATCHED AND cur.version <= inc.v THEN UPDATE SET version = inc.v, deleted = 0'
      + ' WHEN NOT MATCHED BY TARGET THEN INSERT (flow, record_key, version, deleted) VALUES (@p1, inc.k, inc.v, 0)'
      + ' OUTPUT inc.k INTO @fresh (k);');
  });

  it('upserts only the fresh records into the target, matching on the key columns', () => {
    const sql = flat(buildApplySql(target));
    expect(sql).toContain('MERGE INTO [tax].[taxpayer] WITH (HOLDLOCK) AS tgt'
      + ' USING (SELECT inc.c0, inc.c1, inc.c2, inc.c3, inc.c4, inc.c5, inc.c6 FROM @incoming AS inc JOIN @fresh AS f ON f.k = inc.k) AS src ON tgt.[nsrsbh] = src.c0'
      + ' WHEN MATCHED THEN UPDATE SET [nsr]]mc] = src.c1, [zczb] = src.c2, [clrq] = src.c3, [gxsj] = src.c4, [djsj] = src.c5, [yx] = src.c6'
      + ' WHEN NOT MATCHED BY TARGET THEN INSERT ([nsrsbh], [nsr]]mc], [zczb], [clrq], [gxsj], [djsj], [yx]) VALUES (src.c0, src.c1, src.c2, src.c3, src.c4, src.c5, src.c6);'
      + ' SELECT @error = @@ERROR, @written = @@ROWCOUNT; IF @error <> 0 ROLLBACK TRANSACTION dxg_apply; SELECT @written AS written; SELECT k FROM @fresh;');
  });

  it('only inserts when every column is part of the key', () => {
    const keysOnly: TargetTable = { ...target, keyColumns: ['nsrsbh', 'clrq'], columns: [target.columns[0], target.columns[3]] };
    const sql = flat(buildApplySql(keysOnly));
    expect(sql).toContain('ON tgt.[nsrsbh] = src.c0 AND tgt.[clrq] = src.c1 WHEN NOT MATCHED BY TARGET THEN INSERT');
    expect(sql).not.toContain('WHEN MATCHED THEN');
  });

  it('appends each version once in insert mode', () => {
    const sql = flat(buildApplySql({ ...target, table: 'tax_log', mode: 'insert' }));
    expect(sql).toContain('WHEN MATCHED AND cur.version < inc.v THEN UPDATE');
    expect(sql).toContain('INSERT INTO [dbo].[tax_log] ([nsrsbh], [nsr]]mc], [zczb], [clrq], [gxsj], [djsj], [yx])'
      + ' SELECT inc.c0, inc.c1, inc.c2, inc.c3, inc.c4, inc.c5, inc.c6 FROM @incoming AS inc JOIN @fresh AS f ON f.k = inc.k;'
      + ' SELECT @error = @@ERROR, @written = @@ROWCOUNT;');
    expect(sql).not.toContain('MERGE INTO [dbo].[tax_log]');
  });

  it('stages text whole and timestamps through datetimeoffset', () => {
    expect(stagingCast('j.c0', 'nchar(2)')).toBe('CAST(j.c0 AS nvarchar(max))');
    expect(stagingCast('j.c0', 'ntext')).toBe('CAST(j.c0 AS nvarchar(max))');
    expect(stagingCast('j.c0', 'smalldatetime')).toBe('CAST(CAST(j.c0 AS datetimeoffset(7)) AS smalldatetime)');
    expect(stagingCast('j.c0', 'datetimeoffset(7)')).toBe('CAST(j.c0 AS datetimeoffset(7))');
    expect(stagingCast('j.c0', 'uniqueidentifier')).toBe('CAST(j.c0 AS uniqueidentifier)');
  });

  it('sends the records as one JSON array, objects as their JSON text', () => {
    const rows = JSON.parse(applyRows(target, [
      { key: 'A', version: 12345678901234567n, values: { nsrsbh: 'A', 'nsr]mc': '杭州某某', zczb: '1.2345', yx: true } },
      { key: '["B",1]', version: 1n, values: { nsrsbh: 'B', 'nsr]mc': { n: [1] }, zczb: null } },
    ]));
    expect(rows).toEqual([
      { k: 'A', v: '12345678901234567', c0: 'A', c1: '杭州某某', c2: '1.2345', c3: null, c4: null, c5: null, c6: true },
      { k: '["B",1]', v: '1', c0: 'B', c1: '{"n":[1]}', c2: null, c3: null, c4: null, c5: null, c6: null },
    ]);
  });

  it('makes one round trip and reports the keys dxg_versions did not let through', async () => {
    const calls: { sql: string; params: readonly unknown[] }[] = [];
    const runner: Runner = {
      run: async (sql, params = []) => {
        calls.push({ sql, params });
        return { recordsets: [[{ written: 1 }], [{ k: 'A' }]], rowsAffected: [] } as unknown as Result;
      },
    };
    const records = [{ key: 'A', version: 2n, values: { nsrsbh: 'A' } }, { key: 'a', version: 1n, values: { nsrsbh: 'a' } }];
    expect(await apply(runner, target, records)).toEqual({ written: 1, superseded: ['a'] });
    expect(calls).toHaveLength(1);
    expect(calls[0].params[0]).toBe('enterprise-basic');
    expect(JSON.parse(calls[0].params[1] as string).map((r: { k: string }) => r.k)).toEqual(['A', 'a']);
    expect(await apply(runner, target, [])).toEqual({ written: 0, superseded: [] });
    expect(calls).toHaveLength(1);
  });
});
