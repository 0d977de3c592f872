import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { numberPlaceholders } from '../../adapters/shared/keyset';
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
  /** SQL with `?` placeholders */
  run(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
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
    throw new DxgError('DXG_USAGE', `the demo builds PostgreSQL and MySQL/MariaDB databases, not ${driver}`, `department ${department.id}`);
  }
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^dxg_\w+$/.test(name)) {
    throw new DxgError('DXG_USAGE', `the demo only resets databases named dxg_* (letters, digits, _); refusing to drop '${name || '(none)'}' at ${maskText(url)}`, `department ${department.id}`);
  }
  return { department, engine: driver, name };
}

/** Drops and creates the department's database on its server, then connects to the new one. */
export async function resetDatabase(db: DemoDatabase): Promise<SetupConnection> {
  const url = new URL(db.department.database.url);
  if (db.engine === 'postgres') {
    url.pathname = '/postgres';
    const admin = new Client({ connectionString: url.toString() });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${db.name}" ENCODING 'UTF8' TEMPLATE template0`);
    } finally {
      await admin.end();
    }
  } else {
    url.pathname = '';
    const admin = await mysql.createConnection({ uri: url.toString() });
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${db.name}\``);
      await admin.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    } finally {
      await admin.end();
    }
  }
  return openDatabase(db);
}

async function openDatabase(db: DemoDatabase): Promise<SetupConnection> {
  const { url } = db.department.database;
  if (db.engine === 'postgres') {
    const client = new Client({ connectionString: url });
    await client.connect();
    const run = async (sql: string, params: readonly unknown[] = []) => (await client.query(numberPlaceholders(sql, (n) => `$${n}`), params as unknown[])).rows as Record<string, unknown>[];
    return { engine: db.engine, run, insert: (table, rows) => insertChunks(run, table, rows), close: () => client.end() };
  }
  const conn = await mysql.createConnection({ uri: url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, charset: 'utf8mb4' });
  const run = async (sql: string, params: readonly unknown[] = []) => {
    const [rows] = await conn.query(sql, [...params]);
    return (Array.isArray(rows) ? rows : []) as Record<string, unknown>[];
  };
  return { engine: db.engine, run, insert: (table, rows) => insertChunks(run, table, rows), close: () => conn.end() };
}

async function insertChunks(run: SetupConnection['run'], table: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT) as Record<string, unknown>[];
    await run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flatMap((r) => columns.map((c) => r[c])));
  }
}
