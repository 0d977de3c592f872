import type { Dialect } from '../adapter';
import { PgDatabase } from './database';

/** PostgreSQL through `pg`. */
export const postgres: Dialect = {
  driver: 'postgres',
  async connect(config, label) {
    const db = new PgDatabase(config, label);
    await db.native('SELECT 1');
    return db;
  },
};
