import type { Tx } from '../../adapters/adapter';
import { quoteName } from '../../adapters/shared/keyset';
import type { TargetBinding } from './binding';

/** A record to delete at a target: its key as text, its version, and its key column values. */
export interface DeleteRecord {
  key: string;
  version: bigint;
  keyValues: unknown[];
}

const CHUNK = 200;

/**
 * Deletes records at a target (or, for `on_delete: flag`, sets the soft-delete indicator's column),
 * unless the target holds a newer version. The version table keeps a tombstone, so an older copy of
 * the record arriving later cannot bring it back. Deletes are rare next to upserts: plain portable
 * SQL, in chunks.
 */
export async function applyDeletes(tx: Tx, binding: TargetBinding, deletes: DeleteRecord[]): Promise<{ removed: number; superseded: string[] }> {
  if (deletes.length === 0) return { removed: 0, superseded: [] };
  const flow = binding.flow.id;
  const held = new Map<string, bigint>();
  for (let i = 0; i < deletes.length; i += CHUNK) {
    const keys = deletes.slice(i, i + CHUNK).map((d) => d.key);
    const rows = await tx.query<{ record_key: string; version: string | number }>(
      tx.sql.forUpdate(`SELECT record_key, version FROM dxg_versions WHERE flow = ? AND record_key IN (${keys.map(() => '?').join(', ')})`, 'dxg_versions'),
      [flow, ...keys],
    );
    for (const r of rows) held.set(r.record_key, BigInt(r.version));
  }
  const fresh = deletes.filter((d) => !held.has(d.key) || held.get(d.key)! <= d.version);
  const superseded = deletes.filter((d) => !fresh.includes(d)).map((d) => d.key);
  for (const d of fresh) {
    if (held.has(d.key)) {
      await tx.execute('UPDATE dxg_versions SET version = ?, deleted = ? WHERE flow = ? AND record_key = ?', [d.version.toString(), true, flow, d.key]);
    } else {
      await tx.execute('INSERT INTO dxg_versions (flow, record_key, version, deleted) VALUES (?, ?, ?, ?)', [flow, d.key, d.version.toString(), true]);
    }
  }
  const { table, keyColumns } = binding.table;
  const q = tx.sql.quote;
  const matchOne = `(${keyColumns.map((c) => `${q(c)} = ?`).join(' AND ')})`;
  let removed = 0;
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const chunk = fresh.slice(i, i + CHUNK);
    const where = chunk.map(() => matchOne).join(' OR ');
    const keyParams = chunk.flatMap((d) => d.keyValues);
    removed += binding.flag
      ? await tx.execute(`UPDATE ${quoteName(q, table)} SET ${q(binding.flag.column)} = ? WHERE ${where}`, [binding.flag.value, ...keyParams])
      : await tx.execute(`DELETE FROM ${quoteName(q, table)} WHERE ${where}`, keyParams);
  }
  return { removed, superseded };
}
