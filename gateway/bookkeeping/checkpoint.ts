import type { Database, Position, SqlExecutor, Tx } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { now } from '../time';

export interface Checkpoint {
  position: Position | null;
  nextSequence: number;
  updatedAt: string | null;
}

export async function loadCheckpoint(db: SqlExecutor, flow: string): Promise<Checkpoint> {
  const [row] = await db.query<{ position: string | null; next_sequence: string | number; updated_at: string }>(
    sql`SELECT position, next_sequence, updated_at FROM dxg_checkpoint WHERE flow = ${flow}`,
  );
  if (!row) return { position: null, nextSequence: 1, updatedAt: null };
  return { position: row.position ? JSON.parse(row.position) : null, nextSequence: Number(row.next_sequence), updatedAt: row.updated_at };
}

export class CheckpointConflict extends Error {
  constructor(flow: string) {
    super(`another node moved the checkpoint of flow '${flow}' meanwhile; this cycle's page is abandoned (one extracting node per flow)`);
    this.name = 'CheckpointConflict';
  }
}

/**
 * Saved in the transaction that commits the page's envelopes, so the two never disagree. It moves
 * only from the position this cycle started from: a second node extracting the same flow fails here
 * instead of sending the same rows again or moving the checkpoint back.
 */
export async function saveCheckpoint(tx: Tx, flow: string, from: Position | null, to: Position | null, nextSequence: number): Promise<void> {
  const expected = from ? JSON.stringify(from) : null;
  const position = to ? JSON.stringify(to) : null;
  const at = now();
  const updated = await tx.execute(sql`UPDATE dxg_checkpoint SET position = ${position}, next_sequence = ${nextSequence}, updated_at = ${at}
    WHERE flow = ${flow} AND ${expected === null ? sql`position IS NULL` : sql`position = ${expected}`}`);
  if (updated === 1) return;
  if (expected !== null) throw new CheckpointConflict(flow);
  try {
    await tx.execute(sql`INSERT INTO dxg_checkpoint (position, next_sequence, updated_at, flow) VALUES (${position}, ${nextSequence}, ${at}, ${flow})`);
  } catch (err) {
    if (tx.sql.isUniqueViolation(err)) throw new CheckpointConflict(flow);
    throw err;
  }
}

export async function dropCheckpoint(db: SqlExecutor, flow: string): Promise<void> {
  await db.execute(sql`DELETE FROM dxg_checkpoint WHERE flow = ${flow}`);
}

/**
 * Notes that a cycle ran and found nothing new, so `dxg status` shows when the flow was last polled;
 * the position is untouched (a first checkpoint is created empty).
 */
export async function touchCheckpoint(db: Database, flow: string): Promise<void> {
  if ((await db.execute(sql`UPDATE dxg_checkpoint SET updated_at = ${now()} WHERE flow = ${flow}`)) === 1) return;
  try {
    await db.execute(sql`INSERT INTO dxg_checkpoint (position, next_sequence, updated_at, flow) VALUES (${null}, ${1}, ${now()}, ${flow})`);
  } catch (err) {
    if (!db.sql.isUniqueViolation(err)) throw err; // a page committed meanwhile: that says it too
  }
}
