import type { PoolConnection } from 'mysql2/promise';
import type { ApplyOutcome, ApplyRecord, TargetTable } from '../adapter';
import { quoteName } from '../sql';
import { affected, rows } from './connection';
import { quote } from './sql';
import { toColumnValue } from './values';

/**
 * Three statements per batch (keys unique within it): lock the stored versions of the batch's keys,
 * keep the records not older than them (insert mode: newer, so each version is appended once), then
 * record their versions and write them. The driver escapes the values (`VALUES ?` takes the rows).
 */
export async function apply(conn: PoolConnection, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  const stored = await rows<{ record_key: string; version: string }>(
    conn,
    'SELECT record_key, version FROM dxg_versions WHERE flow = ? AND record_key IN (?) FOR UPDATE',
    [target.flow, records.map((r) => r.key)],
  );
  const held = new Map(stored.map((s) => [s.record_key, BigInt(s.version)]));
  const isFresh = (r: ApplyRecord) => {
    const version = held.get(r.key);
    return version === undefined || (target.mode === 'upsert' ? r.version >= version : r.version > version);
  };
  const fresh = records.filter(isFresh);
  const superseded = records.filter((r) => !isFresh(r)).map((r) => r.key);
  if (fresh.length === 0) return { written: 0, superseded };

  await affected(
    conn,
    'INSERT INTO dxg_versions (flow, record_key, version, deleted) VALUES ? ON DUPLICATE KEY UPDATE version = VALUES(version), deleted = 0',
    [fresh.map((r) => [target.flow, r.key, r.version.toString(), 0])],
  );
  const cols = target.columns;
  let sql = `INSERT INTO ${quoteName(quote, target.table)} (${cols.map((c) => quote(c.name)).join(', ')}) VALUES ?`;
  if (target.mode === 'upsert') {
    const updates = cols.filter((c) => !target.keyColumns.includes(c.name)).map((c) => `${quote(c.name)} = VALUES(${quote(c.name)})`);
    // nothing but the key to write: a no-op update, since INSERT IGNORE would also swallow data errors
    const first = quote(target.keyColumns[0]);
    sql += ` ON DUPLICATE KEY UPDATE ${updates.length ? updates.join(', ') : `${first} = ${first}`}`;
  }
  await affected(conn, sql, [fresh.map((r) => cols.map((c) => toColumnValue(c, r.values[c.name])))]);
  return { written: fresh.length, superseded };
}

/**
 * The bulk path of new keys: two plain multi-row INSERTs, the versions then the rows, with no lock
 * read and no ON DUPLICATE KEY. A key with a version (a live record or a tombstone) or a row fails
 * its statement with a duplicate-key error, a value strict mode refuses with its data error, and the
 * caller rolls back and applies the batch by `apply`. Not LOAD DATA LOCAL: it turns a duplicate key
 * and strict mode's errors into warnings.
 */
export async function insertNew(conn: PoolConnection, target: TargetTable, records: ApplyRecord[]): Promise<ApplyOutcome> {
  if (records.length === 0) return { written: 0, superseded: [] };
  await affected(conn, 'INSERT INTO dxg_versions (flow, record_key, version, deleted) VALUES ?', [records.map((r) => [target.flow, r.key, r.version.toString(), 0])]);
  const cols = target.columns;
  const written = await affected(conn, `INSERT INTO ${quoteName(quote, target.table)} (${cols.map((c) => quote(c.name)).join(', ')}) VALUES ?`,
    [records.map((r) => cols.map((c) => toColumnValue(c, r.values[c.name])))]);
  return { written, superseded: [] };
}
