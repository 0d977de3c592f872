import type { SqlDialect } from '../adapter';
import { hasCode } from '../shared/errors';
import { numbered, sql } from '../sql';
import { valueCheck } from './values';

export const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

export const postgresSql: SqlDialect = {
  renderer: numbered(quote, (n) => `$${n}`),
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
    sql`CREATE TABLE IF NOT EXISTS ${sql.id(name)} (${sql.raw(columns)})`,
    ...indexes.map((i) => sql`CREATE INDEX IF NOT EXISTS ${sql.id(i.name)} ON ${sql.id(name)} (${sql.ids(i.columns)})`),
  ],
  limit: (select, n) => sql`${select} LIMIT ${sql.raw(String(Math.floor(n)))}`,
  forUpdate: (select) => sql`${select} FOR UPDATE`,
  upsertOnAnyUniqueKey: false,
  analyze: (table) => sql`ANALYZE ${sql.id(table)}`,
  isUniqueViolation: (err) => (err as { code?: string })?.code === '23505',
  // SQLSTATE class 22 data exception, 23 integrity constraint violation, 42804 datatype mismatch
  isDataError: (err) => /^(22|23)...$|^42804$/.test((err as { code?: string })?.code ?? ''),
  // deadlock detected, serialization failure, lock not available
  isConflict: (err) => hasCode(err, 'code', CONFLICTS),
  valueCheck,
  watermarkHint: '',
};

const CONFLICTS = new Set(['40P01', '40001', '55P03']);
