import type { SqlExecutor } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { now } from '../time';

/**
 * Claims a message id for this transaction. Must be the transaction's first statement: if the id is
 * already there the message was applied before, and the caller rolls back.
 */
export async function claimInbox(tx: SqlExecutor, messageId: string, flow: string, from: string, isDuplicate: (err: unknown) => boolean): Promise<boolean> {
  try {
    await tx.execute(sql`INSERT INTO dxg_inbox (message_id, flow, from_dept, applied_at) VALUES (${messageId}, ${flow}, ${from}, ${now()})`);
    return true;
  } catch (err) {
    if (isDuplicate(err)) return false;
    throw err;
  }
}
