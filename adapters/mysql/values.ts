import type { TypeCast } from 'mysql2/promise';
import { decimalCheck, fractionCheck, type ValueCheck } from '../shared/exact';
import type { TargetColumn } from '../adapter';

/**
 * DATETIME and TIMESTAMP arrive as the server's own text (`dateStrings`), fraction exactly as stored;
 * the gateway wants ISO 8601 with a `T`. Neither carries an offset: both are wall time in the
 * session's zone. DATE stays `YYYY-MM-DD`, DECIMAL and BIGINT stay exact strings (pool options).
 */
export const typeCast: TypeCast = (field, next) => {
  if (field.type !== 'DATETIME' && field.type !== 'TIMESTAMP') return next();
  const text = field.string();
  return text && /^\d{4}-\d{2}-\d{2} /.test(text) ? text.replace(' ', 'T') : text;
};

/** A wire value as MySQL stores it in this column. */
export function toColumnValue(column: TargetColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object') return JSON.stringify(value);
  // MariaDB refuses offsets; like PostgreSQL writing into a column without a zone, keep the clock time
  if (typeof value === 'string' && column.kind === 'datetime') return value.replace(OFFSET, '');
  return value;
}

const OFFSET = /(?<=\d)(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/** What a value must satisfy to be stored unchanged in a column of this type (see shared/exact). */
export function valueCheck(type: string): ValueCheck | null {
  const decimal = /^(?:decimal|numeric)\((\d+),(\d+)\)/i.exec(type);
  if (decimal) return decimalCheck(Number(decimal[1]), Number(decimal[2]), type);
  const time = /^(?:datetime|timestamp|time)(?:\((\d)\))?/i.exec(type);
  if (time) return fractionCheck(time[1] ? Number(time[1]) : 0, type);
  return null;
}
