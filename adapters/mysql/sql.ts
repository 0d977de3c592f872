import { escape } from 'mysql2/promise';
import type { SqlDialect } from '../adapter';
import { hasCode } from '../shared/errors';
import { sql } from '../sql';
import { valueCheck } from './values';

export const quote = (identifier: string): string => `\`${identifier.replace(/`/g, '``')}\``;

/**
 * Errors a statement raises because of the data in it. Everything else (lost connections,
 * deadlocks 1213, lock wait timeouts 1205, syntax) is worth retrying or is a bug, never a reject.
 */
const DATA_ERRORS = new Set([
  1048, // column cannot be null
  1062, // duplicate entry
  1216, 1217, 1451, 1452, // foreign key: no parent row / row still referenced
  1263, // NULL supplied to a NOT NULL column (multi-row insert)
  1264, // out of range
  1265, // data truncated
  1292, // incorrect date/time value
  1300, // invalid character string
  1364, // no value for a column without default (a NOT NULL violation in other engines)
  1365, // division by zero
  1366, // incorrect value for column
  1367, // illegal value for type
  1406, // data too long
  1411, // incorrect value for function
  1416, // cannot create geometry
  1526, // no partition for the value
  1690, // value out of range in an expression
  3140, // invalid JSON (MySQL)
  3819, // check constraint (MySQL)
  4025, // check constraint (MariaDB)
]);

const errno = (err: unknown): number | undefined => (err as { errno?: number } | null)?.errno;

export const mysqlSql: SqlDialect = {
  // mysql2 binds `?` by scanning the text: values go in as escaped literals instead (the session never has NO_BACKSLASH_ESCAPES)
  renderer: { quote, bind: (value) => escape(value as Parameters<typeof escape>[0]) },
  types: {
    text: 'LONGTEXT',
    blob: 'LONGBLOB',
    bigint: 'BIGINT',
    int: 'INT',
    bool: 'TINYINT(1)',
    // bookkeeping keys (record keys, message ids) match byte for byte, not by a case- or accent-blind collation
    key: (length) => `VARCHAR(${length}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    serial: 'BIGINT AUTO_INCREMENT',
  },
  // indexes inline: MySQL has no CREATE INDEX IF NOT EXISTS
  createTable: (name, columns, indexes) => [
    sql`CREATE TABLE IF NOT EXISTS ${sql.id(name)} (${sql.join([sql.raw(columns), ...indexes.map((i) => sql`INDEX ${sql.id(i.name)} (${sql.ids(i.columns)})`)])})
     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  limit: (select, n) => sql`${select} LIMIT ${sql.raw(String(Math.floor(n)))}`,
  forUpdate: (select) => sql`${select} FOR UPDATE`,
  upsertOnAnyUniqueKey: true,
  analyze: () => null,
  isUniqueViolation: (err) => errno(err) === 1062,
  isDataError: (err) => DATA_ERRORS.has(errno(err) ?? 0),
  // deadlock, lock wait timeout (also when wrapped: a deadlock inside a savepoint ends the transaction)
  isConflict: (err) => hasCode(err, 'errno', new Set([1213, 1205])),
  valueCheck,
  watermarkHint: '',
};
