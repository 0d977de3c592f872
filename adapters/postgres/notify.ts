import { Client, type Pool } from 'pg';
import type { ChangeSource } from '../adapter';
import { quoteName } from '../sql';
import { quote } from './sql';

/**
 * LISTEN/NOTIFY: a statement-level trigger on the source table notifies a channel; the notification is
 * delivered when the writing transaction commits, exactly when its rows become readable.
 */
export async function watch(pool: Pool, source: ChangeSource, channel: string): Promise<void> {
  const run = (text: string) => pool.query(text);
  if (!source.table) throw new Error('notify needs source.table (a query has no table to put a trigger on)');
  const table = quoteName(quote, source.table);
  await run(`CREATE OR REPLACE FUNCTION dxg_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify(TG_ARGV[0], ''); RETURN NULL; END $$`);
  const trigger = quote(`${channel}_notify`);
  await run(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
  await run(`CREATE TRIGGER ${trigger} AFTER INSERT OR UPDATE OR DELETE ON ${table}
    FOR EACH STATEMENT EXECUTE FUNCTION dxg_notify('${channel.replace(/'/g, "''")}')`);
}

/** A dedicated connection (a pooled one would lose its LISTEN); it reconnects after losing its server. */
export async function listen(url: string, channel: string, onChange: () => void): Promise<() => Promise<void>> {
  let client: Client | null = null;
  let stopped = false;
  const connect = async (): Promise<void> => {
    const c = new Client({ connectionString: url, application_name: 'dxg listen' });
    c.on('notification', onChange);
    c.on('error', () => undefined);
    c.on('end', () => {
      if (!stopped) setTimeout(() => void connect().catch(() => undefined), 1000);
    });
    await c.connect();
    await c.query(`LISTEN ${quote(channel)}`);
    client = c;
    onChange(); // writes made while not listening are found by this cycle
  };
  await connect();
  return async () => {
    stopped = true;
    await client?.end().catch(() => undefined);
  };
}
