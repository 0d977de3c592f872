import { connect, createDatabase, dropDatabase } from '../../adapters';
import type { Database, Row } from '../../adapters/adapter';
import { sql, type Sql } from '../../adapters/sql';

/**
 * Throw-away databases on the local servers for one test file: unique names, dropped afterwards.
 * Override the servers with DXG_TEST_PG_URL / DXG_TEST_MYSQL_URL (no database in the URL); SQL
 * Server takes part wherever DXG_TEST_MSSQL_URL names one (a database the login may create
 * databases beside). Everything goes through the adapters, as the gateway's own access does.
 */
export const PG_SERVER = process.env.DXG_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const MYSQL_SERVER = process.env.DXG_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const MSSQL_SERVER = process.env.DXG_TEST_MSSQL_URL;

export type Driver = 'postgres' | 'mysql' | 'mssql';

export interface TestDatabase {
  driver: Driver;
  name: string;
  url: string;
  /** the adapter's connection to it */
  db: Database;
  query<T extends Row = Row>(statement: Sql): Promise<T[]>;
  execute(statement: Sql): Promise<number>;
  /** runs SQL text as it is (DDL, a test's own fixture), one statement per call */
  run(text: string): Promise<Row[]>;
  drop(): Promise<void>;
  /** closes the connection and keeps the database (to look at it after a test) */
  close(): Promise<void>;
}

let counter = 0;
const uniqueName = (prefix: string) => `dxgt_${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;

/** The server URL with a database name in it; for SQL Server, the query options are kept. */
function withDatabase(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(driver: Driver, prefix: string = driver): Promise<TestDatabase> {
  const server = { postgres: PG_SERVER, mysql: MYSQL_SERVER, mssql: MSSQL_SERVER }[driver];
  if (!server) throw new Error(`no ${driver} server configured for the tests`);
  const name = uniqueName(prefix);
  const url = withDatabase(server, name);
  await createDatabase({ driver, url });
  const db = await connect({ driver, url, pool: 4 }, `test ${name}`);
  return {
    driver,
    name,
    url,
    db,
    query: (statement) => db.query(statement),
    execute: (statement) => db.execute(statement),
    run: (text) => db.query(sql.raw(text)),
    drop: async () => {
      await db.close();
      await dropDatabase({ driver, url });
    },
    close: () => db.close(),
  };
}

export const createPostgres = (prefix = 'pg'): Promise<TestDatabase> => createTestDatabase('postgres', prefix);
export const createMysql = (prefix = 'my'): Promise<TestDatabase> => createTestDatabase('mysql', prefix);

/** The engines the tests run on here: PostgreSQL and MariaDB always, SQL Server when configured. */
export const ENGINES: Driver[] = ['postgres', 'mysql', ...(MSSQL_SERVER ? (['mssql'] as const) : [])];
