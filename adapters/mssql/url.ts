import type { DatabaseConfig } from '../../gateway/config/model';
import type { PoolConfig } from './driver';

/**
 * `mssql://user:password@host:1433/database?encrypt=false&trustServerCertificate=true` → pool
 * configuration. User and password are percent-decoded (write `@` as `%40`); without a database the
 * login's default database is used. Query options, all optional:
 *
 *   encrypt=true|false                 TLS to the server (default true, as the driver)
 *   trustServerCertificate=true|false  accept a certificate no CA vouches for (default false)
 *   instanceName=NAME                  a named instance, found through SQL Server Browser (the port is then not used)
 *   connectTimeout=MS                  to open a connection (default 10000)
 *   requestTimeout=MS                  per statement (default 0: none, as for the other engines; a page of a large
 *                                      table or a batch waiting for locks may take long, and a timeout would only retry it)
 *
 * An unknown option is an error, so that a misspelt one is not silently ignored.
 */
export function poolConfig(config: DatabaseConfig, label: string): PoolConfig {
  const url = new URL(config.url);
  if (url.protocol !== 'mssql:' && url.protocol !== 'sqlserver:') throw new Error(`a SQL Server URL starts with mssql://, not ${url.protocol}//`);
  if (!url.hostname) throw new Error('the SQL Server URL names no host');
  const options = new Map(url.searchParams);
  const known = ['encrypt', 'trustServerCertificate', 'instanceName', 'connectTimeout', 'requestTimeout'];
  const unknown = [...options.keys()].filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`unknown SQL Server URL option ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const instanceName = options.get('instanceName');
  return {
    server: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 1433,
    database: database || undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    connectionTimeout: milliseconds(options, 'connectTimeout', 10_000),
    requestTimeout: milliseconds(options, 'requestTimeout', 0),
    pool: { max: config.pool, min: 0 },
    options: {
      encrypt: flag(options, 'encrypt', true),
      trustServerCertificate: flag(options, 'trustServerCertificate', false),
      ...(instanceName ? { instanceName } : {}),
      appName: `dxg ${label}`.slice(0, 128),
    },
  };
}

function flag(options: Map<string, string>, name: string, fallback: boolean): boolean {
  const value = options.get(name);
  if (value === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`SQL Server URL option ${name} must be true or false, not '${value}'`);
}

function milliseconds(options: Map<string, string>, name: string, fallback: number): number {
  const value = options.get(name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`SQL Server URL option ${name} must be a number of milliseconds, not '${value}'`);
  return Number(value);
}
