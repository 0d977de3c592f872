import type { ColumnInfo, TableInfo } from '../adapter';
import type { PgDatabase } from './database';
import { quote } from './sql';
import { quoteName } from '../shared/keyset';

export async function describeTable(db: PgDatabase, table: string): Promise<TableInfo | null> {
  const qualified = quoteName(quote, table);
  const [rel] = await db.native<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified]);
  if (!rel?.oid) return null;
  const cols = await db.native<{ name: string; type: string; nullable: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [rel.oid],
  );
  const keys = await db.native<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid, i.indisprimary ORDER BY i.indisprimary DESC`,
    [rel.oid],
  );
  return {
    name: table,
    columns: new Map(cols.map((c) => [c.name, { ...c, zoned: c.type.includes('with time zone') }])),
    uniqueKeys: keys.map((k) => k.cols),
  };
}

export async function describeQuery(db: PgDatabase, query: string): Promise<ColumnInfo[]> {
  const fields = await db.fields(`SELECT * FROM (${query}) AS q LIMIT 0`);
  const types = await db.native<{ type: string }>(
    'SELECT format_type(t.oid, t.mod) AS type FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, ord) ORDER BY t.ord',
    [fields.map((f) => f.dataTypeID), fields.map((f) => f.dataTypeModifier)],
  );
  return fields.map((f, i) => ({ name: f.name, type: types[i].type, nullable: true, zoned: types[i].type.includes('with time zone') }));
}
