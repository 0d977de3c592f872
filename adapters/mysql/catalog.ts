import { Types, type FieldPacket, type PoolConnection } from 'mysql2/promise';
import type { CatalogReader, ColumnInfo, TableInfo } from '../adapter';
import { wrappable } from '../shared/keyset';
import { fields, rows, type Using } from './connection';
import { checkQuery } from './query';

export class MysqlCatalog implements CatalogReader {
  constructor(private readonly using: Using, private readonly readOnly: Using) {}

  describeTable(table: string): Promise<TableInfo | null> {
    return this.using((conn) => describeTable(conn, table));
  }

  async tableNames(): Promise<string[]> {
    const found = await this.using((conn) => rows<{ name: string }>(conn,
      'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1', []));
    return found.map((r) => r.name);
  }

  /** Described as it will be read: wrapped, in a read-only transaction. */
  async describeQuery(query: string): Promise<ColumnInfo[]> {
    const problem = await checkQuery(query);
    if (problem) throw new Error(`the query ${problem}`);
    const described = await this.readOnly((conn) => fields(conn, `SELECT * FROM (${wrappable(query)}) AS q LIMIT 0`));
    return described.map((f) => ({ name: f.name, type: typeName(f), nullable: true }));
  }
}

/** `table` in the connection's database, or `db.table`. Names match as the server matches them. */
async function describeTable(conn: PoolConnection, table: string): Promise<TableInfo | null> {
  const dot = table.indexOf('.');
  const where = [dot < 0 ? null : table.slice(0, dot), dot < 0 ? table : table.slice(dot + 1)];
  const cols = await rows<{ name: string; type: string; nullable: string }>(
    conn,
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    where,
  );
  if (cols.length === 0) return null;
  const parts = await rows<{ name: string; col: string | null; prefix: number | null }>(
    conn,
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, SUB_PART AS prefix FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0
      ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    where,
  );
  // an index on a column prefix or an expression does not make the whole columns unique
  const keys = new Map<string, string[] | null>();
  for (const p of parts) {
    const key = keys.has(p.name) ? keys.get(p.name)! : [];
    keys.set(p.name, key && p.col !== null && p.prefix === null ? [...key, p.col] : null);
  }
  return {
    name: table,
    columns: new Map(cols.map((c) => [c.name, { name: c.name, type: c.type, nullable: c.nullable === 'YES' }])),
    uniqueKeys: [...keys.values()].filter((k): k is string[] => k !== null),
  };
}

const TYPE_NAMES = Types as unknown as Record<number, string | undefined>;

/** The protocol's type name, with the fractional digits of temporal types (the horizon needs them). */
function typeName(f: FieldPacket): string {
  const name = (TYPE_NAMES[f.columnType ?? f.type ?? -1] ?? 'unknown').toLowerCase();
  return ['datetime', 'timestamp', 'time'].includes(name) && f.decimals > 0 ? `${name}(${f.decimals})` : name;
}
