import { createConnection } from 'mysql2/promise';
import type { Dialect } from '../adapter';
import { sql } from '../sql';
import { MysqlDatabase } from './database';
import { quote } from './sql';

/** Runs statements on the server without a default database. */
async function onServer(url: string, statements: (name: string) => string[]): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`no database named in ${target.protocol}//${target.host}`);
  target.pathname = '';
  const admin = await createConnection({ uri: target.toString() });
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
  createDatabase: (url, options) => onServer(url, (name) => [
    ...(options?.replace ? [`DROP DATABASE IF EXISTS ${name}`] : []),
    `CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
  ]),
  dropDatabase: (url) => onServer(url, (name) => [`DROP DATABASE IF EXISTS ${name}`]),
};
