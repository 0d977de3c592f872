import type { Dialect } from '../adapter';
import { MssqlDatabase } from './database';

/** SQL Server through `mssql` (tedious); 2016 or later, databases at compatibility level 130 or more (OPENJSON). */
export const mssql: Dialect = {
  driver: 'mssql',
  async connect(config, label) {
    const db = await MssqlDatabase.open(config, label);
    await db.native('SELECT 1');
    return db;
  },
};
