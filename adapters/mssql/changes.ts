import type { CatalogReader, ChangeReader, ChangeSource, ColumnInfo, Position, Row } from '../adapter';
import { after, changeConditions, changeOrder, fromSource } from '../shared/keyset';
import { render, sql, type Sql } from '../sql';
import { rows, type Runner } from './connection';
import { mssqlSql, quote, tableName } from './sql';
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

/**
 * One page in `(watermark, key…)` order. Columns are selected as exact text where the driver would
 * spoil them (see readExpression); conditions and ORDER BY name the columns through the alias `s`, so
 * that they compare and sort the stored values, not that text.
 */
export function buildReadChanges(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown, limit: number): Sql {
  return sql`SELECT TOP (${sql.raw(String(Math.floor(limit)))}) ${selectList(src.columns, types)} FROM ${fromClause(src)}${conditions(src, types, position, upTo)} ORDER BY ${changeOrder(column, src)}`;
}

export function buildCountChanges(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown): Sql {
  return sql`SELECT COUNT_BIG(*) AS n FROM ${fromClause(src)}${conditions(src, types, position, upTo)}`;
}

/** One page of the source's rows in key order (the reconciliation's scan). */
export function buildScanKeys(src: ChangeSource, types: Map<string, ColumnInfo>, columns: string[], afterKey: unknown[] | null, limit: number): Sql {
  const where = afterKey ? sql` WHERE ${after(column, src.key, afterKey.map((v, i) => param(types, src.key[i], v)))}` : sql``;
  return sql`SELECT TOP (${sql.raw(String(Math.floor(limit)))}) ${selectList(columns, types)} FROM ${fromClause(src)}${where} ORDER BY ${sql.join(src.key.map(column))}`;
}

const columnText = (c: string) => `s.${quote(c)}`;
const column = (c: string) => sql.raw(columnText(c));
const fromClause = (src: ChangeSource) => sql`${fromSource(src, (name) => sql.raw(tableName(name)))} AS s`;
const typeOf = (types: Map<string, ColumnInfo>, c: string) => types.get(c)?.type ?? '';
const param = (types: Map<string, ColumnInfo>, c: string, value: unknown) => (isRowversion(typeOf(types, c)) ? rowversionBytes(value) : value);

function selectList(columns: string[], types: Map<string, ColumnInfo>): Sql {
  return sql.raw(columns.map((c) => {
    const expr = readExpression(columnText(c), typeOf(types, c));
    return expr === columnText(c) ? expr : `${expr} AS ${quote(c)}`;
  }).join(', '));
}

/** The page's conditions, with rowversion values bound as the bytes SQL Server compares. */
function conditions(src: ChangeSource, types: Map<string, ColumnInfo>, position: Position | null, upTo: unknown): Sql {
  return changeConditions(column, src, position && {
    watermark: param(types, src.watermark, position.watermark),
    key: position.key.map((v, i) => param(types, src.key[i], v)),
  }, upTo === null || upTo === undefined ? upTo : param(types, src.watermark, upTo));
}

/**
 * Reads without a transaction: SQL Server has no read-only one, so the node's login must hold only
 * read rights on source objects.
 */
export class MssqlChanges implements ChangeReader {
  readonly settleMs = SETTLE_MS + 100; // transaction_begin_time is a datetime, in 1/300 s steps
  private readonly sources: SourceColumns;

  constructor(private readonly runner: Runner, catalog: CatalogReader) {
    this.sources = new SourceColumns(catalog);
  }

  async horizon(_source: ChangeSource, watermark: ColumnInfo): Promise<unknown> {
    const text = buildHorizon(watermark.type);
    if (!text) return null;
    const [row] = await rows<{ horizon: string }>(this.runner, text);
    return row.horizon;
  }

  async clock(watermark: ColumnInfo): Promise<unknown> {
    const text = buildClock(watermark.type);
    if (!text) return null;
    const [row] = await rows<{ now: string }>(this.runner, text);
    return row.now;
  }

  async read(source: ChangeSource, after: Position | null, upTo: unknown, limit: number): Promise<Row[]> {
    return this.select(buildReadChanges(source, await this.sources.of(source), after, upTo, limit));
  }

  async count(source: ChangeSource, after: Position | null, upTo: unknown): Promise<number> {
    const [row] = await this.select<{ n: string | number }>(buildCountChanges(source, await this.sources.of(source), after, upTo));
    return Number(row.n);
  }

  async scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]> {
    return this.select(buildScanKeys(source, await this.sources.of(source), columns, afterKey, limit));
  }

  private select<T extends Row = Row>(statement: Sql): Promise<T[]> {
    const { text, params } = render(statement, mssqlSql.renderer);
    return rows<T>(this.runner, text, params);
  }
}

/**
 * The column types of each source, looked up once: a page's reader is not given them, and needs them
 * to select exact text. A failed lookup is not kept, so the next page tries again.
 */
class SourceColumns {
  private readonly known = new Map<string, Promise<Map<string, ColumnInfo>>>();

  constructor(private readonly catalog: CatalogReader) {}

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
      const table = await this.catalog.describeTable(src.table);
      if (!table) throw new Error(`table '${src.table}' does not exist`);
      return table.columns;
    }
    return new Map((await this.catalog.describeQuery(src.query!)).map((c) => [c.name, c]));
  }
}
