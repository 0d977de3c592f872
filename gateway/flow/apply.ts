import { randomUUID } from 'node:crypto';
import type { ApplyOutcome, ApplyRecord, Database, Tx, ValueCheck } from '../../adapters/adapter';
import { claimInbox } from '../bookkeeping/inbox';
import { outboxItem, putOutbox } from '../bookkeeping/outbox';
import { markReplayed, putQuarantine, reasonsOf, supersede, type QuarantineItem, type QuarantineRow } from '../bookkeeping/quarantine';
import type { Receipt } from '../bookkeeping/receipts';
import type { Topology } from '../broker/topology';
import { errorMessage } from '../errors';
import { seal, sha256, type EnvelopeMeta } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import type { Ledger, LedgerEntry } from '../ledger/ledger';
import { log } from '../log';
import { summarize } from './batch';
import type { TargetBinding } from './binding';
import type { DeadLetters, Raw } from './dead-letters';
import { applyDeletes, type DeleteRecord } from './deletes';
import { applyKeyset, keysetProblem, type KeysetPayload } from './reconcile';
import { columnMapper, recordsFromRows, type RecordsPayload, type RowsExpected, type WireRecord } from './records';
import type { OutboxRelay } from './relay';
import { retrying } from './retry';

export interface ApplyContext {
  db: Database;
  binding: TargetBinding;
  keyring: Keyring;
  ledger: Ledger;
  department: string;
  topology: Topology;
  deadLetters: DeadLetters;
  relay: OutboxRelay;
}

/** What the work inside an apply transaction produced, for the ledger, the quarantine and the receipt. */
export interface Applied {
  entries: LedgerEntry[];
  rejects: QuarantineItem[];
  /** the version of each record handled, which closes older items rejected for it */
  versions?: Map<string, bigint>;
  receipt?: Omit<Receipt, 'messageId' | 'flow' | 'department'>;
}


/**
 * The target side of one flow: takes a verified envelope, checks every record against the indicator
 * set (as this target may see it) and its code tables, and applies the batch in one transaction with
 * its inbox entry, its rejects, its receipt (into the outbox) and its ledger entries. Key sets of a
 * reconciliation go the same way.
 */
export class Applier {
  private readonly toColumns: ReturnType<typeof columnMapper>;
  /** what a rows body (format 4) for this target may declare */
  private readonly rows: RowsExpected;
  /** per target column, what its type can hold exactly */
  private readonly exact: [column: string, check: ValueCheck][];
  /**
   * The bulk path of new keys (`Tx.insertNew`): after a batch had to fall back from it (a key the
   * target knew), the next `copySkip` batches go straight to the guarded upsert, a pause that doubles
   * with each fallback in a row (up to 64 batches): ongoing changes are mostly keys the target holds.
   */
  private copySkip = 0;
  private copyPause = 0;

  constructor(private readonly ctx: ApplyContext) {
    this.toColumns = columnMapper(ctx.binding.target);
    this.rows = { indicators: new Set(Object.keys(ctx.binding.target.fields)), key: ctx.binding.flow.source.key, flow: ctx.binding.flow.id };
    this.exact = ctx.binding.table.columns.flatMap((c) => {
      const check = ctx.db.sql.valueCheck(c.type);
      return check ? [[c.name, check] as [string, ValueCheck]] : [];
    });
  }

  /** A value its column would round or cut (the database would do it silently), as a reject reason. */
  private inexact(values: Record<string, unknown>): string | null {
    for (const [column, check] of this.exact) {
      const problem = check(values[column]);
      if (problem) return `column '${column}': ${problem}`;
    }
    return null;
  }

  get binding(): TargetBinding {
    return this.ctx.binding;
  }

  /** Handles an envelope that passed signature verification and `admits`. Returns once its outcome is durable. */
  async handle(meta: EnvelopeMeta, payload: unknown, raw: Raw, signal: AbortSignal): Promise<void> {
    if (meta.kind === 'reconcile') {
      const problem = keysetProblem(payload, meta.count);
      if (problem) return this.ctx.deadLetters.store(meta, raw, problem, signal);
      return this.commit(meta, sha256(raw.body), signal, (tx) => applyKeyset(tx, this.ctx.binding, meta, payload as KeysetPayload));
    }
    const decoded = meta.layout === 'rows' ? recordsFromRows(payload, this.rows) : { ok: true as const, value: (payload as RecordsPayload | null)?.records };
    if (!decoded.ok) return this.ctx.deadLetters.store(meta, raw, decoded.reason, signal);
    const problem = recordsProblem(decoded.value, meta.count);
    if (problem) return this.ctx.deadLetters.store(meta, raw, problem, signal);
    const prepared = this.prepare(meta, decoded.value as WireRecord[]);
    const plan: Plan = { bulk: this.bulkTurn(), isolate: false };
    await this.commit(meta, sha256(raw.body), signal, (tx) => this.applyRecords(tx, meta, raw, prepared, plan));
  }

  /**
   * An envelope the centre took back from this target's queue when its grant ended: this target
   * never reads it, and knows it by its claims alone (told by the centre). Its records count as
   * rejected with the reason, and the source learns it by a receipt, as for any reject.
   */
  async refuseTakenBack(meta: EnvelopeMeta, reason: string, signal: AbortSignal): Promise<void> {
    await this.commit(meta, undefined, signal, async () => ({
      entries: [{
        kind: 'reject', flow: meta.flow, messageId: meta.messageId, from: meta.from, to: this.ctx.department, count: meta.count,
        detail: { reasons: { [reason]: meta.count }, ...(meta.grant ? { grant: meta.grant } : {}) },
      }],
      rejects: [],
      receipt: { kind: 'records', applied: 0, superseded: 0, rejected: meta.count, rejects: [] },
    }));
  }

  /**
   * Applies records this target rejected, again (after the cause was fixed: a wider column, a new
   * code): each with the version it came with, so it never overwrites newer data. Records failing
   * again are quarantined anew; the ledger shows both attempts.
   */
  async replay(items: QuarantineRow[], signal: AbortSignal): Promise<{ applied: number; again: number; receipts: string[]; reasons: string[] }> {
    const { flow } = this.ctx.binding;
    const byMessage = new Map<string, QuarantineRow[]>();
    for (const i of items) byMessage.set(i.message_id ?? '', [...(byMessage.get(i.message_id ?? '') ?? []), i]);
    const result = { applied: 0, again: 0, receipts: [] as string[] };
    const reasons: string[] = [];
    for (const [messageId, group] of byMessage) {
      const meta: EnvelopeMeta = {
        kind: 'records', messageId, flow: flow.id, resource: flow.resource, from: group[0].from_dept ?? flow.source.department,
        to: this.ctx.department, sequence: 0, count: group.length,
      };
      const records: WireRecord[] = group.map((i) => ({ key: i.record_key ?? '', version: i.version ?? '0', op: 'upsert', data: JSON.parse(i.record ?? '{}') }));
      const p = this.prepare(meta, records);
      const outcome = await retrying(signal, `replay into ${flow.id}`, () =>
        this.ctx.db.transaction(async (tx) => {
          const applied = await this.applyIsolating(tx, p.upserts);
          const byKey = new Map(records.map((r) => [r.key, r]));
          const rejects = [...p.rejects, ...applied.failed.map((f) => this.reject(meta, byKey.get(f.key)!, f.reason))];
          await markReplayed(tx, group.map((i) => i.id));
          await putQuarantine(tx, rejects);
          // the source learns the new outcome as it learnt the first: by a receipt
          const replayId = randomUUID();
          await this.sendReceipt(tx, meta, {
            kind: 'replay', messageId: replayId, replayOf: messageId, flow: flow.id, department: this.ctx.department,
            applied: records.length - rejects.length, superseded: applied.superseded.length, rejected: rejects.length,
            rejects: receiptRejects(rejects),
          });
          await this.ctx.ledger.append(tx, [{
            kind: 'replay', flow: flow.id, messageId, from: meta.from, to: meta.to, count: group.length, keys: records.map((r) => r.key),
            detail: { stage: 'target', items: group.map((i) => i.id), written: applied.written, superseded: applied.superseded.length, rejectedAgain: rejects.length, receipt: replayId },
          }]);
          return { applied: records.length - rejects.length, again: rejects.length, receipt: replayId, reasons: rejects.map((q) => q.reason) };
        }), this.ctx.db, true);
      result.applied += outcome.applied;
      result.again += outcome.again;
      result.receipts.push(outcome.receipt);
      reasons.push(...outcome.reasons);
    }
    return { ...result, reasons: reasonsOf(reasons) };
  }

  /** Why this target's queue does not take the message, judged on its signed headers alone (before its body is opened), or null. */
  admits(meta: EnvelopeMeta): string | null {
    const { flow } = this.ctx.binding;
    const me = this.ctx.department;
    if (meta.kind === 'receipt') return `a receipt arrived on the records queue of flow '${flow.id}'`;
    if (meta.to !== me) return `addressed to department '${meta.to}', not '${me}'`;
    if (meta.flow !== flow.id) return `for flow '${meta.flow}', which is not received on this queue (flow '${flow.id}')`;
    if (meta.from !== flow.source.department) return `sent by '${meta.from}', but the source of flow '${flow.id}' is '${flow.source.department}'`;
    if (meta.resource !== flow.resource) return `resource '${meta.resource}' is not the resource of flow '${flow.id}' (${flow.resource}), so its records cannot be checked here`;
    return null;
  }

  /** Checks and maps the records before the transaction; keeps the newest copy of each key. */
  private prepare(meta: EnvelopeMeta, records: WireRecord[]) {
    const { binding } = this.ctx;
    const rejects: QuarantineItem[] = [];
    const latest = new Map<string, { upsert?: ApplyRecord; delete?: DeleteRecord; version: bigint }>();
    for (const r of records) {
      const version = BigInt(r.version);
      const seen = latest.get(r.key);
      if (seen && seen.version > version) continue;
      if (r.op === 'delete') {
        const reasons = binding.checkKey(r.data);
        if (reasons.length) {
          rejects.push(this.reject(meta, r, reasons.join('; ')));
          continue;
        }
        const keyValues = binding.flow.source.key.map((k) => r.data[k]);
        latest.set(r.key, { delete: { key: r.key, version, keyValues }, version });
        continue;
      }
      const reasons = binding.check(r.data);
      const columns = reasons.length ? null : this.toColumns(r.data);
      if (!columns?.ok) {
        rejects.push(this.reject(meta, r, reasons.length ? reasons.join('; ') : (columns as { reason: string }).reason));
        continue;
      }
      const inexact = this.inexact(columns.value);
      if (inexact) {
        rejects.push(this.reject(meta, r, inexact));
        continue;
      }
      latest.set(r.key, { upsert: { key: r.key, version, values: columns.value }, version });
    }
    const kept = [...latest.values()];
    return {
      records,
      rejects,
      upserts: kept.flatMap((k) => (k.upsert ? [k.upsert] : [])),
      deletes: kept.flatMap((k) => (k.delete ? [k.delete] : [])),
      // older copies of a key within the batch
      shadowed: records.length - rejects.length - kept.length,
    };
  }

  private async applyRecords(tx: Tx, meta: EnvelopeMeta, raw: Raw, p: ReturnType<Applier['prepare']>, plan: Plan): Promise<Applied> {
    const { department } = this.ctx;
    const applied = await this.applyPlanned(tx, p.upserts, plan);
    const removed = await applyDeletes(tx, this.ctx.binding, p.deletes);
    const byKey = new Map(p.records.map((r) => [r.key, r]));
    const rejects = [...p.rejects, ...applied.failed.map((f) => this.reject(meta, byKey.get(f.key)!, f.reason))];
    const superseded = applied.superseded.length + removed.superseded.length + p.shadowed;
    const rejectedKeys = new Set(rejects.map((q) => q.recordKey));
    const entries: LedgerEntry[] = [{
      kind: 'apply', flow: meta.flow, messageId: meta.messageId, from: meta.from, to: department, count: p.records.length - rejects.length,
      digest: sha256(raw.body), keys: [...byKey.keys()].filter((k) => !rejectedKeys.has(k)),
      detail: { sequence: meta.sequence, written: applied.written, deleted: removed.removed || undefined, superseded, ...(meta.grant ? { grant: meta.grant } : {}) },
    }];
    if (rejects.length) {
      entries.push({
        kind: 'reject', flow: meta.flow, messageId: meta.messageId, from: meta.from, to: department, count: rejects.length,
        keys: rejects.map((q) => q.recordKey ?? ''), detail: { reasons: summarize(rejects.map((q) => q.reason)) },
      });
      log.warn('records rejected', { flow: meta.flow, messageId: meta.messageId, rejected: rejects.length, first: rejects[0].reason });
    }
    return {
      entries,
      rejects,
      versions: newestVersions(p.records),
      receipt: {
        kind: 'records', applied: p.records.length - rejects.length, superseded, rejected: rejects.length,
        rejects: receiptRejects(rejects),
      },
    };
  }

  /**
   * One transaction: the inbox claim first (a message applied before is recognised and only noted),
   * then the work, its rejects, its receipt into the outbox, its ledger entries.
   */
  private async commit(meta: EnvelopeMeta, digest: string | undefined, signal: AbortSignal, work: (tx: Tx) => Promise<Applied>): Promise<void> {
    const { db, ledger, department } = this.ctx;
    const fresh = await retrying(signal, `apply ${meta.messageId} (flow ${meta.flow})`, () =>
      runAgainWhenAsked(() => db.transaction(async (tx) => {
        if (!(await claimInbox(tx, meta.messageId, meta.flow, meta.from, tx.sql.isUniqueViolation))) return false;
        const done = await work(tx);
        if (done.versions) await supersede(tx, 'target', meta.flow, done.versions);
        await putQuarantine(tx, done.rejects);
        if (done.receipt) await this.sendReceipt(tx, meta, { ...done.receipt, messageId: meta.messageId, flow: meta.flow, department });
        await ledger.append(tx, done.entries);
        return true;
      })), db, true);
    if (fresh) return;
    // applied before: its receipt went out with it; note the redelivery for the auditors
    await retrying(signal, `record duplicate ${meta.messageId}`, () =>
      db.transaction((tx) => ledger.append(tx, [
        { kind: 'duplicate', flow: meta.flow, messageId: meta.messageId, from: meta.from, to: department, count: meta.count, digest },
      ])), db, true);
  }

  /** A receipt (回执) for the source of `answered`, into the outbox with the work it reports on. */
  private async sendReceipt(tx: Tx, answered: EnvelopeMeta, receipt: Receipt): Promise<void> {
    const sealed = await seal(this.ctx.keyring, {
      kind: 'receipt', messageId: randomUUID(), flow: answered.flow, resource: answered.resource,
      from: this.ctx.department, to: answered.from, sequence: answered.sequence, count: receipt.applied, head: this.ctx.ledger.head,
    }, receipt);
    const item = outboxItem(sealed, this.ctx.topology.receiptsExchange(this.ctx.department), answered.from);
    await putOutbox(tx, [item]);
    tx.afterCommit(() => void this.ctx.relay.enqueue([item]));
  }

  private reject(meta: EnvelopeMeta, r: WireRecord, reason: string): QuarantineItem {
    return {
      stage: 'target', flow: meta.flow, from: meta.from, to: this.ctx.department, messageId: meta.messageId,
      recordKey: r.key, version: BigInt(r.version), reason, record: r.data,
    };
  }

  /** Whether this batch tries the bulk path of new keys (not while it is paused after a fallback). */
  private bulkTurn(): boolean {
    if (this.copySkip === 0) return true;
    this.copySkip--;
    return false;
  }

  /**
   * The batch's upserts in as few statements as it allows, no savepoint spent on the usual case:
   * first by the engine's bulk path of new keys (`Tx.insertNew`), else by the guarded upsert. When the
   * database refuses either for the batch's data (a key the target holds or a tombstone, for the
   * bulk path; a value too long, a constraint), the transaction is rolled back and run again at once
   * (RunAgain) the next way, the last one record by record, each in a savepoint, to reject exactly the
   * bad ones.
   */
  private async applyPlanned(tx: Tx, records: ApplyRecord[], plan: Plan): Promise<ApplyOutcome & { failed: { key: string; reason: string }[] }> {
    const table = this.ctx.binding.table;
    if (records.length === 0) return { written: 0, superseded: [], failed: [] };
    if (plan.bulk && tx.insertNew) {
      try {
        const o = await tx.insertNew(table, records);
        this.copyPause = 0;
        return { ...o, failed: [] };
      } catch (err) {
        // a unique violation (a key known here) is one of the data errors; anything else is the transaction's failure
        if (!tx.sql.isDataError(err)) throw err;
        this.copyPause = Math.min(64, Math.max(1, this.copyPause * 2));
        this.copySkip = this.copyPause;
        plan.bulk = false;
        throw new RunAgain();
      }
    }
    if (!plan.isolate) {
      try {
        return { ...(await tx.apply(table, records)), failed: [] };
      } catch (err) {
        if (!tx.sql.isDataError(err)) throw err;
        plan.isolate = true;
        throw new RunAgain();
      }
    }
    return this.oneByOne(tx, records);
  }

  /**
   * Applies the batch in one statement; if the database refuses it for its data (a value too long for
   * a column, a constraint), applies record by record to find and reject exactly the bad ones.
   */
  async applyIsolating(tx: Tx, records: ApplyRecord[]): Promise<ApplyOutcome & { failed: { key: string; reason: string }[] }> {
    const table = this.ctx.binding.table;
    try {
      return { ...(await tx.savepoint(() => tx.apply(table, records))), failed: [] };
    } catch (err) {
      if (!tx.sql.isDataError(err)) throw err;
    }
    return this.oneByOne(tx, records);
  }

  /** Each record in a savepoint of its own: the ones the database refuses are failed with its reason. */
  private async oneByOne(tx: Tx, records: ApplyRecord[]): Promise<ApplyOutcome & { failed: { key: string; reason: string }[] }> {
    const table = this.ctx.binding.table;
    const result = { written: 0, superseded: [] as string[], failed: [] as { key: string; reason: string }[] };
    for (const r of records) {
      try {
        const o = await tx.savepoint(() => tx.apply(table, [r]));
        result.written += o.written;
        result.superseded.push(...o.superseded);
      } catch (err) {
        if (!tx.sql.isDataError(err)) throw err;
        result.failed.push({ key: r.key, reason: `target database refused the record: ${errorMessage(err)}` });
      }
    }
    return result;
  }
}

/** How one envelope's records are written; changed by the work when a way fails, for the next run of its transaction. */
interface Plan {
  /** by the bulk path of new keys */
  bulk: boolean;
  /** record by record */
  isolate: boolean;
}

/** Thrown by the work of an apply transaction: roll it back and run it again at once, the way its Plan now says. */
class RunAgain extends Error {
  constructor() {
    super('run the transaction again');
    this.name = 'RunAgain';
  }
}

/** Runs a transaction again as long as its work asks to (a batch takes at most three ways). */
async function runAgainWhenAsked<T>(run: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof RunAgain)) throw err;
    }
  }
}

/** Why the records of a body cannot be used, or null if they can. */
function recordsProblem(records: unknown, count: number): string | null {
  if (!Array.isArray(records)) return 'body has no records list';
  if (records.length !== count) return `body holds ${records.length} records but the signed header says ${count}`;
  for (const [i, r] of records.entries()) {
    if (!r || typeof r !== 'object') return `record ${i} is not an object`;
    if (typeof r.key !== 'string' || !r.key) return `record ${i} has no key`;
    if (typeof r.version !== 'string' || !/^-?\d+$/.test(r.version)) return `record ${i} has no valid version`;
    if (r.op !== 'upsert' && r.op !== 'delete') return `record ${i} has unknown operation '${String(r.op)}'`;
    if (!r.data || typeof r.data !== 'object' || Array.isArray(r.data)) return `record ${i} has no data`;
  }
  return null;
}

/** The rejects a receipt names (the first thousand; all are in the target's quarantine). */
function receiptRejects(rejects: QuarantineItem[]): Receipt['rejects'] {
  return rejects.slice(0, 1000).map((q) => ({ key: q.recordKey ?? '', reason: q.reason }));
}

function newestVersions(records: WireRecord[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const r of records) {
    const v = BigInt(r.version);
    const held = out.get(r.key);
    if (held === undefined || v > held) out.set(r.key, v);
  }
  return out;
}
