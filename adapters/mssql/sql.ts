import type { SqlDialect } from '../adapter';
import { quoteName } from '../shared/keyset';
import { hasCode } from '../shared/errors';

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
  quote,
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
    `IF OBJECT_ID(${literal(quote(name))}, N'U') IS NULL CREATE TABLE ${quote(name)} (${columns})`,
    ...indexes.map((i) => `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = ${literal(i.name)} AND object_id = OBJECT_ID(${literal(quote(name))}))`
      + ` CREATE INDEX ${quote(i.name)} ON ${quote(name)} (${i.columns.map(quote).join(', ')})`),
  ],
  limit,
  forUpdate,
  upsertOnAnyUniqueKey: false,
  analyze: (table) => `UPDATE STATISTICS ${quote(table)}`,
  isUniqueViolation: (err) => UNIQUE.has(errorNumber(err) as number),
  // deadlocks (1205), lock timeouts (1222) and lost connections carry other numbers, or none
  isDataError: (err) => DATA_ERRORS.has(errorNumber(err) as number),
  // deadlock victim, lock request timeout
  isConflict: (err) => hasCode(err, 'number', new Set([1205, 1222])),
};

/** `SELECT … [ORDER BY …]` → `SELECT TOP (n) …`: TOP takes the first n rows in the ORDER BY's order. */
export function limit(select: string, n: number): string {
  const head = /^\s*SELECT\s+(DISTINCT\s+)?/i.exec(select);
  if (!head) throw new Error(`limit() needs a SELECT statement: ${select}`);
  return `SELECT ${head[1] ? 'DISTINCT ' : ''}TOP (${Math.floor(n)}) ${select.slice(head[0].length)}`;
}

/**
 * SQL Server locks through a table hint after the table's name: UPDLOCK keeps the row locked against
 * other writers until the transaction ends, ROWLOCK keeps the lock to that row.
 */
export function forUpdate(select: string, table: string): string {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const from = new RegExp(`\\bFROM\\s+(?:${escape(table)}|${escape(quote(table))})(?=\\s|$)`, 'i');
  if (!from.test(select)) throw new Error(`forUpdate() needs a SELECT reading FROM ${table}: ${select}`);
  return select.replace(from, (m) => `${m} WITH (UPDLOCK, ROWLOCK)`);
}
