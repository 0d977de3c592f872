import type { ApplyOutcome, ApplyRecord, TargetTable } from '../adapter';
import type { Runner } from './connection';
import { mssqlSql, quote, tableName } from './sql';
import { baseType } from './values';

/** staged keys compare with dxg_versions.record_key, so they take its type and collation */
const KEY = mssqlSql.types.key(256);

/**
 * The type a value is staged in on its way from JSON text to a column of `type`. Text is staged whole:
 * CAST would cut it to a declared length without a word (and a value cut to any length can end in
 * spaces, which SQL Server then drops silently too), while written whole into a column too short it
 * fails (error 2628) and is rejected with that reason.
 */
export function stagingType(type: string): string {
  const t = type.trim();
  return /^n?(?:var)?char\(|^n?text$/i.test(t) ? 'nvarchar(max)' : t;
}

/**
 * JSON text → the staged value. Timestamps go through datetimeoffset, which reads every ISO 8601 form
 * the core sends (with an offset, `Z`, or none); turned into a type without a zone they keep the clock
 * time as written, as in PostgreSQL. datetime would refuse more than three fractional digits as text,
 * but rounds them from datetimeoffset.
 */
export function stagingCast(expr: string, type: string): string {
  if (['datetime', 'smalldatetime', 'datetime2'].includes(baseType(type))) return `CAST(CAST(${expr} AS datetimeoffset(7)) AS ${type})`;
  return `CAST(${expr} AS ${stagingType(type)})`;
}

/**
 * One batch, parameters @p1 (flow) and @p2 (the records as a JSON array of {k, v, c0, c1, …}):
 *
 * 1. The records are parsed and cast into @incoming. Every conversion error happens here, before
 *    anything is written (a conversion error ends the batch, and a later statement would leave the
 *    ones before it done).
 * 2. dxg_versions takes the versions that are not older than what the target holds (upsert) or that it
 *    does not hold yet (insert), and OUTPUT keeps their keys in @fresh: the keys as sent, not as stored,
 *    which SQL Server takes for equal even when they differ in trailing spaces.
 * 3. Only @fresh records reach the target table. An error there (too long, NULL, constraint, duplicate)
 *    ends that statement only, and the batch rolls back to the savepoint taken before step 2, so that
 *    a failed call leaves nothing behind.
 * HOLDLOCK makes each MERGE's "does it exist" and "write it" one step for concurrent writers.
 */
export function buildApplySql(target: TargetTable): string {
  const cols = target.columns;
  const at = (name: string) => cols.findIndex((c) => c.name === name);
  const table = tableName(target.table);
  const names = cols.map((c) => quote(c.name)).join(', ');
  const fresh = `SELECT ${cols.map((_, i) => `inc.c${i}`).join(', ')} FROM @incoming AS inc JOIN @fresh AS f ON f.k = inc.k`;

  let write: string;
  if (target.mode === 'upsert') {
    const on = target.keyColumns.map((k) => `tgt.${quote(k)} = src.c${at(k)}`).join(' AND ');
    const updates = cols.filter((c) => !target.keyColumns.includes(c.name)).map((c) => `${quote(c.name)} = src.c${at(c.name)}`);
    write = `MERGE INTO ${table} WITH (HOLDLOCK) AS tgt
USING (${fresh}) AS src ON ${on}
${updates.length ? `WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}\n` : ''}WHEN NOT MATCHED BY TARGET THEN INSERT (${names}) VALUES (${cols.map((_, i) => `src.c${i}`).join(', ')});`;
  } else {
    write = `INSERT INTO ${table} (${names}) ${fresh};`;
  }

  const staged = cols.map((c, i) => `, c${i} ${stagingType(c.type)}`).join('');
  const json = cols.map((_, i) => `, c${i} NVARCHAR(MAX) '$.c${i}'`).join('');
  return `DECLARE @incoming TABLE (k ${KEY} NOT NULL PRIMARY KEY, v BIGINT NOT NULL${staged});
DECLARE @fresh TABLE (k ${KEY} NOT NULL PRIMARY KEY);
DECLARE @error INT, @written INT;
INSERT INTO @incoming (k, v${cols.map((_, i) => `, c${i}`).join('')})
SELECT j.k, j.v${cols.map((c, i) => `, ${stagingCast(`j.c${i}`, c.type)}`).join('')}
FROM OPENJSON(@p2) WITH (k NVARCHAR(256) '$.k', v BIGINT '$.v'${json}) AS j;
SAVE TRANSACTION dxg_apply;
MERGE INTO dxg_versions WITH (HOLDLOCK) AS cur
USING @incoming AS inc ON cur.flow = @p1 AND cur.record_key = inc.k
WHEN MATCHED AND cur.version ${target.mode === 'upsert' ? '<=' : '<'} inc.v THEN UPDATE SET version = inc.v, deleted = 0
WHEN NOT MATCHED BY TARGET THEN INSERT (flow, record_key, version, deleted) VALUES (@p1, inc.k, inc.v, 0)
OUTPUT inc.k INTO @fresh (k);
${write}
SELECT @error = @@ERROR, @written = @@ROWCOUNT;
IF @error <> 0 ROLLBACK TRANSACTION dxg_apply;
SELECT @written AS written;
SELECT k FROM @fresh;`;
}

/** The records as the JSON array buildApplySql reads: values as JSON scalars, objects and arrays as their JSON text. */
export function applyRows(target: TargetTable, records: ApplyRecord[]): string {
  return JSON.stringify(records.map((r) => {
    const row: Record<string, unknown> = { k: r.key, v: r.version.toString() };
    target.columns.forEach((c, i) => (row[`c${i}`] = jsonScalar(r.values[c.name])));
    return row;
  }));
}

function jsonScalar(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** Tx.apply: must run inside a transaction (the savepoint needs one). */
export async function apply(tx: Runner, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  const { recordsets } = await tx.run(buildApplySql(target), [target.flow, applyRows(target, records)]);
  const fresh = new Set(recordsets[1].map((r) => r.k as string));
  return { written: Number(recordsets[0][0].written), superseded: records.filter((r) => !fresh.has(r.key)).map((r) => r.key) };
}
