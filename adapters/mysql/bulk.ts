import type { Readable } from 'node:stream';
import type { ResultSetHeader } from 'mysql2/promise';
import type { BulkCopy } from '../adapter';
import { quoteName } from '../sql';
import type { Using } from './connection';
import { quote } from './sql';

/**
 * LOAD DATA LOCAL INFILE, the "file" being the source stream: the driver uploads what the stream
 * gives and never opens a file itself (asked for one without a stream, it refuses the server). No
 * copyOut: MySQL writes a result in this format only into a file on the server (SELECT … INTO OUTFILE).
 */
export class MysqlBulk implements BulkCopy {
  constructor(private readonly using: Using) {}

  async copyIn(table: string, columns: readonly string[], source: Readable): Promise<{ rows: number; warnings: number }> {
    // the session never has NO_BACKSLASH_ESCAPES, so '\t' is a tab and '\\' one backslash
    const statement = `LOAD DATA LOCAL INFILE 'stream' INTO TABLE ${quoteName(quote, table)} CHARACTER SET utf8mb4
      FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns.map(quote).join(', ')})`;
    try {
      const [result] = await this.using((conn) => conn.query<ResultSetHeader>({ sql: statement, infileStreamFactory: () => source }));
      return { rows: result.affectedRows, warnings: result.warningStatus };
    } catch (err) {
      source.destroy();
      throw err;
    }
  }
}
