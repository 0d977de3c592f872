import type { Dialect } from '../adapter';
import { MysqlDatabase } from './database';

/** MySQL 8 and MariaDB through `mysql2`. */
export const mysql: Dialect = {
  driver: 'mysql',
  async connect(config, label) {
    const db = new MysqlDatabase(config, label);
    await db.native('SELECT 1');
    return db;
  },
};
