import { createConnection } from 'mysql2/promise';
import type { Dialect } from '../adapter';
import { onServer } from '../shared/server';
import { sql } from '../sql';
import { MysqlDatabase } from './database';
import { checkQuery } from './query';
import { quote } from './sql';

/** Runs statements on the server without a default database. */
async function runOnServer(url: string, statements: (name: string) => string[]): Promise<void> {
  const { name, server } = onServer(url, '');
  const admin = await createConnection({ uri: server });
  try {
    for (const statement of statements(quote(name))) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** MySQL 8 and MariaDB through `mysql2`. */
export const mysql: Dialect = {
  driver: 'mysql',
  async connect(config, label) {
    const db = new MysqlDatabase(config, label);
    await db.execute(sql`SELECT 1`);
    return db;
  },
  checkQuery,
  createDatabase: (url, options) => runOnServer(url, (name) => [
    ...(options?.replace ? [`DROP DATABASE IF EXISTS ${name}`] : []),
    `CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
  ]),
  dropDatabase: (url) => runOnServer(url, (name) => [`DROP DATABASE IF EXISTS ${name}`]),
};
