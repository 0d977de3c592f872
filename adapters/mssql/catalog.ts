import type { CatalogReader, ColumnInfo, TableInfo } from '../adapter';
import { wrappable } from '../shared/keyset';
import { rows, type Runner } from './connection';
import { checkQuery } from './query';
import { tableName } from './sql';

/** Tables and views only: OBJECT_ID alone also finds procedures and functions. */
const OBJECT = `(SELECT o.object_id FROM sys.objects o WHERE o.object_id = OBJECT_ID(@p1) AND o.type IN ('U', 'V'))`;

// alias types are described by the system type they are made of; CLR types (geography, hierarchyid…) by their own name
const COLUMNS = `SELECT c.name, CASE WHEN t.is_assembly_type = 1 THEN t.name ELSE TYPE_NAME(c.system_type_id) END AS type_name,
    c.max_length, c.precision, c.scale, c.is_nullable AS nullable
  FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id
  WHERE c.object_id = ${OBJECT} ORDER BY c.column_id`;

// unique indexes back primary keys and unique constraints alike; a filtered one is unique only for some rows
const UNIQUE_KEYS = `SELECT i.index_id, c.name
  FROM sys.indexes i
  JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.key_ordinal > 0
  JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
  WHERE i.object_id = ${OBJECT} AND i.is_unique = 1 AND i.has_filter = 0 AND i.is_disabled = 0 AND i.is_hypothetical = 0
  ORDER BY i.is_primary_key DESC, i.index_id, ic.key_ordinal`;

export class MssqlCatalog implements CatalogReader {
  constructor(private readonly runner: Runner) {}

  describeTable(table: string): Promise<TableInfo | null> {
    return describeTable(this.runner, table);
  }

  describeQuery(query: string): Promise<ColumnInfo[]> {
    return describeQuery(this.runner, query);
  }

  async tableNames(): Promise<string[]> {
    const found = await rows<{ name: string }>(this.runner, `SELECT o.name FROM sys.objects o WHERE o.schema_id = SCHEMA_ID() AND o.type IN ('U', 'V') ORDER BY o.name`, []);
    return found.map((r) => r.name);
  }
}

async function describeTable(db: Runner, table: string): Promise<TableInfo | null> {
  const name = tableName(table);
  const cols = await rows<{ name: string; type_name: string; max_length: number; precision: number; scale: number; nullable: boolean }>(db, COLUMNS, [name]);
  if (cols.length === 0) return null;
  const keys = await rows<{ index_id: number; name: string }>(db, UNIQUE_KEYS, [name]);
  const byIndex = new Map<number, string[]>();
  for (const k of keys) byIndex.set(k.index_id, [...(byIndex.get(k.index_id) ?? []), k.name]);
  return {
    name: table,
    columns: new Map(cols.map((c) => {
      const type = columnType(c.type_name, c.max_length, c.precision, c.scale);
      return [c.name, { name: c.name, type, nullable: c.nullable, zoned: type.startsWith('datetimeoffset') }];
    })),
    uniqueKeys: [...byIndex.values()],
  };
}

/** The type as it is written in DDL, e.g. `nvarchar(50)` (max_length counts bytes, two per nvarchar character). */
export function columnType(name: string, maxLength: number, precision: number, scale: number): string {
  const length = (perChar: number) => (maxLength === -1 ? 'max' : String(maxLength / perChar));
  switch (name) {
    case 'nvarchar':
    case 'nchar':
      return `${name}(${length(2)})`;
    case 'varchar':
    case 'char':
    case 'varbinary':
    case 'binary':
      return `${name}(${length(1)})`;
    case 'decimal':
    case 'numeric':
      return `${name}(${precision},${scale})`;
    case 'datetime2':
    case 'datetimeoffset':
    case 'time':
      return `${name}(${scale})`;
    default:
      return name;
  }
}

/**
 * Describes the query as readChanges will run it (a derived table), so that what SQL Server refuses
 * there, such as an ORDER BY without TOP, is refused here already.
 */
async function describeQuery(db: Runner, query: string): Promise<ColumnInfo[]> {
  const problem = await checkQuery(query);
  if (problem) throw new Error(`the query ${problem}`);
  const described = await rows<{ name: string | null; type: string | null; nullable: boolean | null; is_hidden: boolean | null; error_message: string | null }>(
    db,
    `SELECT name, system_type_name AS type, is_nullable AS nullable, is_hidden, error_message
       FROM sys.dm_exec_describe_first_result_set(@p1, NULL, 0) ORDER BY column_ordinal`,
    [`SELECT * FROM (${wrappable(query)}) AS s`],
  );
  const failure = described.find((r) => r.error_message);
  if (failure) throw new Error(failure.error_message!);
  return described.filter((r) => !r.is_hidden).map((r) => ({
    name: r.name ?? '',
    type: r.type ?? '',
    nullable: r.nullable ?? true,
    zoned: (r.type ?? '').startsWith('datetimeoffset'),
  }));
}
