import type { FieldPacket, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { Row } from '../adapter';

/** Statements run on one pooled connection, `?` placeholders filled in by the driver. */
export async function rows<T extends Row = Row>(conn: PoolConnection, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  const [result] = await conn.query(sql, params as unknown[]);
  return (Array.isArray(result) ? result : []) as T[];
}

export async function affected(conn: PoolConnection, sql: string, params: readonly unknown[] = []): Promise<number> {
  const [result] = await conn.query<ResultSetHeader>(sql, params as unknown[]);
  return result.affectedRows ?? 0;
}

export async function fields(conn: PoolConnection, sql: string): Promise<FieldPacket[]> {
  return (await conn.query(sql))[1];
}

/**
 * Prepares a new connection's session: strict mode, so a value that does not fit fails instead of
 * being stored truncated; and no NO_BACKSLASH_ESCAPES, because the driver escapes with backslashes.
 */
export async function strictSession(conn: PoolConnection): Promise<void> {
  const [{ mode }] = await rows<{ mode: string }>(conn, 'SELECT @@SESSION.sql_mode AS mode');
  const modes = mode.split(',').filter((m) => m && m !== 'NO_BACKSLASH_ESCAPES');
  if (!modes.includes('STRICT_TRANS_TABLES') && !modes.includes('STRICT_ALL_TABLES')) modes.push('STRICT_TRANS_TABLES');
  if (modes.join(',') !== mode) await conn.query('SET SESSION sql_mode = ?', [modes.join(',')]);
}
