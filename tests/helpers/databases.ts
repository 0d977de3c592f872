import mysql from 'mysql2/promise';
import { Client } from 'pg';

/**
 * Throw-away databases on the local servers for one test file: unique names, dropped afterwards.
 * Override the servers with DXG_TEST_PG_URL / DXG_TEST_MYSQL_URL (no database in the URL).
 */
export const PG_SERVER = process.env.DXG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const MYSQL_SERVER = process.env.DXG_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export interface TestDatabase {
  driver: 'postgres' | 'mysql';
  name: string;
  url: string;
  /** runs SQL (with the driver's own placeholders: $1 for postgres, ? for mysql) */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
  /** closes the connection and keeps the database (to look at it after a test) */
  close(): Promise<void>;
}

let counter = 0;
const uniqueName = (prefix: string) => `dxgt_${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;

export async function createPostgres(prefix = 'pg'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = new Client({ connectionString: `${PG_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `${PG_SERVER}/${name}`;
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    driver: 'postgres',
    name,
    url,
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    drop: async () => {
      await client.end();
      const a = new Client({ connectionString: `${PG_SERVER}/postgres` });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
    close: () => client.end(),
  };
}

export async function createMysql(prefix = 'my'): Promise<TestDatabase> {
  const name = uniqueName(prefix);
  const admin = await mysql.createConnection(MYSQL_SERVER);
  await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = `${MYSQL_SERVER}/${name}`;
  const conn = await mysql.createConnection({ uri: url, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  return {
    driver: 'mysql',
    name,
    url,
    query: async <T>(sql: string, params?: unknown[]) => {
      const [rows] = await conn.query(sql, params);
      return (Array.isArray(rows) ? rows : []) as T[];
    },
    drop: async () => {
      await conn.end();
      const a = await mysql.createConnection(MYSQL_SERVER);
      await a.query(`DROP DATABASE IF EXISTS ${name}`);
      await a.end();
    },
    close: () => conn.end(),
  };
}
