import type { SqlDialect } from '../adapter';
import { hasCode } from '../shared/errors';

export const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

export const postgresSql: SqlDialect = {
  quote,
  types: {
    text: 'text',
    blob: 'bytea',
    bigint: 'bigint',
    int: 'integer',
    bool: 'boolean',
    key: (length) => `varchar(${length})`,
    serial: 'bigint generated always as identity',
  },
  createTable: (name, columns, indexes) => [
    `CREATE TABLE IF NOT EXISTS ${quote(name)} (${columns})`,
    ...indexes.map((i) => `CREATE INDEX IF NOT EXISTS ${quote(i.name)} ON ${quote(name)} (${i.columns.map(quote).join(', ')})`),
  ],
  limit: (select, n) => `${select} LIMIT ${Math.floor(n)}`,
  forUpdate: (select) => `${select} FOR UPDATE`,
  upsertOnAnyUniqueKey: false,
  analyze: (table) => `ANALYZE ${quote(table)}`,
  isUniqueViolation: (err) => (err as { code?: string })?.code === '23505',
  // SQLSTATE class 22 data exception, 23 integrity constraint violation, 42804 datatype mismatch
  isDataError: (err) => /^(22|23)...$|^42804$/.test((err as { code?: string })?.code ?? ''),
  // deadlock detected, serialization failure, lock not available
  isConflict: (err) => hasCode(err, 'code', CONFLICTS),
};

const CONFLICTS = new Set(['40P01', '40001', '55P03']);
