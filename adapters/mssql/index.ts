import type { Dialect } from '../adapter';
import { onServer } from '../shared/server';
import { sql } from '../sql';
import { rows } from './connection';
import { MssqlDatabase } from './database';
import { checkQuery } from './query';
import { quote } from './sql';

/** Runs statements on the server's `master` database. */
async function runOnServer(url: string, statements: (name: string, literal: string) => string[]): Promise<void> {
  const { name, server } = onServer(url, 'master');
  const admin = await MssqlDatabase.open({ driver: 'mssql', url: server, pool: 1 }, 'server');
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
  checkQuery,
  createDatabase: (url, options) => runOnServer(url, (name, literal) => [...(options?.replace ? [drop(name, literal)] : []), `CREATE DATABASE ${name}`]),
  dropDatabase: (url) => runOnServer(url, (name, literal) => [drop(name, literal)]),
};
