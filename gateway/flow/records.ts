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

export function projectFor(target: FlowTarget, data: Record<string, WireValue>): Outcome<Record<string, WireValue>> {
  const out: Record<string, WireValue> = {};
  for (const indicator of Object.keys(target.fields)) out[indicator] = data[indicator] ?? null;
  for (const [indicator, table] of Object.entries(target.codes)) {
    const v = out[indicator];
    if (v === null || v === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(table, String(v))) {
      return { ok: false, reason: `${indicator}: value ${JSON.stringify(v)} has no entry in the code table of target '${target.department}'` };
    }
  }
  return { ok: true, value: out };
}

/** Target column values for a record: indicator values renamed and passed through the code tables. */
export function toColumns(target: FlowTarget, data: Record<string, WireValue>): Outcome<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [indicator, column] of Object.entries(target.fields)) {
    let v: unknown = data[indicator] ?? null;
    const table = target.codes[indicator];
    if (table && v !== null) {
      if (!Object.prototype.hasOwnProperty.call(table, String(v))) {
        return { ok: false, reason: `${indicator}: value ${JSON.stringify(v)} has no entry in the code table` };
      }
      v = table[String(v)];
    }
    out[column] = v;
  }
  return { ok: true, value: out };
}
