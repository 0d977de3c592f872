/**
 * Statements as data: trusted SQL text, identifiers and bound values kept apart until a dialect
 * renders them. Nothing ever scans SQL text for placeholders, so a `?`, `$1` or `@p1` inside a
 * user's `query:` (a literal, PostgreSQL's jsonb `?` operator) or inside a quoted identifier is
 * left exactly as written.
 *
 *   sql`SELECT ${sql.id(column)} FROM ${sql.table(name)} WHERE flow = ${flow}`
 *
 * Interpolated `Sql` fragments are spliced in; every other interpolated value is bound.
 */
type Part =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'id'; readonly name: string };

export class Sql {
  constructor(readonly parts: readonly Part[]) {}

  /** true when nothing is in it (an empty condition list, say) */
  get empty(): boolean {
    return this.parts.every((p) => p.kind === 'text' && p.text === '');
  }
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const parts: Part[] = [];
  strings.forEach((text, i) => {
    if (text) parts.push({ kind: 'text', text });
    if (i < values.length) {
      const v = values[i];
      if (v instanceof Sql) for (const p of v.parts) parts.push(p); // a spread would overflow the stack on a large fragment
      else parts.push({ kind: 'value', value: v });
    }
  });
  return new Sql(parts);
}

/** SQL text taken as it is: the gateway's own fixed text, or a user's checked `query:`. */
sql.raw = (text: string): Sql => new Sql([{ kind: 'text', text }]);

/** One identifier, quoted by the dialect that renders it. */
sql.id = (name: string): Sql => new Sql([{ kind: 'id', name }]);

/** A possibly schema-qualified name (`schema.table`), each part quoted. */
sql.table = (name: string): Sql => sql.join(name.split('.').map(sql.id), '.');

/** Several identifiers, comma-separated. */
sql.ids = (names: readonly string[]): Sql => sql.join(names.map(sql.id));

/** Fragments joined by a separator (`, ` unless told). */
sql.join = (items: readonly Sql[], separator = ', '): Sql => {
  const parts: Part[] = [];
  items.forEach((item, i) => {
    if (i > 0 && separator) parts.push({ kind: 'text', text: separator });
    for (const p of item.parts) parts.push(p);
  });
  return new Sql(parts);
};

/** Bound values as a parenthesised list: `(?, ?, ?)`, for `IN` and `VALUES`. */
sql.list = (values: readonly unknown[]): Sql => sql`(${sql.join(values.map((v) => sql`${v}`))})`;

/** ` WHERE a AND b …` from the conditions that apply, or nothing when none does. */
sql.where = (conditions: readonly Sql[]): Sql => (conditions.length ? sql` WHERE ${sql.join(conditions, ' AND ')}` : sql``);

/** How a dialect writes what a statement leaves open. */
export interface Renderer {
  quote(identifier: string): string;
  /**
   * Writes the n-th bound value (from 1) into the text: a numbered placeholder whose value goes to
   * `params` (`$1`, `@p1`), or, for a driver that only binds by scanning the text, the escaped literal.
   */
  bind(value: unknown, n: number, params: unknown[]): string;
}

export interface Rendered {
  text: string;
  params: unknown[];
}

export function render(statement: Sql, renderer: Renderer): Rendered {
  const params: unknown[] = [];
  let text = '';
  let n = 0;
  for (const part of statement.parts) {
    if (part.kind === 'text') text += part.text;
    else if (part.kind === 'id') text += renderer.quote(part.name);
    else text += renderer.bind(part.value, ++n, params);
  }
  return { text, params };
}

/** A renderer for engines with numbered placeholders. */
export const numbered = (quote: (identifier: string) => string, placeholder: (n: number) => string): Renderer => ({
  quote,
  bind(value, n, params) {
    params.push(value);
    return placeholder(n);
  },
});

/** Runs `fn` on consecutive slices of at most `size` items: long `IN` lists and multi-row `VALUES` stay under the engines' parameter limits. */
export async function inChunks<T>(items: readonly T[], size: number, fn: (chunk: T[]) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

/** `schema.table` → each part quoted, for an engine's own SQL text. */
export const quoteName = (quote: (identifier: string) => string, name: string): string => name.split('.').map(quote).join('.');
