import { createHash } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ApplyOutcome, ApplyRecord, TargetColumn, TargetTable } from '../adapter';
import { quoteName } from '../sql';
import { quote } from './sql';

/** The staging tables each connection has (temporary tables live as long as their session). */
const stagesOf = new WeakMap<PoolClient, Set<string>>();

/** After a rollback (to a savepoint) a staging table created in it is gone: create it again when needed. */
export function forgetStages(client: PoolClient): void {
  stagesOf.delete(client);
}

/**
 * A batch (keys unique within it) is streamed with COPY into a temporary staging table, then one
 * statement writes it: the versions table decides which records are not older than what the target
 * holds, and only those reach the target table. COPY's text format is parsed by PostgreSQL several
 * times faster than a JSON parameter, and nothing is serialised twice on this side. `used`: the stages
 * this transaction has filled already (a second apply in it empties them first).
 */
export async function apply(client: PoolClient, used: Set<string>, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  const stage = await stageFor(client, target.columns);
  if (used.has(stage)) await client.query(`DELETE FROM ${stage}`);
  used.add(stage);
  await copyRows(client, stage, target.columns, records);

  const cols = target.columns;
  const table = quoteName(quote, target.table);
  const colList = cols.map((c) => quote(c.name)).join(', ');
  const values = cols.map((_, i) => `i.c${i}`).join(', ');
  let write: string;
  if (target.mode === 'upsert') {
    const updates = cols.filter((c) => !target.keyColumns.includes(c.name)).map((c) => `${quote(c.name)} = EXCLUDED.${quote(c.name)}`);
    const conflict = target.keyColumns.map(quote).join(', ');
    write = `INSERT INTO ${table} (${colList}) SELECT ${values} FROM ${stage} i JOIN fresh f ON f.record_key = i.k
             ON CONFLICT (${conflict}) DO ${updates.length ? `UPDATE SET ${updates.join(', ')}` : 'NOTHING'} RETURNING 1`;
  } else {
    write = `INSERT INTO ${table} (${colList}) SELECT ${values} FROM ${stage} i JOIN fresh f ON f.record_key = i.k RETURNING 1`;
  }
  const sql = `WITH fresh AS (
      INSERT INTO dxg_versions (flow, record_key, version, deleted)
      SELECT $1, i.k, i.v, false FROM ${stage} i
      ON CONFLICT (flow, record_key) DO UPDATE SET version = EXCLUDED.version, deleted = false
        WHERE dxg_versions.version ${target.mode === 'upsert' ? '<=' : '<'} EXCLUDED.version
      RETURNING record_key),
    written AS (${write})
    SELECT (SELECT count(*) FROM written)::int AS written,
           ARRAY(SELECT i.k FROM ${stage} i WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.record_key = i.k)) AS superseded`;
  const result = await client.query<{ written: number; superseded: string[] }>(sql, [target.flow]);
  return { written: result.rows[0].written, superseded: result.rows[0].superseded };
}

/**
 * The bulk path of new keys: the batch's versions by COPY into `dxg_versions`, its rows by COPY
 * straight into the target table, with no staging and no upsert. Only for keys neither table holds:
 * a key with a version (a live record or a tombstone of a deleted one) or a row makes a COPY fail
 * with a unique violation, a value the table refuses with a data error, and the caller rolls the
 * transaction back and runs it again with `apply`, which guards every key by its version. A new
 * key cannot regress: nothing older can be there. Values are checked for exactness before (COPY
 * rounds a numeric to its column's scale as an INSERT would).
 */
export async function insertNew(client: PoolClient, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  const flow = copyText(target.flow);
  let versions = '';
  for (const r of records) versions += `${flow}\t${copyText(r.key)}\t${r.version}\tf\n`;
  await copyInText(client, 'COPY dxg_versions (flow, record_key, version, deleted) FROM STDIN', versions);
  const cols = target.columns;
  await copyInText(client, `COPY ${quoteName(quote, target.table)} (${cols.map((c) => quote(c.name)).join(', ')}) FROM STDIN`, rowLines(cols, records, false));
  return { written: records.length, superseded: [] };
}

/** COPY … FROM STDIN of one text, in one write; the rows it wrote. */
export async function copyInText(client: PoolClient, statement: string, text: string | Buffer): Promise<number> {
  const stream = client.query(copyFrom(statement));
  stream.end(typeof text === 'string' ? Buffer.from(text) : text);
  await finished(stream);
  return stream.rowCount;
}

/** The records as COPY text lines: (key, version,) then the columns' values. */
function rowLines(columns: TargetColumn[], records: ApplyRecord[], withKey: boolean): string {
  const lines: string[] = new Array(records.length);
  for (let r = 0; r < records.length; r++) {
    const { key, version, values } = records[r];
    let line = withKey ? `${copyText(key)}\t${version}` : '';
    for (let i = 0; i < columns.length; i++) line += `${withKey || i > 0 ? '\t' : ''}${copyText(values[columns[i].name])}`;
    lines[r] = line;
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The staging table for this shape of target, created on first use in a session. Its columns have the
 * target columns' types without length or precision, so a value too long for its column is refused
 * by the target table itself (a data error naming that type), not cut. Emptied by every commit.
 */
async function stageFor(client: PoolClient, columns: TargetColumn[]): Promise<string> {
  const types = columns.map((c) => castType(c.type));
  const name = `dxg_stage_${createHash('sha256').update(types.join(',')).digest('hex').slice(0, 16)}`;
  let stages = stagesOf.get(client);
  if (!stages) stagesOf.set(client, (stages = new Set()));
  if (!stages.has(name)) {
    await client.query(`CREATE TEMPORARY TABLE IF NOT EXISTS ${name} (k text NOT NULL, v bigint NOT NULL${types.map((t, i) => `, c${i} ${t}`).join('')}) ON COMMIT DELETE ROWS`);
    stages.add(name);
  }
  return name;
}

async function copyRows(client: PoolClient, stage: string, columns: TargetColumn[], records: ApplyRecord[]): Promise<void> {
  await copyInText(client, `COPY ${stage} FROM STDIN`, rowLines(columns, records, true));
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: NULL as \N, objects (json indicators) as their JSON text, the four specials escaped. */
function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return SPECIAL.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : s;
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
