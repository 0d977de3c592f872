import type { Readable } from 'node:stream';
import type { DatabaseConfig } from '../gateway/config/model';
import type { Kind } from '../gateway/indicators/codec';
import type { ValueCheck } from './shared/exact';
import type { Renderer, Sql } from './sql';

export type { ValueCheck };

/**
 * The one interface between the engine and a database engine. Each engine (postgres/, mysql/,
 * mssql/) implements it with its own driver, SQL and quirks; the engine never asks which one it has.
 *
 * Values cross this boundary in canonical shapes: text, numbers, booleans, null, and exact strings
 * for what a float would spoil (decimals, 64-bit integers, dates `YYYY-MM-DD`, timestamps in ISO 8601
 * with their full fractional seconds).
 */
export type Row = Record<string, unknown>;

export interface ColumnInfo {
  name: string;
  /** the engine's own type name, e.g. `numeric(18,2)`, `datetime(6)` */
  type: string;
  nullable: boolean;
  /** the value has a time zone (timestamptz, datetimeoffset) */
  zoned?: boolean;
}

export interface TableInfo {
  /** the name as written in the flow */
  name: string;
  columns: Map<string, ColumnInfo>;
  /** primary key and unique keys, each a list of column names */
  uniqueKeys: string[][];
}

/** Where a flow's records come from, in database terms (columns already checked against the catalog). */
export interface ChangeSource {
  table?: string;
  query?: string;
  /** every column to read, each once */
  columns: string[];
  key: string[];
  watermark: string;
}

/** A place in `(watermark, key…)` order: the last row a checkpoint covers. */
export interface Position {
  watermark: unknown;
  key: unknown[];
}

export interface TargetColumn {
  name: string;
  kind: Kind;
  type: string;
}

export interface TargetTable {
  flow: string;
  table: string;
  mode: 'upsert' | 'insert';
  columns: TargetColumn[];
  /** columns that hold the record key (upsert conflict target) */
  keyColumns: string[];
}

/** One record to write: values by target column, already mapped through the target's code tables. */
export interface ApplyRecord {
  /** the record key as text (single value, or a JSON array for composite keys) */
  key: string;
  version: bigint;
  values: Row;
}

export interface ApplyOutcome {
  /** records written */
  written: number;
  /**
   * keys skipped because the target already holds a newer version (upsert) or this version
   * (insert, which appends each version once)
   */
  superseded: string[];
}

/** Executing statements: the role every engine's connection pool plays. */
export interface SqlExecutor {
  /** Runs a statement, returns its rows. */
  query<T extends Row = Row>(statement: Sql): Promise<T[]>;
  /** Runs a statement, returns the number of rows it affected. */
  execute(statement: Sql): Promise<number>;
}

export interface Tx extends SqlExecutor {
  readonly sql: SqlDialect;
  /** Upserts (or inserts) records unless the target already holds a newer version of them; keys are unique in one call. */
  apply(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome>;
  /**
   * The engine's bulk path for records whose keys are new here: writes them and their versions
   * without an upsert, and fails (a unique violation or a data error) when any key already has a
   * version (a live record or a tombstone) or a row, or a value is refused. Run it where a failure
   * can be undone (the caller rolls the transaction back and runs it again) and fall back to
   * `apply`. Values must have been checked for exactness first. Absent where the engine has no such
   * path that reports a duplicate key (SQL Server, for now; MySQL's is plain INSERTs, since LOAD DATA
   * LOCAL turns a duplicate key into a warning).
   */
  insertNew?(target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome>;
  /**
   * Lines of COPY text (see BulkCopy) into `columns` of `table` inside this transaction, where the
   * engine has a bulk load that can be rolled back with it; returns the rows written. Outside the
   * gateway's record path: the benchmark's floor of a text wire applies its pages with it.
   */
  copyIn?(table: string, columns: readonly string[], lines: string | Buffer): Promise<number>;
  /** Runs `fn` once the transaction has committed (never if it rolls back). */
  afterCommit(fn: () => void): void;
  /** Runs `fn` so that its failure undoes only its own work (a savepoint), then rethrows. */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

/** Portable SQL for the bookkeeping tables: the few things that differ between engines. */
export interface SqlDialect {
  /** how this engine writes an identifier, and binds a value */
  renderer: Renderer;
  types: { text: string; blob: string; bigint: string; int: string; bool: string; key(length: number): string; serial: string };
  /** statements creating a table and its indexes unless they exist */
  createTable(name: string, columns: string, indexes: { name: string; columns: string[] }[]): Sql[];
  /** a SELECT with a row limit */
  limit(select: Sql, n: number): Sql;
  /** a SELECT … FOR UPDATE (or the engine's row lock hint) */
  forUpdate(select: Sql, table: string): Sql;
  isUniqueViolation(err: unknown): boolean;
  /**
   * A statement refreshing a table's planner statistics inside a transaction, or null where the
   * engine cannot (MySQL's ANALYZE TABLE commits) or need not. Used after bulk staging, so that a join
   * over freshly loaded rows is not planned as if the table were empty.
   */
  analyze(table: string): Sql | null;
  /**
   * The engine's upsert fires on a clash with any unique key, not only the record key (MySQL's ON
   * DUPLICATE KEY): a table with a second unique key cannot be an upsert target safely.
   */
  upsertOnAnyUniqueKey: boolean;
  /** the statement failed because of the data in it (too long, out of range, constraint), not the connection */
  isDataError(err: unknown): boolean;
  /**
   * The transaction lost a race with another one (a deadlock, a serialization failure, a lock
   * timeout): it was rolled back and succeeds if simply run again.
   */
  isConflict(err: unknown): boolean;
  /**
   * What a value must satisfy to be stored in a column of this type exactly as it is (the scale of a
   * decimal, the fractional seconds of a time), or null when the engine refuses every value it would
   * change. Built once per column.
   */
  valueCheck(type: string): ValueCheck | null;
  /** what, besides a timestamp column the database sets on every write, can be a watermark here (for the error that refuses one) */
  watermarkHint: string;
}

/** Reading the catalog: what tables, columns and keys exist, as the database itself says. */
export interface CatalogReader {
  describeTable(table: string): Promise<TableInfo | null>;
  /** The tables and views of the connection's own schema (database), by name: what a misspelt table is likened to. */
  tableNames(): Promise<string[]>;
  /** The columns of a source `query:`, which is checked first (see Dialect.checkQuery): one that is not a plain SELECT is refused unrun. */
  describeQuery(query: string): Promise<ColumnInfo[]>;
}

/**
 * Reading changes from a source. Every read runs in a read-only transaction where the engine has
 * one, so no source read can write, whatever a query calls.
 */
export interface ChangeReader {
  /**
   * How long after its commit a row may still lie above the horizon (clock steps, the settle margin).
   * `dxg run --once` waits this long first, so that it takes everything committed before it started.
   */
  readonly settleMs: number;
  /**
   * The exclusive upper bound for watermarks that can be read safely: no transaction still running
   * can commit a row below it. Null when the engine cannot bound this kind of column (the flow is
   * refused at start).
   */
  horizon(source: ChangeSource, watermark: ColumnInfo): Promise<unknown>;
  /** The database's current time as a value of the watermark column (what `horizon` will pass once nothing older is open). */
  clock(watermark: ColumnInfo): Promise<unknown>;
  /** One page of rows after `after` and below `horizon`, in `(watermark, key…)` order. */
  read(source: ChangeSource, after: Position | null, horizon: unknown, limit: number): Promise<Row[]>;
  /** How many rows `read` would go through from `after` up to `horizon`. */
  count(source: ChangeSource, after: Position | null, horizon: unknown): Promise<number>;
  /** One page of `columns` of every row, in key order, after the key values `afterKey`. */
  scanKeys(source: ChangeSource, columns: string[], afterKey: unknown[] | null, limit: number): Promise<Row[]>;
  /**
   * Change notification, where the engine has it: `watch` installs what makes every write to the
   * source notify `channel` (at dxg init; it alters the source table by a trigger), `listen` calls
   * `onChange` on each notification until the returned function stops it. Absent where the engine has
   * none: the schedule alone drives extraction.
   */
  notifications?: {
    watch(source: ChangeSource, channel: string): Promise<void>;
    listen(channel: string, onChange: () => void): Promise<() => Promise<void>>;
  };
}

/** One department database, by role: statements (itself), its catalog, its changes. */
export interface Database extends SqlExecutor {
  readonly driver: string;
  readonly sql: SqlDialect;
  readonly catalog: CatalogReader;
  readonly changes: ChangeReader;
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `fn` in a read-only transaction where the engine has one (SQL Server: a plain one; its login must hold only read rights). */
  readOnly<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Streaming bulk loads, where the engine has them. */
  readonly bulk?: BulkCopy;
}

/**
 * The engine's own bulk path, for loading many rows at once outside the gateway's record path: the
 * benchmark fills its source table with it, and its baselines are exactly these operations piped
 * into each other, with nothing of the gateway in between. The gateway itself never uses it.
 *
 * Rows travel as lines of PostgreSQL's COPY text format, which LOAD DATA reads as well: fields
 * separated by tabs, `\N` for NULL, backslash escapes for tab, newline, carriage return and backslash.
 */
export interface BulkCopy {
  /**
   * The rows of a SELECT (binding no values: COPY takes none), streamed as they are read; its
   * connection returns to the pool once the stream ends or is destroyed. Absent where the engine
   * cannot stream a result out in this format (MySQL's SELECT … INTO OUTFILE writes on the server).
   */
  copyOut?(select: Sql): Promise<Readable>;
  /**
   * Loads the lines of `source` into `columns` of `table` in one statement (one transaction);
   * `source` is consumed, or destroyed on failure. `warnings`: values the engine adjusted instead of
   * refusing them (LOAD DATA LOCAL cannot stop the upload, so it turns data errors into warnings).
   */
  copyIn(table: string, columns: readonly string[], source: Readable): Promise<{ rows: number; warnings: number }>;
}

/** A database server, for creating and dropping whole databases (the demo, the tests, the benchmark). */
export interface Server {
  /** Creates the database named in `url` (UTF-8 throughout); with `replace`, drops it first. */
  createDatabase(url: string, options?: { replace?: boolean }): Promise<void>;
  dropDatabase(url: string): Promise<void>;
}

export interface Dialect extends Server {
  readonly driver: string;
  connect(config: DatabaseConfig, label: string): Promise<Database>;
  /**
   * Checks a source `query:` with a real parser of the engine's SQL: null when it is exactly one
   * SELECT statement that neither writes nor locks, else what is wrong. No connection needed.
   */
  checkQuery(query: string): Promise<string | null>;
}
