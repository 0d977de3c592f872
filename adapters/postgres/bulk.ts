import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { BulkCopy } from '../adapter';
import { quoteName, render, type Sql } from '../sql';
import { postgresSql, quote } from './sql';

/**
 * COPY … TO STDOUT and COPY … FROM STDIN in the text format, each on a pooled connection of its own.
 * A connection whose COPY failed or was abandoned half-way is in the middle of the protocol: it is
 * discarded, never pooled again.
 */
export class PgBulk implements BulkCopy {
  constructor(private readonly pool: Pool) {}

  async copyOut(select: Sql): Promise<Readable> {
    const { text, params } = render(select, postgresSql.renderer);
    if (params.length) throw new Error('COPY … TO STDOUT takes no bound values');
    const client = await this.pool.connect();
    const stream = client.query(copyTo(`COPY (${text}) TO STDOUT`));
    finished(stream).then(() => client.release(), (err: Error) => client.release(err));
    return stream;
  }

  async copyIn(table: string, columns: readonly string[], source: Readable): Promise<{ rows: number; warnings: number }> {
    const client = await this.pool.connect().catch((err: unknown) => {
      source.destroy();
      throw err;
    });
    let failed: Error | undefined;
    try {
      const sink = client.query(copyFrom(`COPY ${quoteName(quote, table)} (${columns.map(quote).join(', ')}) FROM STDIN`));
      await pipeline(source, sink);
      return { rows: sink.rowCount, warnings: 0 };
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      client.release(failed);
    }
  }
}
