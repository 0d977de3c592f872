import type { Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import type { TargetBinding } from './binding';

/** A record to delete at a target: its key as text, its version, and its key column values. */
export interface DeleteRecord {
  key: string;
  version: bigint;
  keyValues: unknown[];
}


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
  await inChunks(deletes, 200, async (chunk) => {
    const rows = await tx.query<{ record_key: string; version: string | number }>(
      tx.sql.forUpdate(sql`SELECT record_key, version FROM dxg_versions WHERE flow = ${flow} AND record_key IN ${sql.list(chunk.map((d) => d.key))}`, 'dxg_versions'),
    );
    for (const r of rows) held.set(r.record_key, BigInt(r.version));
  });
  const fresh = deletes.filter((d) => !held.has(d.key) || held.get(d.key)! <= d.version);
  const superseded = deletes.filter((d) => !fresh.includes(d)).map((d) => d.key);
  for (const d of fresh) {
    if (held.has(d.key)) {
      await tx.execute(sql`UPDATE dxg_versions SET version = ${d.version.toString()}, deleted = ${true} WHERE flow = ${flow} AND record_key = ${d.key}`);
    } else {
      await tx.execute(sql`INSERT INTO dxg_versions (flow, record_key, version, deleted) VALUES (${flow}, ${d.key}, ${d.version.toString()}, ${true})`);
    }
  }
  const { table, keyColumns } = binding.table;
  const matchOne = (d: DeleteRecord) => sql`(${sql.join(keyColumns.map((c, i) => sql`${sql.id(c)} = ${d.keyValues[i]}`), ' AND ')})`;
  let removed = 0;
  await inChunks(fresh, 200, async (chunk) => {
    const where = sql.join(chunk.map(matchOne), ' OR ');
    removed += binding.flag
      ? await tx.execute(sql`UPDATE ${sql.table(table)} SET ${sql.id(binding.flag.column)} = ${binding.flag.value} WHERE ${where}`)
      : await tx.execute(sql`DELETE FROM ${sql.table(table)} WHERE ${where}`);
  });
  return { removed, superseded };
}
