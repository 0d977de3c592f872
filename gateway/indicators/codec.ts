/**
 * How an indicator's values travel, derived from its JSON Schema: the adapters hand over database
 * values in a few canonical shapes (exact strings for decimals, dates and timestamps), and this module
 * turns them into the JSON type the indicator set declares.
 */
import { digits } from './formats';

export type Kind = 'string' | 'integer' | 'number' | 'decimal' | 'boolean' | 'date' | 'datetime' | 'time' | 'json' | 'any';

export type WireValue = string | number | boolean | null | WireValue[] | { [k: string]: WireValue };

interface PropertySchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
}

export function kindOf(schema: PropertySchema | undefined): Kind {
  if (!schema || typeof schema !== 'object') return 'any';
  const types = [schema.type ?? []].flat().filter((t) => t !== 'null');
  const format = schema.format;
  if (types.includes('string') || types.length === 0) {
    if (format === 'date') return 'date';
    if (format === 'date-time') return 'datetime';
    if (format === 'time') return 'time';
    if (format === 'decimal') return 'decimal';
  }
  if (types.length === 0) return schema.enum || schema.const !== undefined ? 'string' : 'any';
  if (types.includes('string')) return 'string';
  if (types.includes('integer')) return 'integer';
  if (types.includes('number')) return 'number';
  if (types.includes('boolean')) return 'boolean';
  if (types.includes('object') || types.includes('array')) return 'json';
  return 'any';
}

/** Database value (as the adapters deliver it) → the value that travels, typed as the indicator declares. */
export function toWire(kind: Kind, value: unknown): WireValue {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'integer':
      if (typeof value === 'string' && /^-?\d+$/.test(value)) {
        const n = Number(value);
        return Number.isSafeInteger(n) ? n : value;
      }
      if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
      if (typeof value === 'boolean') return value ? 1 : 0;
      return value as WireValue;
    case 'number':
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      if (typeof value === 'bigint') return Number(value);
      return value as WireValue;
    case 'decimal':
      return typeof value === 'number' || typeof value === 'bigint' ? String(value) : (value as WireValue);
    case 'boolean':
      if (value === 1 || value === '1' || value === 't' || value === 'true') return true;
      if (value === 0 || value === '0' || value === 'f' || value === 'false') return false;
      return value as WireValue;
    case 'date': {
      // a date, or a timestamp at midnight; anything else travels as it is and the indicator set's
      // format refuses it: a time of day is not dropped, and a BC date (`0044-03-15 BC`) does not become AD
      const day = typeof value === 'string' ? MIDNIGHT.exec(value) : null;
      return day ? day[1] : (value as WireValue);
    }
    case 'string':
      return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : (value as WireValue);
    case 'json':
      if (typeof value === 'string') {
        try {
          return JSON.parse(value) as WireValue;
        } catch {
          return value;
        }
      }
      return value as WireValue;
    default:
      return value as WireValue;
  }
}

const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})(?:[Tt ]00:00:00(?:\.0+)?)?$/;

/** Kinds a watermark may have: values the database sets on every write, ordered. */
export const WATERMARK_KINDS: readonly Kind[] = ['datetime', 'date', 'integer'];

/** The common shape, read without allocating: `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]`, no offset. */
const PLAIN_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;

function plainMicros(v: string): bigint {
  const ms = Date.UTC(digits(v, 0, 4), digits(v, 5, 2) - 1, digits(v, 8, 2), digits(v, 11, 2), digits(v, 14, 2), digits(v, 17, 2));
  const fraction = v.length > 20 ? digits(v, 20, v.length - 20) * 10 ** (26 - v.length) : 0;
  return BigInt(ms) * 1000n + BigInt(fraction);
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * A record's version: its watermark as an integer that orders exactly (microseconds since the epoch
 * for timestamps, days for dates). Timestamps without an offset are ordered as written.
 */
export function versionOf(kind: Kind, value: unknown): bigint {
  if (kind === 'integer') return BigInt(value as string | number);
  if (typeof value === 'string' && PLAIN_TIMESTAMP.test(value)) return plainMicros(value);
  const m = TIMESTAMP.exec(String(value));
  if (!m) throw new Error(`watermark value ${String(value)} is not a ${kind}`);
  const seconds = BigInt(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)) / 1000);
  let micros = seconds * 1_000_000n + BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  if (m[9]) {
    const offset = BigInt((Number(m[10]) * 60 + Number(m[11])) * 60) * 1_000_000n;
    micros = m[9] === '+' ? micros - offset : micros + offset;
  }
  return micros;
}
