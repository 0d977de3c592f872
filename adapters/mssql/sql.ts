import type { SqlDialect } from '../adapter';
import { hasCode } from '../shared/errors';
import { numbered, quoteName, Sql, sql } from '../sql';
import { valueCheck } from './values';

export const quote = (identifier: string): string => `[${identifier.replace(/]/g, ']]')}]`;

/** A table as a flow names it: `schema.table`, or `table` in dbo. */
export const tableName = (name: string): string => (name.includes('.') ? quoteName(quote, name) : `${quote('dbo')}.${quote(name)}`);

const literal = (text: string): string => `N'${text.replace(/'/g, "''")}'`;

/**
 * A binary collation for the bookkeeping keys: the database default is usually case- and
 * accent-insensitive (Chinese_PRC_CI_AS, SQL_Latin1_General_CP1_CI_AS), which would make record keys
 * `Abc` and `abc` one row in dxg_versions.
 */
const EXACT = 'COLLATE Latin1_General_100_BIN2';

const errorNumber = (err: unknown): unknown => (err as { number?: unknown } | null)?.number;

const UNIQUE = new Set([2627, 2601]); // PRIMARY KEY or UNIQUE constraint, unique index

const DATA_ERRORS = new Set([
  8152, 2628, // string or binary data would be truncated
  515, // NULL into a NOT NULL column
  245, 8114, 8115, 220, 232, 244, 248, 241, 242, 295, 296, 8169, // conversion failed, arithmetic overflow, date out of range
  547, // FOREIGN KEY or CHECK constraint
  ...UNIQUE,
  8672, // MERGE met one target row twice: keys distinct as text but equal in the column's collation
]);

export const mssqlSql: SqlDialect = {
  renderer: numbered(quote, (n) => `@p${n}`),
  types: {
    text: 'NVARCHAR(MAX)',
    blob: 'VARBINARY(MAX)',
    bigint: 'BIGINT',
    int: 'INT',
    bool: 'BIT',
    key: (length) => `NVARCHAR(${length}) ${EXACT}`,
    serial: 'BIGINT IDENTITY(1,1)',
  },
  createTable: (name, columns, indexes) => [
    sql.raw(`IF OBJECT_ID(${literal(quote(name))}, N'U') IS NULL CREATE TABLE ${quote(name)} (${columns})`),
    ...indexes.map((i) => sql.raw(`IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = ${literal(i.name)} AND object_id = OBJECT_ID(${literal(quote(name))}))`
      + ` CREATE INDEX ${quote(i.name)} ON ${quote(name)} (${i.columns.map(quote).join(', ')})`)),
  ],
  limit,
  forUpdate,
  upsertOnAnyUniqueKey: false,
  analyze: (table) => sql`UPDATE STATISTICS ${sql.id(table)}`,
  isUniqueViolation: (err) => UNIQUE.has(errorNumber(err) as number),
  // deadlocks (1205), lock timeouts (1222) and lost connections carry other numbers, or none
  isDataError: (err) => DATA_ERRORS.has(errorNumber(err) as number),
  // deadlock victim, lock request timeout
  isConflict: (err) => hasCode(err, 'number', new Set([1205, 1222])),
  valueCheck,
  watermarkHint: ', or a rowversion',
};

/** `SELECT … [ORDER BY …]` → `SELECT TOP (n) …`: TOP takes the first n rows in the ORDER BY's order. */
export function limit(select: Sql, n: number): Sql {
  const [first, ...rest] = select.parts;
  const head = first?.kind === 'text' ? /^\s*SELECT\s+(DISTINCT\s+)?/i.exec(first.text) : null;
  if (!head || first.kind !== 'text') throw new Error('limit() needs a statement that starts with SELECT');
  return new Sql([{ kind: 'text', text: `SELECT ${head[1] ? 'DISTINCT ' : ''}TOP (${Math.floor(n)}) ${first.text.slice(head[0].length)}` }, ...rest]);
}

/**
 * SQL Server locks through a table hint after the table's name: UPDLOCK keeps the row locked against
 * other writers until the transaction ends, ROWLOCK keeps the lock to that row.
 */
export function forUpdate(select: Sql, table: string): Sql {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const from = new RegExp(`\\bFROM\\s+(?:${escape(table)}|${escape(quote(table))})(?=\\s|$)`, 'i');
  const at = select.parts.findIndex((p) => p.kind === 'text' && from.test(p.text));
  if (at < 0) throw new Error(`forUpdate() needs a SELECT reading FROM ${table}`);
  return new Sql(select.parts.map((p, i) => (i === at && p.kind === 'text' ? { kind: 'text', text: p.text.replace(from, (m) => `${m} WITH (UPDLOCK, ROWLOCK)`) } : p)));
}
