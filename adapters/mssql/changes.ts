import type { ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { after, afterPosition, numberPlaceholders } from '../shared/keyset';
import { describeQuery, describeTable } from './catalog';
import type { MssqlDatabase } from './database';
import { quote, tableName } from './sql';
import { baseType, isRowversion, readExpression, rowversionBytes } from './values';

const TEMPORAL = new Set(['date', 'datetime', 'smalldatetime', 'datetime2', 'datetimeoffset']);

/**
 * The transaction_begin_time SQL Server shows is a datetime (1/300 s steps, rounded), and GETDATE()
 * follows a coarser clock than SYSDATETIME(): the settle second covers both, and the instant between a
 * transaction starting and it being listed.
 */
export const SETTLE_MS = 1000;

/**
 * The horizon query for a watermark column of `type`, or null when no horizon can be computed.
 *
 * rowversion: MIN_ACTIVE_ROWVERSION() is the lowest rowversion still held by an open transaction
 * (@@DBTS + 1 when none is open), so every row below it is committed. @@DBTS is the last value handed
 * out, possibly to a transaction that has not committed.
 *
 * date and time: a row's timestamp is taken while its transaction runs (a DEFAULT SYSDATETIME(), or the
 * statement setting it), so it is never earlier than the start of that transaction. No transaction
 * still open can therefore commit a row below the start of the oldest one open, nor below now. Other
 * sessions only (@@SPID is this statement's own); open transactions of every database count, because
 * one that has not written here yet may still do so. transaction_begin_time is the server's local
 * time: datetime and datetime2 watermarks must hold local time too (GETDATE(), SYSDATETIME(), not
 * SYSUTCDATETIME()); datetimeoffset ones are compared as instants. Reading it needs VIEW SERVER STATE.
 */
export function buildHorizon(type: string): string | null {
  const base = baseType(type);
  if (isRowversion(base)) return `SELECT ${readExpression('MIN_ACTIVE_ROWVERSION()', base)} AS horizon`;
  if (!TEMPORAL.has(base)) return null; // identity and other integer values: SQL Server does not tell which are uncommitted
  const zoned = base === 'datetimeoffset';
  const now = zoned ? 'SYSDATETIMEOFFSET()' : 'SYSDATETIME()';
  const begun = zoned
    ? 'TODATETIMEOFFSET(a.transaction_begin_time, DATEPART(TZOFFSET, SYSDATETIMEOFFSET()))'
    : 'CAST(a.transaction_begin_time AS datetime2(7))';
  const horizon = `CAST(DATEADD(millisecond, -${SETTLE_MS}, MIN(t.at)) AS ${type})`;
  return `SELECT ${readExpression(horizon, type)} AS horizon FROM (
      SELECT ${now} AS at
      UNION ALL
      SELECT ${begun} FROM sys.dm_tran_active_transactions a
        JOIN sys.dm_tran_session_transactions s ON s.transaction_id = a.transaction_id
       WHERE s.session_id <> @@SPID) AS t`;
}

/**
 * Now, as a value of the watermark column: the next rowversion to be handed out (every row stamped so
 * far lies below it), or the current time in the column's type.
 */
export function buildClock(type: string): string | null {
  const base = baseType(type);
  if (isRowversion(base)) return `SELECT ${readExpression('CAST(CAST(@@DBTS AS bigint) + 1 AS binary(8))', base)} AS now`;
  if (!TEMPORAL.has(base)) return null;
  return `SELECT ${readExpression(`CAST(${base === 'datetimeoffset' ? 'SYSDATETIMEOFFSET()' : 'SYSDATETIME()'} AS ${type})`, type)} AS now`;
}

export async function clock(db: MssqlDatabase, watermark: ColumnInfo): Promise<unknown> {
  const sql = buildClock(watermark.type);
  if (!sql) return null;
  const [row] = await db.native<{ now: string }>(sql);
  return row.now;
}

export async function horizon(db: MssqlDatabase, watermark: ColumnInfo): Promise<unknown> {
  const sql = buildHorizon(watermark.type);
  if (!sql) return null;
  const [row] = await db.native<{ horizon: string }>(sql);
  return row.horizon;
}

/**
 * One page in `(watermark, key…)` order. Columns are selected as exact text where the driver would
 * spoil them (see readExpression); conditions and ORDER BY name the columns through the alias `s`, so
 * that they compare and sort the stored values, not that text.
 */
export function buildReadChanges(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown, limit: number): { sql: string; params: unknown[] } {
  const { where, params } = changeConditions(src, types, position, upTo);
  const order = [src.watermark, ...src.key].map(column).join(', ');
  const sql = `SELECT TOP (${Math.floor(limit)}) ${selectList(src.columns, types)} FROM ${fromClause(src)}${where} ORDER BY ${order}`;
  return { sql: numberPlaceholders(sql, (n) => `@p${n}`), params };
}

export function buildCountChanges(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown): { sql: string; params: unknown[] } {
  const { where, params } = changeConditions(src, types, position, upTo);
  return { sql: numberPlaceholders(`SELECT COUNT_BIG(*) AS n FROM ${fromClause(src)}${where}`, (n) => `@p${n}`), params };
}

/** One page of the source's rows in key order (the reconciliation's scan). */
export function buildScanKeys(src: ChangeSource, types: Map<string, ColumnInfo>, columns: string[], afterKey: unknown[] | null, limit: number): { sql: string; params: unknown[] } {
  const p = afterKey ? after(column, src.key, afterKey.map((v, i) => param(types, src.key[i], v))) : null;
  const sql = `SELECT TOP (${Math.floor(limit)}) ${selectList(columns, types)} FROM ${fromClause(src)}${p ? ` WHERE ${p.sql}` : ''} ORDER BY ${src.key.map(column).join(', ')}`;
  return { sql: numberPlaceholders(sql, (n) => `@p${n}`), params: p?.params ?? [] };
}

const column = (c: string) => `s.${quote(c)}`;
const fromClause = (src: ChangeSource) => (src.table ? `${tableName(src.table)} AS s` : `(${src.query}) AS s`);
const typeOf = (types: Map<string, ColumnInfo>, c: string) => types.get(c)?.type ?? '';
const param = (types: Map<string, ColumnInfo>, c: string, value: unknown) => (isRowversion(typeOf(types, c)) ? rowversionBytes(value) : value);

function selectList(columns: string[], types: Map<string, ColumnInfo>): string {
  return columns.map((c) => {
    const expr = readExpression(column(c), typeOf(types, c));
    return expr === column(c) ? expr : `${expr} AS ${quote(c)}`;
  }).join(', ');
}

function changeConditions(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (upTo !== null && upTo !== undefined) {
    conditions.push(`${column(src.watermark)} < ?`);
    params.push(param(types, src.watermark, upTo));
  }
  if (position) {
    const p = afterPosition(column, src.watermark, src.key, {
      watermark: param(types, src.watermark, position.watermark),
      key: position.key.map((v, i) => param(types, src.key[i], v)),
    });
    conditions.push(`(${p.sql})`);
    params.push(...p.params);
  }
  return { where: conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '', params };
}

export async function readChanges(db: MssqlDatabase, src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
  const { sql, params } = buildReadChanges(src, types, position, upTo, limit);
  return db.native(sql, params);
}

export async function countChanges(db: MssqlDatabase, src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown): Promise<number> {
  const { sql, params } = buildCountChanges(src, types, position, upTo);
  const [row] = await db.native<{ n: string | number }>(sql, params);
  return Number(row.n);
}

export async function scanKeys(db: MssqlDatabase, src: ChangeSource, types: Map<string, ColumnInfo>, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
  const { sql, params } = buildScanKeys(src, types, columns, afterKey, limit);
  return db.native(sql, params);
}

/**
 * The column types of each source, looked up once: readChanges is not given them, and needs them to
 * select exact text. A failed lookup is not kept, so the next page tries again.
 */
export class SourceColumns {
  private readonly known = new Map<string, Promise<Map<string, ColumnInfo>>>();

  constructor(private readonly db: MssqlDatabase) {}

  of(src: ChangeSource): Promise<Map<string, ColumnInfo>> {
    const id = src.table ? `table ${src.table}` : `query ${src.query}`;
    let columns = this.known.get(id);
    if (!columns) {
      columns = this.lookUp(src);
      this.known.set(id, columns);
      columns.catch(() => this.known.delete(id));
    }
    return columns;
  }

  private async lookUp(src: ChangeSource): Promise<Map<string, ColumnInfo>> {
    if (src.table) {
      const table = await describeTable(this.db, src.table);
      if (!table) throw new Error(`table '${src.table}' does not exist`);
      return table.columns;
    }
    return new Map((await describeQuery(this.db, src.query!)).map((c) => [c.name, c]));
  }
}
