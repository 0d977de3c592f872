import type { Database, SqlExecutor } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { LedgerHead } from '../envelope/envelope';
import { now } from '../time';

/**
 * Anchors: the highest ledger head of each other department that this department has seen, from the
 * signed heads its envelopes and receipts carry. A ledger cut short, rolled back or rewritten below
 * a head a peer recorded is found by `dxg audit verify` even when its own chain is consistent.
 */
export interface Anchor extends LedgerHead {
  department: string;
  seenAt: string;
}

/** Keeps the head if it is higher than the one held for that department. */
export async function noteAnchor(db: Pick<Database, 'execute' | 'sql'>, department: string, head: LedgerHead): Promise<void> {
  const at = now();
  if ((await db.execute(sql`UPDATE dxg_anchors SET seq = ${head.seq}, hash = ${head.hash}, seen_at = ${at} WHERE department = ${department} AND seq < ${head.seq}`)) > 0) return;
  try {
    await db.execute(sql`INSERT INTO dxg_anchors (department, seq, hash, seen_at) VALUES (${department}, ${head.seq}, ${head.hash}, ${at})`);
  } catch (err) {
    if (!db.sql.isUniqueViolation(err)) throw err; // held already, as high or higher
  }
}

export async function anchorsHeld(db: SqlExecutor): Promise<Anchor[]> {
  const rows = await db.query<{ department: string; seq: string | number; hash: string; seen_at: string }>(sql`SELECT department, seq, hash, seen_at FROM dxg_anchors`);
  return rows.map((r) => ({ department: r.department, seq: String(r.seq), hash: r.hash, seenAt: r.seen_at }));
}
