import type { SqlExecutor } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { now } from '../time';

/** What a target reports back about one envelope (回执). */
export interface Receipt {
  /** what was answered: a records envelope, the last part of a key reconciliation, or a replay of rejected records */
  kind: 'records' | 'reconcile' | 'replay';
  /** the envelope this receipt answers (for a replay: the replay's own id) */
  messageId: string;
  /** for a replay: the envelope whose rejected records were applied again */
  replayOf?: string;
  flow: string;
  /** the target department */
  department: string;
  applied: number;
  superseded: number;
  rejected: number;
  rejects: { key: string; reason: string }[];
}

/**
 * The receipts recorded for these envelopes, by whichever node of the department took them: a
 * `dxg up` running beside a `dxg replay` or `dxg run --once` consumes the same receipts queue.
 */
export async function recordedReceipts(db: SqlExecutor, messageIds: readonly string[]): Promise<Receipt[]> {
  const found: Receipt[] = [];
  await inChunks(messageIds, 500, async (chunk) => {
    const rows = await db.query<{ message_id: string; kind: Receipt['kind']; flow: string; to_dept: string; applied: number; rejected: number; superseded: number; detail: string | null }>(
      sql`SELECT message_id, kind, flow, to_dept, applied, rejected, superseded, detail FROM dxg_receipts WHERE message_id IN ${sql.list(chunk)}`);
    for (const r of rows) {
      const detail = r.detail ? (JSON.parse(r.detail) as { replayOf?: string; rejects?: Receipt['rejects'] }) : {};
      found.push({ kind: r.kind, messageId: r.message_id, replayOf: detail.replayOf, flow: r.flow, department: r.to_dept, applied: Number(r.applied), rejected: Number(r.rejected), superseded: Number(r.superseded), rejects: detail.rejects ?? [] });
    }
  });
  return found;
}

/** Records a receipt once; returns false if it was already recorded (receipts may arrive twice). */
export async function putReceipt(tx: SqlExecutor, r: Receipt, isDuplicate: (err: unknown) => boolean): Promise<boolean> {
  try {
    const detail = r.rejects.length || r.replayOf ? JSON.stringify({ replayOf: r.replayOf, rejects: r.rejects.length ? r.rejects : undefined }) : null;
    await tx.execute(sql`INSERT INTO dxg_receipts (message_id, kind, flow, to_dept, applied, rejected, superseded, received_at, detail)
      VALUES (${r.messageId}, ${r.kind}, ${r.flow}, ${r.department}, ${r.applied}, ${r.rejected}, ${r.superseded}, ${now()}, ${detail})`);
    return true;
  } catch (err) {
    if (isDuplicate(err)) return false;
    throw err;
  }
}
