import type { ChangeSource, ColumnInfo, Database, TableInfo, TargetTable } from '../../adapters/adapter';
import { didYouMean } from '../config/suggest';
import type { Flow, FlowTarget } from '../config/model';
import { DxgError } from '../errors';
import type { IndicatorSet, RecordCheck } from '../indicators/registry';

/**
 * A flow's names checked against the database's own catalog: only names found there ever reach SQL.
 * Problems point at the YAML that wrote the name.
 */
export interface SourceBinding {
  flow: Flow;
  set: IndicatorSet;
  change: ChangeSource;
  watermarkColumn: ColumnInfo;
  /** source-side record check: the indicators the source maps */
  check: RecordCheck;
  /** what may be wrong without being certain (said by dxg init and logged by the node), with where */
  warnings: string[];
}

export interface TargetBinding {
  flow: Flow;
  target: FlowTarget;
  set: IndicatorSet;
  table: TargetTable;
  /** target-side record check: the indicators this target is granted */
  check: RecordCheck;
  /** check of a delete, which carries only the key indicators */
  checkKey: RecordCheck;
  /** for on_delete: flag, the column that marks a record deleted and the value that says so */
  flag?: { column: string; value: unknown };
}

export class CatalogError extends DxgError {
  constructor(readonly problems: string[]) {
    super('DXG_CATALOG', problems.join('\n'));
  }
}

export async function bindSource(db: Database, flow: Flow, set: IndicatorSet): Promise<SourceBinding> {
  const { source, doc } = flow;
  const problems: string[] = [];
  let columns: Map<string, ColumnInfo>;
  let info: TableInfo | null = null;
  if (source.table) {
    info = await db.catalog.describeTable(source.table);
    if (!info) throw new CatalogError([`${doc.at(['source', 'table'])}: table '${source.table}' does not exist in the database of department '${source.department}'${await tableHint(db, source.table)}`]);
    columns = info.columns;
  } else {
    try {
      columns = new Map((await db.catalog.describeQuery(source.query!)).map((c) => [c.name, c]));
    } catch (err) {
      throw new CatalogError([`${doc.at(['source', 'query'])}: source.query fails: ${(err as Error).message}`]);
    }
  }
  const where = source.table ? `table '${source.table}'` : 'the result of source.query';
  for (const [indicator, column] of Object.entries(source.fields)) {
    if (!columns.has(column)) problems.push(`${doc.at(['source', 'fields', indicator])}: column '${column}' is not in ${where}${didYouMean(column, columns.keys())}`);
  }
  if (problems.length) throw new CatalogError(problems);
  const col = (indicator: string) => source.fields[indicator];
  const change: ChangeSource = {
    table: source.table,
    query: source.query,
    columns: [...new Set(Object.values(source.fields))],
    key: source.key.map(col),
    watermark: col(source.watermark),
  };
  const watermarkColumn = columns.get(change.watermark)!;
  if ((await db.changes.horizon(change, watermarkColumn)) === null) {
    throw new CatalogError([`${doc.at(['source', 'fields', source.watermark])}: watermark column '${change.watermark}' (${watermarkColumn.type}) cannot be read safely on ${db.driver}: `
      + `use a timestamp column the database sets on every write${db.sql.watermarkHint} (see README, "How changes are captured")`]);
  }
  const warnings: string[] = [];
  // a key the table does not hold unique: two rows of one key are one record, and the newer silently replaces the older at every target
  if (info && !info.uniqueKeys.some((u) => u.every((c) => change.key.includes(c)))) {
    warnings.push(`${doc.at(['source', 'key'])}: source.key (${source.key.join(', ')}) is not unique in table '${source.table}' as its catalog declares it `
      + `(no primary key or unique index within the columns ${change.key.join(', ')}): rows sharing a key are one record, and the newer replaces the older at every target. `
      + 'If the table can hold several rows of one key, add the columns that tell them apart to the key; if it cannot, declare the key in the table (a view declares none: if it gives one row per key, this is no problem)');
  }
  return { flow, set, change, watermarkColumn, check: set.view(Object.keys(source.fields)), warnings };
}

export async function bindTarget(db: Database, flow: Flow, target: FlowTarget, set: IndicatorSet): Promise<TargetBinding> {
  const at = (...path: (string | number)[]) => flow.doc.at(['targets', target.index, ...path]);
  const info: TableInfo | null = await db.catalog.describeTable(target.table);
  if (!info) throw new CatalogError([`${at('table')}: table '${target.table}' does not exist in the database of department '${target.department}'${await tableHint(db, target.table)}`]);
  const problems: string[] = [];
  for (const [indicator, column] of Object.entries(target.fields)) {
    if (!info.columns.has(column)) problems.push(`${at('fields', indicator)}: column '${column}' is not in table '${target.table}'${didYouMean(column, info.columns.keys())}`);
  }
  const keyColumns = flow.source.key.map((k) => target.fields[k]).filter((c): c is string => c !== undefined);
  if (target.mode === 'upsert' && !problems.length) {
    const unique = info.uniqueKeys.some((u) => u.length === keyColumns.length && u.every((c) => keyColumns.includes(c)));
    const others = info.uniqueKeys.filter((u) => !(u.length === keyColumns.length && u.every((c) => keyColumns.includes(c))));
    if (!unique) {
      problems.push(`${at('table')}: mode upsert needs a primary key or unique index on (${keyColumns.join(', ')}) in table '${target.table}'; it has ${info.uniqueKeys.length ? info.uniqueKeys.map((u) => `(${u.join(', ')})`).join(', ') : 'none'}`);
    } else if (others.length && db.sql.upsertOnAnyUniqueKey) {
      problems.push(`${at('table')}: table '${target.table}' has another unique key (${others.map((u) => u.join(', ')).join('; ')}); on ${db.driver} an upsert that clashes on it would overwrite a different record — drop that index, or use mode insert`);
    }
  }
  if (problems.length) throw new CatalogError(problems);
  const table: TargetTable = {
    flow: flow.id,
    table: target.table,
    mode: target.mode,
    keyColumns,
    columns: Object.entries(target.fields).map(([indicator, column]) => ({ name: column, kind: set.kind(indicator), type: info.columns.get(column)!.type })),
  };
  return { flow, target, set, table, check: set.view(Object.keys(target.fields)), checkKey: set.view(flow.source.key), flag: flagOf(flow, target, set) };
}

/** The value written into a flag target's soft-delete column for a record deleted at the source. */
function flagOf(flow: Flow, target: FlowTarget, set: IndicatorSet): TargetBinding['flag'] {
  const indicator = flow.source.softDelete;
  if (target.onDelete !== 'flag' || !indicator) return undefined;
  const kind = set.kind(indicator);
  const value = kind === 'boolean' ? true : kind === 'integer' ? 1 : '1';
  const mapped = target.codes[indicator]?.[String(value)];
  return { column: target.fields[indicator], value: mapped ?? value };
}

/** ` (did you mean 'x'?)` when the database holds a table of a like name (a schema-qualified name is left alone). */
async function tableHint(db: Database, table: string): Promise<string> {
  return table.includes('.') ? '' : didYouMean(table, await db.catalog.tableNames().catch(() => []));
}
