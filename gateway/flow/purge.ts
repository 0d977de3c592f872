import type { Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import type { TargetBinding } from './binding';

/**
 * Removes from a target what a flow delivered to it (a grant ended with `on_end: purge`): every row
 * whose key the flow's version table holds, and the versions themselves, so a later grant's records
 * apply afresh. Deleted keys too: a target that flags deletes keeps their rows, personal data and all. A key stored only as its digest (longer than the key column) cannot be matched to
 * its row: those are counted, not guessed at.
 */
export async function purgeFlow(tx: Tx, binding: TargetBinding): Promise<{ removed: number; unmatched: number }> {
  const flow = binding.flow.id;
  const rows = await tx.query<{ record_key: string }>(sql`SELECT record_key FROM dxg_versions WHERE flow = ${flow}`);
  const { table, keyColumns } = binding.table;
  const keys = rows.map((r) => r.record_key);
  const matchable = keys.filter((k) => !k.startsWith('sha256:'));
  const values = (k: string): unknown[] => (keyColumns.length === 1 ? [k] : (JSON.parse(k) as unknown[]));
  let removed = 0;
  await inChunks(matchable, 200, async (chunk) => {
    const where = sql.join(chunk.map((k) => sql`(${sql.join(keyColumns.map((c, i) => sql`${sql.id(c)} = ${values(k)[i]}`), ' AND ')})`), ' OR ');
    removed += await tx.execute(sql`DELETE FROM ${sql.table(table)} WHERE ${where}`);
  });
  await tx.execute(sql`DELETE FROM dxg_versions WHERE flow = ${flow}`);
  return { removed, unmatched: keys.length - matchable.length };
}
