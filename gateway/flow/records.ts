import { createHash } from 'node:crypto';
import type { FlowTarget } from '../config/model';
import type { WireValue } from '../indicators/codec';

/** A record as it travels: indicator values, its key and its version. A delete carries only its key indicators. */
export interface WireRecord {
  key: string;
  /** decimal text of the version (watermark as an ordered integer) */
  version: string;
  op: 'upsert' | 'delete';
  data: Record<string, WireValue>;
}

/** The body of a `records` envelope. */
export interface RecordsPayload {
  records: WireRecord[];
}

const MAX_KEY = 256;

/** A soft-delete indicator's values that mean "deleted". */
export function isDeleted(value: unknown): boolean {
  return value === true || value === 1 || (typeof value === 'string' && ['1', 'y', 'Y', 'true', 'TRUE', 'True'].includes(value));
}

/**
 * A record key as text: the value for a single-indicator key, a JSON array for a composite one;
 * keys longer than the bookkeeping column are replaced by their SHA-256.
 */
export function keyText(values: readonly unknown[]): string {
  const text = values.length === 1 ? String(values[0]) : JSON.stringify(values);
  return text.length <= MAX_KEY ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The indicators one target may see, mapped through its code tables; missing codes are reported. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

type Codes = [indicator: string, table: Record<string, string | number | boolean>][];

/** A missing entry in a target's code table, as the reason a record is set aside. */
function missingCode(codes: Codes, data: Record<string, WireValue>, target: string): string | null {
  for (const [indicator, table] of codes) {
    const v = data[indicator];
    if (v !== null && v !== undefined && !Object.prototype.hasOwnProperty.call(table, String(v))) {
      return `${indicator}: value ${JSON.stringify(v)} has no entry in the code table of target '${target}'`;
    }
  }
  return null;
}

/** For one target (built once, used on every record): the indicators it may see, codes checked. */
export function projector(target: FlowTarget): (data: Record<string, WireValue>) => Outcome<Record<string, WireValue>> {
  const indicators = Object.keys(target.fields);
  const codes: Codes = Object.entries(target.codes);
  return (data) => {
    const reason = missingCode(codes, data, target.department);
    if (reason) return { ok: false, reason };
    const out: Record<string, WireValue> = {};
    for (const indicator of indicators) out[indicator] = data[indicator] ?? null;
    return { ok: true, value: out };
  };
}

/** For one target (built once): target column values of a record, renamed and passed through the code tables. */
export function columnMapper(target: FlowTarget): (data: Record<string, WireValue>) => Outcome<Record<string, unknown>> {
  const fields = Object.entries(target.fields).map(([indicator, column]) => [indicator, column, target.codes[indicator]] as const);
  const codes: Codes = Object.entries(target.codes);
  return (data) => {
    const reason = missingCode(codes, data, target.department);
    if (reason) return { ok: false, reason };
    const out: Record<string, unknown> = {};
    for (const [indicator, column, table] of fields) {
      const v = data[indicator] ?? null;
      out[column] = table && v !== null ? table[String(v)] : v;
    }
    return { ok: true, value: out };
  };
}
