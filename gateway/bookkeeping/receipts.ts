import type { SqlExecutor } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
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
