import type { ChangeSource, Position } from '../adapter';
import { sql, type Sql } from '../sql';

/** How a column is named in a page's SQL: plainly, or through an alias (SQL Server's `s.[c]`). */
export type ColumnRef = (name: string) => Sql;

/**
 * The predicate "row comes after these values" in the order of these columns, written out as nested
 * OR/AND so every engine can use an index on them (row-value comparison is not portable). The leading
 * `first >= ?` lets the planner start a range scan.
 */
export function after(column: ColumnRef, columns: string[], values: unknown[]): Sql {
  const from = (i: number): Sql => {
    const c = column(columns[i]);
    if (i === columns.length - 1) return sql`${c} > ${values[i]}`;
    return sql`${c} > ${values[i]} OR (${c} = ${values[i]} AND (${from(i + 1)}))`;
  };
  return sql`${column(columns[0])} >= ${values[0]} AND (${from(0)})`;
}

/** After a position in `(watermark, key…)` order. */
export function afterPosition(column: ColumnRef, watermark: string, key: string[], position: Position): Sql {
  return after(column, [watermark, ...key], [position.watermark, ...position.key]);
}

/** The WHERE clause of a page of changes: below the horizon, after the position (empty when neither). */
export function changeConditions(column: ColumnRef, src: ChangeSource, position: Position | null, upTo: unknown): Sql {
  const conditions: Sql[] = [];
  if (upTo !== null && upTo !== undefined) conditions.push(sql`${column(src.watermark)} < ${upTo}`);
  if (position) conditions.push(sql`(${afterPosition(column, src.watermark, src.key, position)})`);
  return sql.where(conditions);
}

/**
 * The source as a FROM item: its table, or its `query:` as a derived table. The query's text is
 * spliced in as it is, never scanned: a `?` in it stays a `?`.
 */
export const fromSource = (src: ChangeSource, table: (name: string) => Sql = sql.table): Sql =>
  (src.table ? table(src.table) : sql`(${sql.raw(wrappable(src.query!))})`);

/** A checked query as the inside of a derived table: a line comment at its end must not swallow the closing parenthesis. */
export const wrappable = (query: string): string => `${query}\n`;

/** `(watermark, key…)` as an ORDER BY list. */
export const changeOrder = (column: ColumnRef, src: ChangeSource): Sql => sql.join([src.watermark, ...src.key].map(column));

/** One page of changes, for engines with LIMIT: rows below the horizon and after the position, in `(watermark, key…)` order. */
export function selectChanges(src: ChangeSource, position: Position | null, upTo: unknown, limit: number): Sql {
  return sql`SELECT ${sql.ids(src.columns)} FROM ${fromSource(src)} AS q${changeConditions(sql.id, src, position, upTo)} ORDER BY ${changeOrder(sql.id, src)} LIMIT ${sql.raw(String(Math.floor(limit)))}`;
}

/** How many rows a cycle from this position would read. */
export function countChanges(src: ChangeSource, position: Position | null, upTo: unknown): Sql {
  return sql`SELECT count(*) AS n FROM ${fromSource(src)} AS q${changeConditions(sql.id, src, position, upTo)}`;
}

/** One page of the source's rows in key order (the reconciliation's scan), for engines with LIMIT. */
export function selectKeys(src: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Sql {
  const where = afterKey ? sql` WHERE ${after(sql.id, src.key, afterKey)}` : sql``;
  return sql`SELECT ${sql.ids(columns)} FROM ${fromSource(src)} AS q${where} ORDER BY ${sql.ids(src.key)} LIMIT ${sql.raw(String(Math.floor(limit)))}`;
}

/** The after-commit hooks of one transaction; run once it has committed. */
export class CommitHooks {
  private readonly hooks: (() => void)[] = [];

  add(fn: () => void): void {
    this.hooks.push(fn);
  }

  run(): void {
    for (const fn of this.hooks) fn();
  }
}
