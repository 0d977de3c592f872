import { Client } from 'pg';
import type { Dialect } from '../adapter';
import { PgDatabase } from './database';
import { sql } from '../sql';
import { quote } from './sql';

/** Runs statements on the server's maintenance database, `postgres`. */
async function onServer(url: string, statements: (name: string) => string[]): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`no database named in ${target.protocol}//${target.host}`);
  target.pathname = '/postgres';
  const admin = new Client({ connectionString: target.toString() });
  await admin.connect();
  try {
    for (const statement of statements(quote(name))) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** PostgreSQL through `pg`. */
export const postgres: Dialect = {
  driver: 'postgres',
  async connect(config, label) {
    const db = new PgDatabase(config, label);
    await db.execute(sql`SELECT 1`);
    return db;
  },
  createDatabase: (url, options) => onServer(url, (name) => [
    ...(options?.replace ? [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`] : []),
    `CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`,
  ]),
  dropDatabase: (url) => onServer(url, (name) => [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
};
