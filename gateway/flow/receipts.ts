import { EventEmitter } from 'node:events';
import type { Database } from '../../adapters/adapter';
import { putReceipt, type Receipt } from '../bookkeeping/receipts';
import type { Flow } from '../config/model';
import type { EnvelopeMeta } from '../envelope/envelope';
import type { Ledger } from '../ledger/ledger';
import type { DeadLetters, Raw } from './dead-letters';
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

  async handle(meta: EnvelopeMeta, payload: unknown, raw: Raw, signal: AbortSignal): Promise<void> {
    const flow = this.flows.get(meta.flow);
    const r = payload as Receipt;
    const problem = meta.kind !== 'receipt' ? `a ${meta.kind} message arrived on the receipts queue`
      : meta.to !== this.ledger.department ? `receipt addressed to '${meta.to}', not '${this.ledger.department}'`
      : !flow ? `receipt for unknown flow '${meta.flow}'`
      : flow.source.department !== this.ledger.department ? `receipt for flow '${meta.flow}', whose source is '${flow.source.department}'`
      : !flow.targets.some((t) => t.department === meta.from) ? `receipt from '${meta.from}', which is not a target of flow '${meta.flow}'`
      : !r || !['records', 'reconcile', 'replay'].includes(r.kind) || typeof r.messageId !== 'string' || !Number.isSafeInteger(r.applied) || !Number.isSafeInteger(r.rejected)
        || !Number.isSafeInteger(r.superseded) || !Array.isArray(r.rejects) || (r.kind === 'replay' && typeof r.replayOf !== 'string')
        ? 'receipt body is malformed'
      : r.department !== meta.from || r.flow !== meta.flow ? 'receipt body contradicts its signed headers'
      : null;
    if (problem) return this.deadLetters.store(meta, raw, problem, signal);
    const recorded = await retrying(signal, `record receipt for ${r.messageId}`, () =>
      this.db.transaction(async (tx) => {
        if (!(await putReceipt(tx, r, tx.sql.isUniqueViolation))) return false;
        // a replay's receipt is entered under the envelope it replayed, so a record's trail shows it
        await this.ledger.append(tx, [{
          kind: 'receipt', flow: r.flow, messageId: r.replayOf ?? r.messageId, from: r.department, to: this.ledger.department, count: r.applied,
          detail: { answers: r.kind === 'records' ? undefined : r.kind, replay: r.replayOf ? r.messageId : undefined, rejected: r.rejected, superseded: r.superseded, receiptId: meta.messageId },
        }]);
        return true;
      }), this.db.sql.isConflict);
    if (recorded) this.emit('receipt', r);
  }
}
