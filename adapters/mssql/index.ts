import type { Dialect } from '../adapter';
import { sql } from '../sql';
import { rows } from './connection';
import { MssqlDatabase } from './database';
import { quote } from './sql';

/** Runs statements on the server's `master` database. */
async function onServer(url: string, statements: (name: string, literal: string) => string[]): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`no database named in ${target.protocol}//${target.host}`);
  target.pathname = '/master';
  const admin = await MssqlDatabase.open({ driver: 'mssql', url: target.toString(), pool: 1 }, 'server');
  try {
    for (const statement of statements(quote(name), `N'${name.replace(/'/g, "''")}'`)) await rows(admin.runner, statement);
  } finally {
    await admin.close();
  }
}

const drop = (name: string, literal: string) =>
  `IF DB_ID(${literal}) IS NOT NULL BEGIN ALTER DATABASE ${name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${name}; END`;

/** SQL Server through `mssql` (tedious); 2016 or later, databases at compatibility level 130 or more (OPENJSON). */
export const mssql: Dialect = {
  driver: 'mssql',
  async connect(config, label) {
    const db = await MssqlDatabase.open(config, label);
    await db.execute(sql`SELECT 1`);
    return db;
  },
  createDatabase: (url, options) => onServer(url, (name, literal) => [...(options?.replace ? [drop(name, literal)] : []), `CREATE DATABASE ${name}`]),
  dropDatabase: (url) => onServer(url, (name, literal) => [drop(name, literal)]),
};
