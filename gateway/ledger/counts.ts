import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Project } from '../config/project';
import { ledgerTotals, type LedgerTotals } from './query';

/**
 * One flow's record counts for one target, from the source's ledger and receipts, checked against the
 * target's own ledger. Every record that enters (extracted, or sent again from the source's quarantine)
 * has exactly one outcome there; every record published or applied again has one at the target.
 */
export interface FlowCounts {
  flow: string;
  source: string;
  target: string;
  extracted: number;
  /** records sent again from the source's quarantine (dxg replay --stage source) */
  replayedAtSource: number;
  /** set aside at the source: records the indicator set refused, and those this target's code tables lack */
  quarantined: number;
  filtered: number;
  /** records this target was not sent for want of a grant: at extraction, plus `withheldAfterPublish` */
  withheld: number;
  /** of those, records of envelopes published and then no longer routed by the broker (a grant revoked meanwhile) */
  withheldAfterPublish: number;
  published: number;
  /** records this target rejected and applied again (dxg replay --stage target) */
  replayedAtTarget: number;
  /** as the target's receipts (回执) report them */
  applied: number;
  rejected: number;
  /** envelopes published to this target whose receipt has not come back yet */
  awaitingReceipt: number;
  problems: string[];
}

/**
 * Checks that nothing was lost silently (DESIGN §5), for every flow and target:
 * extracted + replayed at the source = published + quarantined + filtered + withheld at extraction,
 * and, once every receipt is in, published + replayed at the target = applied + rejected + withheld
 * after publishing (envelopes the broker no longer routed); the receipts must agree with what the
 * target's own ledger recorded.
 */
export async function flowCounts(project: Project, dbs: Map<string, Database>): Promise<FlowCounts[]> {
  const out: FlowCounts[] = [];
  for (const flow of project.flows) {
    const src = dbs.get(flow.source.department);
    if (!src) {
      out.push(...flow.targets.map((t) => blank(flow.id, flow.source.department, t.department, unavailable(flow.source.department))));
      continue;
    }
    const totals = await ledgerTotals(src, flow.id);
    const sum = (kind: string, to: string | null) => totals.filter((t) => t.kind === kind && t.to_dept === to).reduce((n, t) => n + t.records, 0);
    // a resync for one target enters that target's accounts only
    const extractedFor = (target: string) => totals.filter((t) => t.kind === 'extract' && (t.to_dept === null || t.to_dept === target)).reduce((n, t) => n + t.records, 0);
    const filtered = await perTarget(src, flow.id, 'filtered');
    const withheldAtExtract = await perTarget(src, flow.id, 'withheld');
    // receipts of key reconciliations report deletions, not the fate of published records
    const receipts = await src.query<{ to_dept: string; kind: string; applied: string | number; rejected: string | number; n: string | number }>(
      sql`SELECT to_dept, kind, sum(applied) AS applied, sum(rejected) AS rejected, count(*) AS n FROM dxg_receipts WHERE flow = ${flow.id} AND kind IN ('records', 'replay') GROUP BY to_dept, kind`);
    for (const t of flow.targets) {
      const of = (kind: string) => receipts.find((x) => x.to_dept === t.department && x.kind === kind);
      const [records, replays] = [of('records'), of('replay')];
      const messages = totals.filter((x) => x.kind === 'publish' && x.to_dept === t.department).reduce((n, x) => n + x.entries, 0);
      const unrouted = totals.filter((x) => x.kind === 'withhold' && x.to_dept === t.department);
      const withheldAfter = unrouted.reduce((n, x) => n + x.records, 0);
      const atExtract = withheldAtExtract.get(t.department) ?? 0;
      const c: FlowCounts = {
        flow: flow.id, source: flow.source.department, target: t.department, extracted: extractedFor(t.department),
        // a record the indicator set refused is sent again to every target, one a code table lacked to its own
        replayedAtSource: sum('replay', null) + sum('replay', t.department),
        quarantined: sum('quarantine', null) + sum('quarantine', t.department),
        filtered: filtered.get(t.department) ?? 0,
        withheld: atExtract + withheldAfter,
        withheldAfterPublish: withheldAfter,
        published: sum('publish', t.department),
        replayedAtTarget: Number(replays?.applied ?? 0) + Number(replays?.rejected ?? 0),
        applied: Number(records?.applied ?? 0) + Number(replays?.applied ?? 0),
        rejected: Number(records?.rejected ?? 0) + Number(replays?.rejected ?? 0),
        awaitingReceipt: messages - Number(records?.n ?? 0) - unrouted.reduce((n, x) => n + x.entries, 0),
        problems: [],
      };
      if (c.extracted + c.replayedAtSource !== c.published + c.quarantined + c.filtered + atExtract) {
        c.problems.push(`extracted ${c.extracted}${c.replayedAtSource ? ` + replayed ${c.replayedAtSource}` : ''} ≠ published ${c.published} + quarantined ${c.quarantined} + filtered ${c.filtered}${atExtract ? ` + withheld ${atExtract}` : ''}`);
      }
      if (c.awaitingReceipt === 0 && c.published + c.replayedAtTarget !== c.applied + c.rejected + withheldAfter) {
        c.problems.push(`published ${c.published}${c.replayedAtTarget ? ` + replayed ${c.replayedAtTarget}` : ''} ≠ applied ${c.applied} + rejected ${c.rejected}${withheldAfter ? ` + withheld ${withheldAfter}` : ''}`);
      }
      const tgt = dbs.get(t.department);
      if (!tgt) c.problems.push(unavailable(t.department));
      else await compareWithTarget(tgt, c);
      out.push(c);
    }
  }
  return out;
}

/** The receipts against the target's own ledger: its applies and rejects, first and replayed. */
async function compareWithTarget(tgt: Database, c: FlowCounts): Promise<void> {
  const theirs = (await ledgerTotals(tgt, c.flow)).filter((x) => x.to_dept === c.target);
  const replays = await tgt.query<{ detail: string }>(sql`SELECT detail FROM dxg_ledger WHERE kind = 'replay' AND flow = ${c.flow} AND to_dept = ${c.target}`);
  receiptsAgree(c, targetOutcomes(theirs, replays.map((r) => r.detail)));
}

/** What a target's ledger says it did with a flow's records: its apply and reject entries, and the replays of its rejects. */
export function targetOutcomes(totals: readonly Pick<LedgerTotals, 'kind' | 'records'>[], replayDetails: readonly string[]): { applied: number; rejected: number } {
  let applied = totals.filter((x) => x.kind === 'apply').reduce((n, x) => n + Number(x.records), 0);
  let rejected = totals.filter((x) => x.kind === 'reject').reduce((n, x) => n + Number(x.records), 0);
  for (const detail of replayDetails) {
    const d = JSON.parse(detail) as { stage?: string; rejectedAgain?: number; items?: unknown[] };
    if (d.stage !== 'target') continue;
    rejected += d.rejectedAgain ?? 0;
    applied += (d.items?.length ?? 0) - (d.rejectedAgain ?? 0);
  }
  return { applied, rejected };
}

/** Receipts still on their way are not a disagreement. */
export function receiptsAgree(c: FlowCounts, theirs: { applied: number; rejected: number }): void {
  if (c.awaitingReceipt === 0 && (theirs.applied !== c.applied || theirs.rejected !== c.rejected)) {
    c.problems.push(`receipts say applied ${c.applied}, rejected ${c.rejected}; the ledger of ${c.target} says applied ${theirs.applied}, rejected ${theirs.rejected}`);
  }
}

/** The problem a source's own counts carry where the target's ledger is not at hand (a node alone, the centre's input). */
export const unavailable = (department: string): string => `the ledger of ${department} is unavailable`;

/** Records each target's `where` excluded (`filtered`), or it was not sent for want of a grant (`withheld`): only the details of extract and replay entries hold them. */
async function perTarget(db: Database, flow: string, what: 'filtered' | 'withheld'): Promise<Map<string, number>> {
  const rows = await db.query<{ detail: string | null }>(sql`SELECT detail FROM dxg_ledger WHERE kind IN ('extract', 'replay') AND flow = ${flow}`);
  const out = new Map<string, number>();
  for (const r of rows) {
    const counts = (r.detail ? (JSON.parse(r.detail) as Record<string, Record<string, number> | undefined>)[what] : undefined) ?? {};
    for (const [to, n] of Object.entries(counts)) out.set(to, (out.get(to) ?? 0) + n);
  }
  return out;
}

function blank(flow: string, source: string, target: string, problem: string): FlowCounts {
  return {
    flow, source, target, extracted: 0, replayedAtSource: 0, quarantined: 0, filtered: 0, withheld: 0, withheldAfterPublish: 0, published: 0, replayedAtTarget: 0,
    applied: 0, rejected: 0, awaitingReceipt: 0, problems: [problem],
  };
}
