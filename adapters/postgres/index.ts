import { Client } from 'pg';
import type { Dialect } from '../adapter';
import { onServer } from '../shared/server';
import { PgDatabase } from './database';
import { sql } from '../sql';
import { checkQuery } from './query';
import { quote } from './sql';

/** Runs statements on the server's maintenance database, `postgres`. */
async function runOnServer(url: string, statements: (name: string) => string[]): Promise<void> {
  const { name, server } = onServer(url, 'postgres');
  const admin = new Client({ connectionString: server });
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
  checkQuery,
  createDatabase: (url, options) => runOnServer(url, (name) => [
    ...(options?.replace ? [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`] : []),
    `CREATE DATABASE ${name} ENCODING 'UTF8' TEMPLATE template0`,
  ]),
  dropDatabase: (url) => runOnServer(url, (name) => [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
};
