import type { DatabaseConfig } from '../gateway/config/model';
import { DxgError, errorMessage } from '../gateway/errors';
import { maskText } from '../gateway/mask';
import type { Database, Dialect } from './adapter';

/** Engines are loaded on first use, so a node never loads a driver it does not need. */
const dialects: Record<string, () => Dialect> = {
  postgres: () => require('./postgres').postgres,
  mysql: () => require('./mysql').mysql,
  mssql: () => require('./mssql').mssql,
};

export const DRIVERS = Object.keys(dialects);

export async function connect(config: DatabaseConfig, label: string): Promise<Database> {
  const engine = dialect(config.driver, label);
  try {
    return await engine.connect(config, label);
  } catch (err) {
    throw new DxgError('DXG_DB', `cannot connect to ${maskText(config.url)}: ${errorMessage(err)}`, label, { cause: err });
  }
}

function dialect(driver: string, label: string): Dialect {
  const load = dialects[driver];
  if (!load) throw new DxgError('DXG_CONFIG', `unknown database driver '${driver}' (known: ${DRIVERS.join(', ')})`, label);
  return load();
}

/** Creates the database a URL names on its server (with `replace`, drops it first): the demo, the tests and the benchmark. */
export async function createDatabase(config: { driver: string; url: string }, options?: { replace?: boolean }): Promise<void> {
  try {
    await dialect(config.driver, 'database').createDatabase(config.url, options);
  } catch (err) {
    if (err instanceof DxgError) throw err;
    throw new DxgError('DXG_DB', `cannot create the database ${maskText(config.url)}: ${errorMessage(err)}`, 'database', { cause: err });
  }
}

export async function dropDatabase(config: { driver: string; url: string }): Promise<void> {
  try {
    await dialect(config.driver, 'database').dropDatabase(config.url);
  } catch (err) {
    if (err instanceof DxgError) throw err;
    throw new DxgError('DXG_DB', `cannot drop the database ${maskText(config.url)}: ${errorMessage(err)}`, 'database', { cause: err });
  }
}

/** Checks a source `query:` for an engine without connecting (dxg validate): null when it is one plain SELECT. */
export function checkSourceQuery(driver: string, query: string): Promise<string | null> {
  return dialect(driver, 'query').checkQuery(query);
}

export { sql, type Sql } from './sql';
export type { Database, SqlExecutor, Tx } from './adapter';
