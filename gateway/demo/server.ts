import { connect, createDatabase } from '../../adapters';
import type { Database, Row } from '../../adapters/adapter';
import { inChunks, sql, type Sql } from '../../adapters/sql';
import type { Department } from '../config/model';
import { DxgError } from '../errors';
import { maskText } from '../mask';

export type Engine = 'postgres' | 'mysql';

/**
 * The demo's own connection to a department database, standing in for the department's business
 * system: it creates the business tables and writes their rows. The gateway never uses it.
 */
export interface SetupConnection {
  readonly engine: Engine;
  run(statement: Sql): Promise<Row[]>;
  /** Multi-row INSERTs in chunks: thousands of rows in a few statements. */
  insert(table: string, rows: readonly object[]): Promise<void>;
  close(): Promise<void>;
}

const ROWS_PER_INSERT = 500;

export interface DemoDatabase {
  department: Department;
  engine: Engine;
  name: string;
}

/**
 * Which database the demo may reset for a department. Only databases named `dxg_*` are ever dropped:
 * the demo must not be able to destroy a real department's data through a mistyped config.
 */
export function demoDatabase(department: Department): DemoDatabase {
  const { driver, url } = department.database;
  if (driver !== 'postgres' && driver !== 'mysql') {
    throw new DxgError('DXG_CONFIG', `the demo builds PostgreSQL and MySQL/MariaDB databases, not ${driver}`, `department ${department.id}`);
  }
  return { department, engine: driver, name: resettableName(url, `department ${department.id}`) };
}

/** The name of a database the demo may drop: only `dxg_*` (letters, digits, _). */
export function resettableName(url: string, where: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^dxg_\w+$/.test(name)) {
    throw new DxgError('DXG_CONFIG', `the demo only resets databases named dxg_* (letters, digits, _); refusing to drop '${name || '(none)'}' at ${maskText(url)}`, where);
  }
  return name;
}

/** Drops and creates the department's database on its server, then connects to the new one. */
export async function resetDatabase(db: DemoDatabase): Promise<SetupConnection> {
  await createDatabase(db.department.database, { replace: true });
  const conn = await connect({ ...db.department.database, pool: 2 }, `demo ${db.department.id}`);
  return { engine: db.engine, run: (statement) => conn.query(statement), insert: (table, rows) => insertChunks(conn, table, rows), close: () => conn.close() };
}

async function insertChunks(conn: Database, table: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  await inChunks(rows as Record<string, unknown>[], ROWS_PER_INSERT, async (chunk) => {
    await conn.execute(sql`INSERT INTO ${sql.table(table)} (${sql.ids(columns)}) VALUES ${sql.join(chunk.map((r) => sql.list(columns.map((c) => r[c]))))}`);
  });
}
