import type { ColumnInfo } from '../../adapters/adapter';
import type { Kind } from '../../gateway/indicators/codec';
import type { Driver } from '../helpers/databases';

/**
 * The conformance suite's engine differences, as data: each engine's DDL for the same logical tables,
 * and what its catalog calls their types. The cases themselves (adapter.test.ts) are one list, run on
 * every engine alike.
 */

/** A sample that reads back as the same instant, not necessarily the same text (a zoned column shows the session's offset). */
export class SameInstant {
  constructor(readonly write: string, readonly withOffset: boolean) {}
}

/** A sample that reads back as another, stated value (a timestamp with an offset written into a column without a zone). */
export class ReadsAs {
  constructor(readonly write: unknown, readonly read: unknown) {}
}

export type Sample = unknown;

export interface ValueColumn {
  name: string;
  kind: Kind;
  /** each one written into its own record (every other column null), read back and compared through the codec */
  samples: Sample[];
}

/** A source `query:` with a `?` in it, as the engine writes it. */
export interface QuestionQuery {
  query: string;
  /** its result columns: id, updated_at and the name column (however the query calls it) */
  columns: [string, string, string];
  /** the ids of table `tagged` it selects */
  ids: number[];
}

export interface EngineFixture {
  catalog: {
    /** ent_registry (and a table in another schema): PK (region, credit_code), UNIQUE (ent_name), plus a unique index that does not make its column unique */
    ddl: string[];
    /** describeTable('ent_registry'): columns in table order, `zoned` absent read as false */
    columns: ColumnInfo[];
    /** names and the number of columns describeTable finds under them (null: none) */
    lookups(database: string): [name: string, columns: number | null][];
    /** describeQuery(CATALOG_QUERY): name and type of each column */
    queryColumns: [string, string][];
    /** queries describeQuery refuses, and what the engine's message says */
    badQueries: [string, RegExp][];
  };
  /** src (id INT PK, updated_at timestamp(6) NOT NULL, name varchar(50), capital decimal(18,2)) */
  src: string[];
  /** tagged (id INT PK, updated_at timestamp(6) NOT NULL, name varchar(50), tags: the engine's JSON column) */
  tagged: string[];
  questionQueries: QuestionQuery[];
  live: {
    /** live (id INT PK, and watermark columns the database sets on insert) */
    ddl: string[];
    watermarks: { column: string; kind: 'datetime' | 'integer' }[];
  };
  /** a watermark column type, and the shape of its horizon and clock (null: no horizon for it) */
  horizonShapes: [type: string, shape: RegExp | null][];
  /**
   * A function that writes (table audit_log), and what the engine says when a read-only transaction
   * refuses it. Null where the engine has no read-only transaction (SQL Server: a function cannot write,
   * error 443, and the node's login must hold only read rights on sources).
   */
  readOnly: null | {
    ddl: string[];
    error: RegExp;
    /** describeQuery of the query calling it: refused (the message), or its columns where describing does not run the function */
    describeQuery: RegExp | string[];
  };
  /** a session statement making a lock wait give up within about a second */
  lockTimeout: string;
  /** whether an upsert that clashes with a unique key other than the record key overwrites that row (MySQL's ON DUPLICATE KEY) */
  upsertOnAnyUniqueKey: boolean;
  /** the type of dxg_versions.record_key as the catalog describes it */
  recordKeyType: string;
  /** tax_taxpayer (nsrsbh varchar(18) PK, nsrmc varchar(20), zczb decimal(18,4), gxsj timestamp(6)), tax_log (id identity PK, nsrsbh, nsrmc), tax_unique (nsrsbh PK, nsrmc UNIQUE NOT NULL), tax_flagged (nsrsbh PK, nsrmc, deleted boolean), lock_pair (id INT PK, n INT) */
  targets: string[];
  values: { ddl: string[]; columns: ValueColumn[] };
  /** ODD.table with the ODD columns, quoted the engine's way, and ODD_QUERY's text */
  odd: { ddl: string[]; query: string };
}

/** Names that need quoting in every dialect: mixed case, spaces, each dialect's quote character, a `?`. */
export const ODD = {
  table: 'Odd "Tab" `x` [y] ?',
  key: 'Key "K" `k` [k] ?',
  mixed: 'MixedCase',
  spaced: 'two words',
  question: 'what?',
  stamp: 'Stamp At',
};

/** ODD_QUERY's result column names: the key, the watermark and the `what?` column, aliased to names that need quoting too. */
export const ODD_ALIASES = { key: 'id?', stamp: 'at ?', question: 'What "?"' };

export const CATALOG_QUERY = 'SELECT credit_code AS code, updated_at, capital FROM ent_registry';

const text: Sample[] = [
  `it's "quoted", back\\slash \\\\ two, tab\there, new\nline, crlf\r\nend`,
  '😀 emoji, 中文, 漢字, 한국어, ẞ',
  '',
  '\\N',
  'NULL',
  '  leading and trailing spaces  ',
  "? $1 @p1 :1 '; DROP TABLE vals; --",
  '長'.repeat(20000),
];

/** The columns every engine has, with the same samples (DESIGN.md §4). */
const COMMON: ValueColumn[] = [
  { name: 'txt', kind: 'string', samples: text },
  { name: 'i32', kind: 'integer', samples: [2147483647, -2147483648, 0] },
  { name: 'i64', kind: 'integer', samples: ['9223372036854775807', '-9223372036854775808', '9007199254740993', 42] },
  { name: 'amount', kind: 'decimal', samples: ['1234567890123456789012345678.0123456789', '-0.0000000001', '0.0000000000', '42.5000000000'] },
  { name: 'flag', kind: 'boolean', samples: [true, false] },
  { name: 'day', kind: 'date', samples: ['2024-02-29', '1900-01-01', '9999-12-31'] },
  {
    name: 'moment',
    kind: 'datetime',
    samples: [
      '2024-03-01T10:00:00.123456',
      '1999-12-31T23:59:59.999999',
      '2024-03-01T10:00:00.000001',
      // PostgreSQL prints a fraction without its trailing zeros: the same instant
      new SameInstant('2024-03-01T10:00:00.120000', false),
      // a column without a zone keeps the clock time as written, as PostgreSQL does
      new ReadsAs('2024-03-01T02:00:00.123456+08:00', '2024-03-01T02:00:00.123456'),
      new ReadsAs('2024-03-01T02:00:00.654321Z', '2024-03-01T02:00:00.654321'),
    ],
  },
  { name: 'doc', kind: 'json', samples: [{ 经营范围: ['软件', '咨询'], n: 1, deep: { q: 'it\'s "x" \\ \n\t', empty: {} } }, [1, 'two', null, true, 1.5, []]] },
];

const tagged = (json: string, timestamp: string) =>
  [`CREATE TABLE tagged (id INT NOT NULL PRIMARY KEY, updated_at ${timestamp} NOT NULL, name VARCHAR(50), tags ${json} NOT NULL)`];

const postgres: EngineFixture = {
  catalog: {
    ddl: [
      `CREATE TABLE ent_registry (region CHAR(6) NOT NULL, credit_code VARCHAR(18) NOT NULL, ent_name VARCHAR(200), capital NUMERIC(18,4),
        updated_at TIMESTAMP(6) NOT NULL, stamped TIMESTAMPTZ(6), note TEXT, PRIMARY KEY (region, credit_code), CONSTRAINT uq_name UNIQUE (ent_name))`,
      'CREATE UNIQUE INDEX uq_capital ON ent_registry (capital) WHERE capital IS NOT NULL',
      'CREATE UNIQUE INDEX uq_note ON ent_registry (lower(note))',
      'CREATE INDEX by_time ON ent_registry (updated_at)',
      'CREATE SCHEMA tax',
      'CREATE TABLE tax.payer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY)',
    ],
    columns: [
      { name: 'region', type: 'character(6)', nullable: false, zoned: false },
      { name: 'credit_code', type: 'character varying(18)', nullable: false, zoned: false },
      { name: 'ent_name', type: 'character varying(200)', nullable: true, zoned: false },
      { name: 'capital', type: 'numeric(18,4)', nullable: true, zoned: false },
      { name: 'updated_at', type: 'timestamp(6) without time zone', nullable: false, zoned: false },
      { name: 'stamped', type: 'timestamp(6) with time zone', nullable: true, zoned: true },
      { name: 'note', type: 'text', nullable: true, zoned: false },
    ],
    lookups: () => [
      ['ent_registry', 7], ['public.ent_registry', 7], ['tax.payer', 1],
      ['payer', null], ['ENT_REGISTRY', null], ['no_such_table', null], ['nosuch.ent_registry', null],
    ],
    queryColumns: [['code', 'character varying(18)'], ['updated_at', 'timestamp(6) without time zone'], ['capital', 'numeric(18,4)']],
    badQueries: [['SELECT nope FROM ent_registry', /column "nope" does not exist/], ['SELECT region FROM no_such_table', /relation "no_such_table" does not exist/]],
  },
  src: ['CREATE TABLE src (id INT NOT NULL PRIMARY KEY, updated_at TIMESTAMP(6) NOT NULL, name VARCHAR(50), capital NUMERIC(18,2))', 'CREATE INDEX src_change ON src (updated_at, id)'],
  tagged: tagged('JSONB', 'TIMESTAMP(6)'),
  questionQueries: [
    { query: "SELECT id, updated_at, name FROM tagged WHERE tags ? 'x'", columns: ['id', 'updated_at', 'name'], ids: [1, 3] },
    { query: "SELECT id, updated_at, name FROM tagged WHERE tags ?| array['y', 'z']", columns: ['id', 'updated_at', 'name'], ids: [2, 3] },
    { query: `SELECT id, updated_at, name AS "name?" FROM tagged WHERE name LIKE '%?%' AND NOT tags ?& array['x', 'z']`, columns: ['id', 'updated_at', 'name?'], ids: [1, 2] },
  ],
  live: {
    ddl: ['CREATE TABLE live (id INT NOT NULL PRIMARY KEY, updated_at TIMESTAMP(6) NOT NULL DEFAULT now(), stamped TIMESTAMPTZ(6) NOT NULL DEFAULT now())'],
    watermarks: [{ column: 'updated_at', kind: 'datetime' }, { column: 'stamped', kind: 'datetime' }],
  },
  horizonShapes: [
    ['date', /^\d{4}-\d{2}-\d{2}$/],
    ['timestamp(0) without time zone', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/],
    // PostgreSQL prints fractions without trailing zeros
    ['timestamp(3) without time zone', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?$/],
    ['timestamp(6) without time zone', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/],
    ['timestamp(6) with time zone', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$/],
    ['integer', null],
    ['bigint', null],
  ],
  readOnly: {
    ddl: [
      'CREATE TABLE audit_log (n INTEGER)',
      'CREATE FUNCTION sneaky() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit_log VALUES (1); RETURN 1; END $$',
    ],
    error: /cannot execute INSERT in a read-only transaction/,
    // describing runs the query with LIMIT 0, which never calls the function
    describeQuery: ['id', 'updated_at', 'name', 's'],
  },
  lockTimeout: "SET lock_timeout = '500ms'",
  upsertOnAnyUniqueKey: false,
  recordKeyType: 'character varying(256)',
  targets: [
    'CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20), zczb NUMERIC(18,4), gxsj TIMESTAMP(6))',
    'CREATE TABLE tax_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, nsrsbh VARCHAR(18) NOT NULL, nsrmc VARCHAR(20))',
    'CREATE TABLE tax_unique (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20) NOT NULL UNIQUE)',
    'CREATE TABLE tax_flagged (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20), deleted BOOLEAN NOT NULL DEFAULT false)',
    'CREATE TABLE lock_pair (id INT NOT NULL PRIMARY KEY, n INT NOT NULL)',
  ],
  values: {
    ddl: [`CREATE TABLE vals (k VARCHAR(40) NOT NULL PRIMARY KEY, stamp TIMESTAMP(6) NOT NULL, txt TEXT, i32 INTEGER, i64 BIGINT, amount NUMERIC(38,10),
      flag BOOLEAN, day DATE, moment TIMESTAMP(6), moment_tz TIMESTAMPTZ(6), doc JSONB)`],
    columns: [
      ...COMMON,
      {
        name: 'moment_tz',
        kind: 'datetime',
        // the instant is kept, shown in the session's zone
        samples: [
          new SameInstant('2024-03-01T10:00:00.654321+08:00', true),
          new SameInstant('2024-03-01T02:00:00.654321Z', true),
          new SameInstant('1999-12-31T23:59:59.999999-05:30', true),
        ],
      },
    ],
  },
  odd: {
    ddl: ['CREATE TABLE "Odd ""Tab"" `x` [y] ?" ("Key ""K"" `k` [k] ?" VARCHAR(20) NOT NULL PRIMARY KEY, "MixedCase" TEXT, "two words" INTEGER, "what?" TEXT, "Stamp At" TIMESTAMP(6) NOT NULL)'],
    query: 'SELECT "Key ""K"" `k` [k] ?" AS "id?", "Stamp At" AS "at ?", "what?" AS "What ""?""" FROM "Odd ""Tab"" `x` [y] ?"',
  },
};

const mysql: EngineFixture = {
  catalog: {
    ddl: [
      `CREATE TABLE ent_registry (region CHAR(6) NOT NULL, credit_code VARCHAR(18) NOT NULL, ent_name VARCHAR(200), capital DECIMAL(18,4),
        updated_at DATETIME(6) NOT NULL, stamped TIMESTAMP(6) NULL, note TEXT,
        PRIMARY KEY (region, credit_code), UNIQUE KEY uq_name (ent_name), UNIQUE KEY uq_note (note(20)), KEY by_time (updated_at))`,
      'CREATE TABLE payer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY)',
    ],
    columns: [
      { name: 'region', type: 'char(6)', nullable: false, zoned: false },
      { name: 'credit_code', type: 'varchar(18)', nullable: false, zoned: false },
      { name: 'ent_name', type: 'varchar(200)', nullable: true, zoned: false },
      { name: 'capital', type: 'decimal(18,4)', nullable: true, zoned: false },
      { name: 'updated_at', type: 'datetime(6)', nullable: false, zoned: false },
      // TIMESTAMP is stored as an instant but reads as the session's wall time, without an offset
      { name: 'stamped', type: 'timestamp(6)', nullable: true, zoned: false },
      { name: 'note', type: 'text', nullable: true, zoned: false },
    ],
    lookups: (database) => [
      ['ent_registry', 7], [`${database}.ent_registry`, 7], [`${database}.payer`, 1],
      ['ENT_REGISTRY', null], ['no_such_table', null], ['nosuch.ent_registry', null],
    ],
    queryColumns: [['code', 'var_string'], ['updated_at', 'datetime(6)'], ['capital', 'newdecimal']],
    badQueries: [['SELECT nope FROM ent_registry', /Unknown column 'nope'/], ['SELECT region FROM no_such_table', /no_such_table' doesn't exist/]],
  },
  src: ['CREATE TABLE src (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, name VARCHAR(50), capital DECIMAL(18,2), KEY src_change (updated_at, id))'],
  tagged: tagged('JSON', 'DATETIME(6)'),
  questionQueries: [
    { query: "SELECT id, updated_at, name AS `name?` FROM tagged WHERE name LIKE '%?%'", columns: ['id', 'updated_at', 'name?'], ids: [1, 2] },
    { query: `SELECT id, updated_at, name FROM tagged WHERE JSON_CONTAINS(tags, '"x"') AND '?' = '?'`, columns: ['id', 'updated_at', 'name'], ids: [1, 3] },
  ],
  live: {
    ddl: ['CREATE TABLE live (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), stamped TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))'],
    watermarks: [{ column: 'updated_at', kind: 'datetime' }, { column: 'stamped', kind: 'datetime' }],
  },
  horizonShapes: [
    ['date', /^\d{4}-\d{2}-\d{2}$/],
    ['datetime', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/],
    ['timestamp(3)', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/],
    ['datetime(6)', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/],
    ['int(11)', null],
    ['bigint(20)', null],
  ],
  readOnly: {
    ddl: [
      'CREATE TABLE audit_log (n INT) ENGINE=InnoDB',
      'CREATE FUNCTION sneaky() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO audit_log VALUES (1); RETURN 1; END',
    ],
    error: /Cannot execute statement in a READ ONLY transaction/,
    describeQuery: /Cannot execute statement in a READ ONLY transaction/,
  },
  lockTimeout: 'SET SESSION innodb_lock_wait_timeout = 1',
  // ON DUPLICATE KEY UPDATE fires on whichever unique key clashes
  upsertOnAnyUniqueKey: true,
  recordKeyType: 'varchar(256)',
  targets: [
    'CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20), zczb DECIMAL(18,4), gxsj DATETIME(6))',
    'CREATE TABLE tax_log (id BIGINT AUTO_INCREMENT PRIMARY KEY, nsrsbh VARCHAR(18) NOT NULL, nsrmc VARCHAR(20))',
    'CREATE TABLE tax_unique (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20) NOT NULL UNIQUE)',
    'CREATE TABLE tax_flagged (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc VARCHAR(20), deleted TINYINT(1) NOT NULL DEFAULT 0)',
    'CREATE TABLE lock_pair (id INT NOT NULL PRIMARY KEY, n INT NOT NULL)',
  ],
  values: {
    ddl: [`CREATE TABLE vals (k VARCHAR(40) NOT NULL PRIMARY KEY, stamp DATETIME(6) NOT NULL, txt LONGTEXT, i32 INT, i64 BIGINT, amount DECIMAL(38,10),
      flag TINYINT(1), day DATE, moment DATETIME(6), moment_tz TIMESTAMP(6) NULL, doc JSON)`],
    columns: [
      ...COMMON,
      // no zoned type: TIMESTAMP keeps the instant, and reads as the session's wall time
      { name: 'moment_tz', kind: 'datetime', samples: ['2024-03-01T10:00:00.654321', '2037-12-31T23:59:59.999999', new ReadsAs('2024-03-01T02:00:00.123456+08:00', '2024-03-01T02:00:00.123456')] },
    ],
  },
  odd: {
    ddl: ['CREATE TABLE `Odd "Tab" ``x`` [y] ?` (`Key "K" ``k`` [k] ?` VARCHAR(20) NOT NULL PRIMARY KEY, `MixedCase` TEXT, `two words` INT, `what?` TEXT, `Stamp At` DATETIME(6) NOT NULL)'],
    query: 'SELECT `Key "K" ``k`` [k] ?` AS `id?`, `Stamp At` AS `at ?`, `what?` AS `What "?"` FROM `Odd "Tab" ``x`` [y] ?`',
  },
};

/** Written from the SQL Server documentation and the previous SQL Server integration file; run where DXG_TEST_MSSQL_URL names a server. */
const mssql: EngineFixture = {
  catalog: {
    ddl: [
      `CREATE TABLE ent_registry (region CHAR(6) NOT NULL, credit_code VARCHAR(18) NOT NULL, ent_name NVARCHAR(200), capital DECIMAL(18,4),
        updated_at DATETIME2(6) NOT NULL, stamped DATETIMEOFFSET(6), note NVARCHAR(MAX), rv ROWVERSION NOT NULL,
        CONSTRAINT pk_ent PRIMARY KEY (region, credit_code), CONSTRAINT uq_name UNIQUE (ent_name))`,
      'CREATE UNIQUE INDEX uq_capital ON ent_registry (capital) WHERE capital IS NOT NULL',
      'CREATE INDEX by_time ON ent_registry (updated_at)',
      'CREATE SCHEMA tax',
      'CREATE TABLE tax.payer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY)',
    ],
    columns: [
      { name: 'region', type: 'char(6)', nullable: false, zoned: false },
      { name: 'credit_code', type: 'varchar(18)', nullable: false, zoned: false },
      { name: 'ent_name', type: 'nvarchar(200)', nullable: true, zoned: false },
      { name: 'capital', type: 'decimal(18,4)', nullable: true, zoned: false },
      { name: 'updated_at', type: 'datetime2(6)', nullable: false, zoned: false },
      { name: 'stamped', type: 'datetimeoffset(6)', nullable: true, zoned: true },
      { name: 'note', type: 'nvarchar(max)', nullable: true, zoned: false },
      // rowversion: the catalog's name for it is timestamp
      { name: 'rv', type: 'timestamp', nullable: false, zoned: false },
    ],
    lookups: () => [
      ['ent_registry', 8], ['dbo.ent_registry', 8], ['tax.payer', 1],
      ['payer', null], ['no_such_table', null], ['nosuch.ent_registry', null],
    ],
    queryColumns: [['code', 'varchar(18)'], ['updated_at', 'datetime2(6)'], ['capital', 'decimal(18,4)']],
    badQueries: [['SELECT nope FROM ent_registry', /nope/], ['SELECT region FROM ent_registry ORDER BY region', /ORDER BY/]],
  },
  src: ['CREATE TABLE src (id INT NOT NULL PRIMARY KEY, updated_at DATETIME2(6) NOT NULL, name NVARCHAR(50), capital DECIMAL(18,2), INDEX src_change (updated_at, id))'],
  tagged: tagged('NVARCHAR(MAX)', 'DATETIME2(6)'),
  questionQueries: [
    { query: "SELECT id, updated_at, name AS [name?] FROM tagged WHERE name LIKE N'%?%'", columns: ['id', 'updated_at', 'name?'], ids: [1, 2] },
    { query: "SELECT id, updated_at, name FROM tagged WHERE EXISTS (SELECT 1 FROM OPENJSON(tags) WHERE value = N'x') AND N'?' = N'?'", columns: ['id', 'updated_at', 'name'], ids: [1, 3] },
  ],
  live: {
    ddl: ['CREATE TABLE live (id INT NOT NULL PRIMARY KEY, updated_at DATETIME2(6) NOT NULL DEFAULT SYSDATETIME(), stamped DATETIMEOFFSET(6) NOT NULL DEFAULT SYSDATETIMEOFFSET(), rv ROWVERSION)'],
    // a rowversion's horizon is MIN_ACTIVE_ROWVERSION(), never @@DBTS: the row committed after the open one started must wait too
    watermarks: [{ column: 'updated_at', kind: 'datetime' }, { column: 'stamped', kind: 'datetime' }, { column: 'rv', kind: 'integer' }],
  },
  horizonShapes: [
    ['date', /^\d{4}-\d{2}-\d{2}$/],
    ['datetime', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/],
    ['datetime2(6)', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/],
    ['datetimeoffset(7)', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}[+-]\d{2}:\d{2}$/],
    ['int', null],
    ['bigint', null],
  ],
  readOnly: null,
  lockTimeout: 'SET LOCK_TIMEOUT 500',
  upsertOnAnyUniqueKey: false,
  recordKeyType: 'nvarchar(256)',
  targets: [
    'CREATE TABLE tax_taxpayer (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc NVARCHAR(20), zczb DECIMAL(18,4), gxsj DATETIME2(6))',
    'CREATE TABLE tax_log (id BIGINT IDENTITY PRIMARY KEY, nsrsbh VARCHAR(18) NOT NULL, nsrmc NVARCHAR(20))',
    'CREATE TABLE tax_unique (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc NVARCHAR(20) NOT NULL UNIQUE)',
    'CREATE TABLE tax_flagged (nsrsbh VARCHAR(18) NOT NULL PRIMARY KEY, nsrmc NVARCHAR(20), deleted BIT NOT NULL DEFAULT 0)',
    'CREATE TABLE lock_pair (id INT NOT NULL PRIMARY KEY, n INT NOT NULL)',
  ],
  values: {
    ddl: [`CREATE TABLE vals (k VARCHAR(40) NOT NULL PRIMARY KEY, stamp DATETIME2(6) NOT NULL, txt NVARCHAR(MAX), i32 INT, i64 BIGINT, amount DECIMAL(38,10),
      flag BIT, day DATE, moment DATETIME2(6), moment_tz DATETIMEOFFSET(6), legacy DATETIME, doc NVARCHAR(MAX))`],
    columns: [
      ...COMMON,
      { name: 'moment_tz', kind: 'datetime', samples: ['2024-03-01T10:00:00.654321+08:00', '1999-12-31T23:59:59.999999-05:30'] },
      // datetime: 1/300 s steps, three digits
      { name: 'legacy', kind: 'datetime', samples: ['2024-03-01T10:00:00.123', new ReadsAs('2024-03-01T02:00:00.1234567Z', '2024-03-01T02:00:00.123')] },
    ],
  },
  odd: {
    ddl: ['CREATE TABLE [Odd "Tab" `x` [y]] ?] ([Key "K" `k` [k]] ?] VARCHAR(20) NOT NULL PRIMARY KEY, [MixedCase] NVARCHAR(MAX), [two words] INT, [what?] NVARCHAR(MAX), [Stamp At] DATETIME2(6) NOT NULL)'],
    query: 'SELECT [Key "K" `k` [k]] ?] AS [id?], [Stamp At] AS [at ?], [what?] AS [What "?"] FROM [Odd "Tab" `x` [y]] ?]',
  },
};

export const FIXTURES: Record<Driver, EngineFixture> = { postgres, mysql, mssql };
