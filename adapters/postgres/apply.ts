import type { ApplyOutcome, ApplyRecord, TargetTable } from '../adapter';
import { quoteName } from '../shared/keyset';
import type { PoolClient } from 'pg';
import { quote } from './sql';

/**
 * One statement per batch (keys unique within it): the versions table decides which records are not
 * older than what the target holds, and only those reach the target table. The batch travels as one
 * JSON parameter (PostgreSQL parses it in C, far faster than the driver escapes arrays) and each value
 * is cast to its column's own type.
 */
export async function apply(client: PoolClient, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  const cols = target.columns;
  const rows = records.map((r) => {
    const row: Record<string, unknown> = { k: r.key, v: r.version.toString() };
    cols.forEach((c, i) => (row[`c${i}`] = jsonValue(r.values[c.name])));
    return row;
  });
  const shape = ['k text', 'v bigint', ...cols.map((_, i) => `c${i} text`)].join(', ');
  const table = quoteName(quote, target.table);
  const colList = cols.map((c) => quote(c.name)).join(', ');
  const casts = cols.map((c, i) => `i.c${i}::${castType(c.type)}`).join(', ');

  let write: string;
  if (target.mode === 'upsert') {
    const updates = cols.filter((c) => !target.keyColumns.includes(c.name)).map((c) => `${quote(c.name)} = EXCLUDED.${quote(c.name)}`);
    const conflict = target.keyColumns.map(quote).join(', ');
    write = `INSERT INTO ${table} (${colList}) SELECT ${casts} FROM incoming i JOIN fresh f ON f.record_key = i.k
             ON CONFLICT (${conflict}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'} RETURNING 1`;
  } else {
    write = `INSERT INTO ${table} (${colList}) SELECT ${casts} FROM incoming i JOIN fresh f ON f.record_key = i.k RETURNING 1`;
  }
  const sql = `WITH incoming AS (SELECT * FROM json_to_recordset($2::json) AS i(${shape})),
    fresh AS (
      INSERT INTO dxg_versions (flow, record_key, version, deleted)
      SELECT $1, i.k, i.v, false FROM incoming i
      ON CONFLICT (flow, record_key) DO UPDATE SET version = EXCLUDED.version, deleted = false
        WHERE dxg_versions.version ${target.mode === 'upsert' ? '<=' : '<'} EXCLUDED.version
      RETURNING record_key),
    written AS (${write})
    SELECT (SELECT count(*) FROM written)::int AS written,
           ARRAY(SELECT i.k FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.record_key = i.k)) AS superseded`;
  const result = await client.query<{ written: number; superseded: string[] }>(sql, [target.flow, JSON.stringify(rows)]);
  return { written: result.rows[0].written, superseded: result.rows[0].superseded };
}

/**
 * The column's type without its length or precision: an explicit cast to varchar(10) would silently
 * cut a longer value, while the assignment into the column refuses it (a data error, rejected with
 * its reason). `character` alone would mean char(1), hence bpchar.
 */
export function castType(type: string): string {
  return type
    .replace(/\(\d+(,\s*\d+)?\)/g, '')
    .replace(/^character varying\b/, 'varchar')
    .replace(/^character\b/, 'bpchar')
    .replace(/^bit(?! varying)\b/, 'varbit');
}

/** Objects (json indicators) travel as their JSON text; everything else as itself, and JSON turns it into text. */
function jsonValue(v: unknown): unknown {
  if (v === undefined) return null;
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
}
