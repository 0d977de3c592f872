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
  const load = dialects[config.driver];
  if (!load) throw new DxgError('DXG_CONFIG', `unknown database driver '${config.driver}' (known: ${DRIVERS.join(', ')})`, label);
  try {
    return await load().connect(config, label);
  } catch (err) {
    throw new DxgError('DXG_DB', `cannot connect to ${maskText(config.url)}: ${errorMessage(err)}`, label, { cause: err });
  }
}
