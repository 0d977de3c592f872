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

/** The body of a `records` envelope in formats 1–3: each record an object. */
export interface RecordsPayload {
  records: WireRecord[];
}

/**
 * The body of a `records` envelope laid out in rows (format 4): the indicator names once, then each
 * record as `[key, version, 'u', value…]` (one value per indicator, in that order) or, a delete,
 * `[key, version, 'd', key value…]` (one per `key` indicator). A third smaller than objects, and
 * serialised and parsed in about half the time.
 */
export interface RowsPayload {
  indicators: readonly string[];
  key: readonly string[];
  rows: WireValue[][];
}

const OPS = { u: 'upsert', d: 'delete' } as const;

/** A name from a body, as a reason quotes it: never longer than 100 characters. */
const shortened = (name: string): string => (name.length > 100 ? `${name.slice(0, 100)}…` : name);

/** A records body (its JSON text) of a batch for one target: how format 4 or the earlier formats write it. */
export type BodyWriter = (records: readonly WireRecord[]) => string;

/** Formats 1–3: each record an object. */
export const objectsBody: BodyWriter = (records) => JSON.stringify({ records });

/** Format 4, for one target (built once): the rows body, serialised in one call (a third faster than row by row and joined). */
export function rowsBody(indicators: readonly string[], key: readonly string[]): BodyWriter {
  return (records) => {
    const rows: WireValue[][] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const row: WireValue[] = [r.key, r.version, r.op === 'upsert' ? 'u' : 'd'];
      for (const name of r.op === 'upsert' ? indicators : key) row.push(own(r.data, name) ?? null);
      rows[i] = row;
    }
    return JSON.stringify({ indicators, key, rows } satisfies RowsPayload);
  };
}

/** What a receiver lets a rows body declare: the indicators its flow sends it, the flow's key. Built once per flow. */
export interface RowsExpected {
  indicators: ReadonlySet<string>;
  key: readonly string[];
  flow: string;
}

/**
 * The records of a rows body, each as an object again, or why the body cannot be used. `expected`:
 * what this receiver's flow lets the body declare. The names are written once but copied into every
 * record (and into every reject's reason), so a body may declare only indicators this target is sent
 * and exactly the flow's key: a name it has no use for is refused with the whole body, never carried
 * into each record.
 */
export function recordsFromRows(payload: unknown, expected: RowsExpected): Outcome<WireRecord[]> {
  const p = payload as RowsPayload | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.rows)) return { ok: false, reason: 'body has no rows list' };
  for (const [what, names] of [['indicators', p.indicators], ['key', p.key]] as const) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string') || new Set(names).size !== names.length) {
      return { ok: false, reason: `body's ${what} is not a list of distinct indicator names` };
    }
  }
  const unknown = p.indicators.find((n) => !expected.indicators.has(n));
  if (unknown !== undefined) return { ok: false, reason: `body declares indicator '${shortened(unknown)}', which flow '${expected.flow}' does not send to this target` };
  if (p.key.join('\n') !== expected.key.join('\n')) return { ok: false, reason: `body's key (${p.key.map(shortened).join(', ')}) is not the key of flow '${expected.flow}' (${expected.key.join(', ')})` };
  const records: WireRecord[] = new Array(p.rows.length);
  for (let i = 0; i < p.rows.length; i++) {
    const row = p.rows[i];
    if (!Array.isArray(row)) return { ok: false, reason: `row ${i} is not a list` };
    const [key, version, op] = row;
    const names = op === 'u' ? p.indicators : op === 'd' ? p.key : null;
    if (!names) return { ok: false, reason: `row ${i} has unknown operation '${String(op)}'` };
    if (row.length !== names.length + 3) return { ok: false, reason: `row ${i} holds ${row.length - 3} values for ${names.length} ${op === 'u' ? 'indicators' : 'key indicators'}` };
    const data: Record<string, WireValue> = {};
    for (let j = 0; j < names.length; j++) data[names[j]] = row[j + 3];
    records[i] = { key: key as string, version: version as string, op: OPS[op as 'u' | 'd'], data };
  }
  return { ok: true, value: records };
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

/**
 * A record's (or a config map's) own value for a name: an indicator may be called `constructor` or
 * `toString`, and an absent one must read as absent, not as what every object inherits.
 */
function own<T>(object: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

/** The indicators one target may see, mapped through its code tables; missing codes are reported. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

type Codes = [indicator: string, table: Record<string, string | number | boolean>][];

/** A missing entry in a target's code table, as the reason a record is set aside. */
function missingCode(codes: Codes, data: Record<string, WireValue>, target: string): string | null {
  for (const [indicator, table] of codes) {
    const v = own(data, indicator);
    if (v !== null && v !== undefined && !Object.hasOwn(table, String(v))) {
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
    for (const indicator of indicators) out[indicator] = own(data, indicator) ?? null;
    return { ok: true, value: out };
  };
}

/** For one target (built once): target column values of a record, renamed and passed through the code tables. */
export function columnMapper(target: FlowTarget): (data: Record<string, WireValue>) => Outcome<Record<string, unknown>> {
  const fields = Object.entries(target.fields).map(([indicator, column]) => [indicator, column, own(target.codes, indicator)] as const);
  const codes: Codes = Object.entries(target.codes);
  return (data) => {
    const reason = missingCode(codes, data, target.department);
    if (reason) return { ok: false, reason };
    const out: Record<string, unknown> = {};
    for (const [indicator, column, table] of fields) {
      const v = own(data, indicator) ?? null;
      out[column] = table && v !== null ? table[String(v)] : v;
    }
    return { ok: true, value: out };
  };
}
