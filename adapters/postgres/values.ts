import { types } from 'pg';
import { decimalCheck, fractionCheck, type ValueCheck } from '../shared/exact';

/**
 * pg turns dates into JS Dates (losing microseconds and shifting time zones) and 64-bit integers
 * into strings inconsistently; the gateway wants exact text for all of them.
 */
const RAW = new Set([
  1082, // date
  1083, // time
  1114, // timestamp
  1184, // timestamptz
  1266, // timetz
  1700, // numeric
  20, // int8
  1182, 1115, 1185, 1231, 1016, // arrays of the above
]);

const TIMESTAMP_TZ = 1184;
const TIMESTAMP = 1114;

export const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP || oid === TIMESTAMP_TZ) return isoTimestamp;
    if (RAW.has(oid)) return (v: string) => v;
    return types.getTypeParser(oid, format);
  },
} as unknown as typeof types;

/** `2024-03-01 10:00:00.123456+08` → `2024-03-01T10:00:00.123456+08:00` (precision kept as stored). */
export function isoTimestamp(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2} /.test(v)) return v; // infinity, BC dates: as stored
  return v.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00').replace(/([+-]\d{2}):?(\d{2}):(\d{2})$/, '$1:$2');
}

/** What a value must satisfy to be stored unchanged in a column of this type (see shared/exact). */
export function valueCheck(type: string): ValueCheck | null {
  const decimal = /^numeric\((\d+),(\d+)\)/.exec(type);
  if (decimal) return decimalCheck(Number(decimal[1]), Number(decimal[2]), type);
  const time = /^(?:timestamp|time)(?:\((\d)\))?/.exec(type);
  if (time) return fractionCheck(time[1] ? Number(time[1]) : 6, type);
  return null;
}
