import { sql } from '../../adapters/sql';
import type { TestDatabase } from '../helpers/databases';

/**
 * The ledgers' own figures, read with plain SQL, and the reconciliations DESIGN §5 asks for:
 * for each target, extracted = published + quarantined + filtered; published = applied + rejected
 * in the target's ledger; one apply per message; a receipt at the source for every message.
 */
type Entry = {
  at: string;
  kind: string;
  message_id: string | null;
  to_dept: string | null;
  record_count: number | string;
  detail: string | null;
};

const entries = (db: TestDatabase) => db.query<Entry>(sql`SELECT at, kind, message_id, to_dept, record_count, detail FROM dxg_ledger`);
const sum = (list: Entry[], pred: (e: Entry) => boolean) => list.filter(pred).reduce((n, e) => n + Number(e.record_count), 0);

export interface TargetFigures {
  published: number;
  messages: number;
  filtered: number;
  quarantined: number;
  applied: number;
  rejected: number;
  superseded: number;
  /** duplicate entries: redeliveries recognised by the inbox (fine) */
  redelivered: number;
  /** messages with more than one apply entry (never fine) */
  appliedTwice: number;
  deadLettered: number;
}

export interface LedgerFigures {
  extracted: number;
  quarantined: number;
  targets: Record<string, TargetFigures>;
  deadLettered: number;
  problems: string[];
}

/**
 * `quietSince` (ISO): when the flow was last seen with nothing in flight. Reconciliations scheduled
 * after it may still be under way while this looks, so only closing parts sent before it must have
 * their receipts.
 */
export async function ledgerFigures(source: TestDatabase, targets: Record<string, TestDatabase>, quietSince: string): Promise<LedgerFigures> {
  const problems: string[] = [];
  const src = await entries(source);
  const extracts = src.filter((e) => e.kind === 'extract');
  const extracted = sum(extracts, () => true);
  const quarantinedAll = sum(src, (e) => e.kind === 'quarantine' && !e.to_dept);
  const receipts = new Set((await source.query<{ message_id: string }>(sql`SELECT message_id FROM dxg_receipts`)).map((r) => r.message_id));
  const deadAt = async (db: TestDatabase) => Number((await db.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM dxg_quarantine WHERE stage = 'dead-letter'`))[0].n);
  let deadLettered = await deadAt(source);
  if (src.some((e) => e.kind === 'dead-letter')) problems.push('the source ledger has dead-letter entries');
  const receiptSums = await source.query<{ to_dept: string; applied: string | number; rejected: string | number }>(
    sql`SELECT to_dept, sum(applied) AS applied, sum(rejected) AS rejected FROM dxg_receipts WHERE kind = 'records' GROUP BY to_dept`);
  const closings = src.filter((e) => e.kind === 'reconcile' && JSON.parse(e.detail ?? '{}').last === true && e.at < quietSince);
  const unanswered = closings.filter((e) => !receipts.has(e.message_id ?? ''));
  if (unanswered.length) problems.push(`${unanswered.length} closing reconciliation part(s) without a receipt, e.g. ${unanswered[0].message_id}`);

  const figures: Record<string, TargetFigures> = {};
  for (const [dept, db] of Object.entries(targets)) {
    const publishes = src.filter((e) => e.kind === 'publish' && e.to_dept === dept);
    const published = sum(publishes, () => true);
    const filtered = extracts.reduce((n, e) => n + Number((JSON.parse(e.detail ?? '{}').filtered ?? {})[dept] ?? 0), 0);
    const quarantined = sum(src, (e) => e.kind === 'quarantine' && e.to_dept === dept);
    const tgt = await entries(db);
    const applies = tgt.filter((e) => e.kind === 'apply');
    const perMessage = new Map<string, number>();
    for (const a of applies) perMessage.set(a.message_id ?? '', (perMessage.get(a.message_id ?? '') ?? 0) + 1);
    const dead = await deadAt(db);
    deadLettered += dead;
    const f: TargetFigures = {
      published,
      messages: publishes.length,
      filtered,
      quarantined,
      applied: sum(applies, () => true),
      rejected: sum(tgt, (e) => e.kind === 'reject'),
      superseded: applies.reduce((n, e) => n + Number(JSON.parse(e.detail ?? '{}').superseded ?? 0), 0),
      redelivered: tgt.filter((e) => e.kind === 'duplicate').length,
      appliedTwice: [...perMessage.values()].filter((n) => n > 1).length,
      deadLettered: dead + tgt.filter((e) => e.kind === 'dead-letter').length,
    };
    figures[dept] = f;

    if (extracted !== f.published + quarantinedAll + f.quarantined + f.filtered) {
      problems.push(`${dept}: extracted ${extracted} ≠ published ${f.published} + quarantined ${quarantinedAll} + quarantined for ${dept} ${f.quarantined} + filtered ${f.filtered}`);
    }
    if (f.published !== f.applied + f.rejected) problems.push(`${dept}: published ${f.published} ≠ applied ${f.applied} + rejected ${f.rejected} in its ledger`);
    if (f.appliedTwice) problems.push(`${dept}: ${f.appliedTwice} message(s) applied more than once`);
    const publishedIds = new Set(publishes.map((p) => p.message_id ?? ''));
    const appliedIds = new Set(perMessage.keys());
    const notApplied = [...publishedIds].filter((id) => !appliedIds.has(id));
    const strangers = [...appliedIds].filter((id) => !publishedIds.has(id));
    if (notApplied.length) problems.push(`${dept}: ${notApplied.length} published message(s) never applied, e.g. ${notApplied[0]}`);
    if (strangers.length) problems.push(`${dept}: ${strangers.length} applied message(s) the source never published, e.g. ${strangers[0]}`);
    const noReceipt = [...publishedIds].filter((id) => !receipts.has(id));
    if (noReceipt.length) problems.push(`${dept}: ${noReceipt.length} published message(s) without a receipt at the source, e.g. ${noReceipt[0]}`);
    // one statement, one snapshot: a key-set part may arrive meanwhile
    const [inbox] = await db.query<{ inbox: string | number; handled: string | number }>(sql`SELECT
      (SELECT count(*) FROM dxg_inbox WHERE flow = 'registry') AS inbox,
      (SELECT count(DISTINCT message_id) FROM dxg_ledger WHERE kind IN ('apply', 'reconcile')) AS handled`);
    if (Number(inbox.inbox) !== Number(inbox.handled)) problems.push(`${dept}: inbox holds ${inbox.inbox} message ids, its ledger ${inbox.handled} applied messages and key sets`);
    const r = receiptSums.find((x) => x.to_dept === dept);
    if (Number(r?.applied ?? 0) !== f.applied || Number(r?.rejected ?? 0) !== f.rejected) {
      problems.push(`${dept}: receipts say applied ${r?.applied ?? 0}, rejected ${r?.rejected ?? 0}; its ledger ${f.applied}, ${f.rejected}`);
    }
    if (f.deadLettered) problems.push(`${dept}: ${f.deadLettered} dead letter(s)`);
  }
  if (deadLettered && !problems.some((p) => p.includes('dead letter'))) problems.push(`${deadLettered} dead letter(s) at the source`);
  return { extracted, quarantined: quarantinedAll, targets: figures, deadLettered, problems };
}
