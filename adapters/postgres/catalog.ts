import type { Pool } from 'pg';
import type { CatalogReader, ColumnInfo, TableInfo } from '../adapter';
import { wrappable } from '../shared/keyset';
import { readOnly } from './connection';
import { checkQuery } from './query';
import { quoteName } from '../sql';
import { quote } from './sql';

export class PgCatalog implements CatalogReader {
  constructor(private readonly pool: Pool) {}

  async describeTable(table: string): Promise<TableInfo | null> {
    const qualified = quoteName(quote, table);
    const [rel] = (await this.pool.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified])).rows;
    if (!rel?.oid) return null;
    const cols = (await this.pool.query<{ name: string; type: string; nullable: boolean }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
         FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [rel.oid],
    )).rows;
    const keys = (await this.pool.query<{ cols: string[] }>(
      `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
         FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
        GROUP BY i.indexrelid, i.indisprimary ORDER BY i.indisprimary DESC`,
      [rel.oid],
    )).rows;
    return {
      name: table,
      columns: new Map(cols.map((c) => [c.name, { ...c, zoned: c.type.includes('with time zone') }])),
      uniqueKeys: keys.map((k) => k.cols),
    };
  }

  async tableNames(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`);
    return rows.map((r) => r.name);
  }

  /** Described as it will be read: wrapped, in a read-only transaction. */
  async describeQuery(query: string): Promise<ColumnInfo[]> {
    const problem = await checkQuery(query);
    if (problem) throw new Error(`the query ${problem}`);
    const fields = await readOnly(this.pool, async (client) => (await client.query(`SELECT * FROM (${wrappable(query)}) AS q LIMIT 0`)).fields);
    const types = (await this.pool.query<{ type: string }>(
      'SELECT format_type(t.oid, t.mod) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, ord) ORDER BY t.ord',
      [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
    )).rows;
    return fields.map((f, i) => ({ name: f.name, type: types[i].type, nullable: true, zoned: types[i].type.includes('with time zone') }));
  }
}
