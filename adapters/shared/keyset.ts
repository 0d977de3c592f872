import type { ChangeSource, Position } from '../adapter';

/**
 * The predicate "row comes after these values" in the order of these columns, written out as nested
 * OR/AND so every engine can use an index on them (row-value comparison is not portable). The leading
 * `first >= ?` lets the planner start a range scan.
 */
export function after(quote: (c: string) => string, columns: string[], values: unknown[]): { sql: string; params: unknown[] } {
  const cols = columns.map(quote);
  const from = (i: number): { sql: string; params: unknown[] } => {
    if (i === cols.length - 1) return { sql: `${cols[i]} > ?`, params: [values[i]] };
    const rest = from(i + 1);
    return { sql: `${cols[i]} > ? OR (${cols[i]} = ? AND (${rest.sql}))`, params: [values[i], values[i], ...rest.params] };
  };
  const tail = from(0);
  return { sql: `${cols[0]} >= ? AND (${tail.sql})`, params: [values[0], ...tail.params] };
}

/** After a position in `(watermark, key…)` order. */
export function afterPosition(quote: (c: string) => string, watermark: string, key: string[], position: Position): { sql: string; params: unknown[] } {
  return after(quote, [watermark, ...key], [position.watermark, ...position.key]);
}

/** The conditions of a page of changes: below the horizon, after the position. */
function changeConditions(quote: (c: string) => string, src: ChangeSource, position: Position | null, upTo: unknown): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (upTo !== null && upTo !== undefined) {
    conditions.push(`${quote(src.watermark)} < ?`);
    params.push(upTo);
  }
  if (position) {
    const p = afterPosition(quote, src.watermark, src.key, position);
    conditions.push(`(${p.sql})`);
    params.push(...p.params);
  }
  return { where: conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '', params };
}

const fromClause = (quote: (c: string) => string, src: ChangeSource) => (src.table ? quoteName(quote, src.table) : `(${src.query}) AS q`);

/**
 * One page of changes, `?` placeholders, for engines with LIMIT: rows below the horizon and after the
 * position, in `(watermark, key…)` order.
 */
export function selectChanges(quote: (c: string) => string, src: ChangeSource, position: Position | null, upTo: unknown, limit: number): { sql: string; params: unknown[] } {
  const { where, params } = changeConditions(quote, src, position, upTo);
  const order = [src.watermark, ...src.key].map(quote).join(', ');
  return { sql: `SELECT ${src.columns.map(quote).join(', ')} FROM ${fromClause(quote, src)}${where} ORDER BY ${order} LIMIT ${Math.floor(limit)}`, params };
}

/** How many rows a cycle from this position would read. */
export function countChanges(quote: (c: string) => string, src: ChangeSource, position: Position | null, upTo: unknown): { sql: string; params: unknown[] } {
  const { where, params } = changeConditions(quote, src, position, upTo);
  return { sql: `SELECT count(*) AS n FROM ${fromClause(quote, src)}${where}`, params };
}

/** One page of the source's rows in key order (the reconciliation's scan), for engines with LIMIT. */
export function selectKeys(quote: (c: string) => string, src: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): { sql: string; params: unknown[] } {
  const p = afterKey ? after(quote, src.key, afterKey) : { sql: '', params: [] };
  const order = src.key.map(quote).join(', ');
  return {
    sql: `SELECT ${columns.map(quote).join(', ')} FROM ${fromClause(quote, src)}${afterKey ? ` WHERE ${p.sql}` : ''} ORDER BY ${order} LIMIT ${Math.floor(limit)}`,
    params: p.params,
  };
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

/** `schema.table` → quoted parts. */
export function quoteName(quote: (c: string) => string, name: string): string {
  return name.split('.').map(quote).join('.');
}

/** Replaces `?` placeholders with numbered ones (`$1`, `@p1`). The SQL must not contain `?` elsewhere. */
export function numberPlaceholders(sql: string, style: (n: number) => string): string {
  let n = 0;
  return sql.replace(/\?/g, () => style(++n));
}
