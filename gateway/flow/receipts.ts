import { EventEmitter } from 'node:events';
import type { Database, SqlExecutor } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { putReceipt, type Receipt } from '../bookkeeping/receipts';
import type { Flow } from '../config/model';
import type { EnvelopeMeta } from '../envelope/envelope';
import type { Ledger } from '../ledger/ledger';
import type { DeadLetters, Raw } from './dead-letters';
import { log } from '../log';
import { retrying } from './retry';

/**
 * The source side's record of receipts (回执): each target's report of what became of an envelope,
 * stored once and entered in the ledger. Emits `receipt` for whoever waits on a run.
 */
export class ReceiptBook extends EventEmitter {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly flows: Map<string, Flow>,
    private readonly deadLetters: DeadLetters,
  ) {
    super();
  }

  /** Why the receipts queue does not take the message, judged on its signed headers alone (before its body is opened), or null. */
  admits(meta: EnvelopeMeta): string | null {
    const flow = this.flows.get(meta.flow);
    return meta.kind !== 'receipt' ? `a ${meta.kind} message arrived on the receipts queue`
      : meta.to !== this.ledger.department ? `receipt addressed to '${meta.to}', not '${this.ledger.department}'`
      : !flow ? `receipt for unknown flow '${meta.flow}'`
      : flow.source.department !== this.ledger.department ? `receipt for flow '${meta.flow}', whose source is '${flow.source.department}'`
      : !flow.targets.some((t) => t.department === meta.from) ? `receipt from '${meta.from}', which is not a target of flow '${meta.flow}'`
      : null;
  }

  /** Records a receipt that passed signature verification and `admits`. */
  async handle(meta: EnvelopeMeta, payload: unknown, raw: Raw, signal: AbortSignal): Promise<void> {
    const r = payload as Receipt;
    const problem = (!r || !['records', 'reconcile', 'replay'].includes(r.kind) || typeof r.messageId !== 'string' || !Number.isSafeInteger(r.applied) || !Number.isSafeInteger(r.rejected)
        || !Number.isSafeInteger(r.superseded) || !Array.isArray(r.rejects) || (r.kind === 'replay' && typeof r.replayOf !== 'string')
        ? 'receipt body is malformed'
      : r.department !== meta.from || r.flow !== meta.flow ? 'receipt body contradicts its signed headers'
      : null);
    if (problem) return this.deadLetters.store(meta, raw, problem, signal);
    const recorded = await retrying(signal, `record receipt for ${r.messageId}`, () =>
      this.db.transaction(async (tx) => {
        const answered = r.replayOf ?? r.messageId;
        if (!(await sentTo(tx, answered, r.flow, this.ledger.department, r.department))) {
          // signed by a real target, yet about nothing this department sent it: counting it would
          // make the counts lie (a negative "awaiting receipt"), so it is only put on the record
          const reason = `receipt from '${r.department}' for envelope ${answered}, which this department never sent to it under flow '${r.flow}'`;
          log.warn('receipt for an envelope never sent; recorded as an anomaly, not counted', { flow: r.flow, from: r.department, messageId: answered, receiptId: meta.messageId });
          await this.ledger.append(tx, [{ kind: 'anomaly', flow: r.flow, messageId: meta.messageId, from: r.department, to: this.ledger.department, count: 0, detail: { reason, answers: answered } }]);
          return false;
        }
        if (!(await putReceipt(tx, r, tx.sql.isUniqueViolation))) return false;
        // a replay's receipt is entered under the envelope it replayed, so a record's trail shows it
        await this.ledger.append(tx, [{
          kind: 'receipt', flow: r.flow, messageId: r.replayOf ?? r.messageId, from: r.department, to: this.ledger.department, count: r.applied,
          detail: { answers: r.kind === 'records' ? undefined : r.kind, replay: r.replayOf ? r.messageId : undefined, rejected: r.rejected, superseded: r.superseded, receiptId: meta.messageId },
        }]);
        return true;
      }), this.db, true);
    if (recorded) this.emit('receipt', r);
  }
}

/** Whether this department's ledger shows the envelope (records or a key set) going to that target under that flow. */
async function sentTo(tx: SqlExecutor, messageId: string, flow: string, from: string, to: string): Promise<boolean> {
  const rows = await tx.query(sql`SELECT seq FROM dxg_ledger WHERE message_id = ${messageId} AND kind IN ('publish', 'reconcile')
    AND flow = ${flow} AND from_dept = ${from} AND to_dept = ${to}`);
  return rows.length > 0;
}
