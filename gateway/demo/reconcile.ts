import type { Database } from '../../adapters/adapter';
import type { Project } from '../config/project';
import { ledgerTotals } from '../ledger/query';

/** One flow's figures for one target, from the source's ledger and receipts and the target's ledger. */
export interface Reconciliation {
  flow: string;
  source: string;
  target: string;
  extracted: number;
  /** set aside at the source: records the indicator set refused, and those this target's code tables lack */
  quarantined: number;
  filtered: number;
  published: number;
  /** as the target's receipts (回执) report them */
  applied: number;
  rejected: number;
  problems: string[];
}

/**
 * Checks that nothing was lost silently (DESIGN §5): extracted = published + quarantined + filtered;
 * published = applied + rejected; and the receipts agree with what the target's own ledger recorded.
 */
export async function reconcile(project: Project, dbs: Map<string, Database>): Promise<Reconciliation[]> {
  const out: Reconciliation[] = [];
  for (const flow of project.flows) {
    const src = dbs.get(flow.source.department);
    if (!src) {
      out.push(...flow.targets.map((t) => blank(flow.id, flow.source.department, t.department, `the ledger of ${flow.source.department} is unavailable`)));
      continue;
    }
    const totals = await ledgerTotals(src, flow.id);
    const sum = (kind: string, to: string | null) => totals.filter((t) => t.kind === kind && t.to_dept === to).reduce((n, t) => n + t.records, 0);
    const extracted = totals.filter((t) => t.kind === 'extract').reduce((n, t) => n + t.records, 0);
    const filtered = await filteredPerTarget(src, flow.id);
    for (const t of flow.targets) {
      // receipts of key reconciliations report deletions, not the fate of published records
      const [receipts] = await src.query<{ applied: string | number | null; rejected: string | number | null }>(
        "SELECT sum(applied) AS applied, sum(rejected) AS rejected FROM dxg_receipts WHERE flow = ? AND to_dept = ? AND kind = 'records'", [flow.id, t.department]);
      const r: Reconciliation = {
        flow: flow.id, source: flow.source.department, target: t.department, extracted,
        quarantined: sum('quarantine', null) + sum('quarantine', t.department),
        filtered: filtered.get(t.department) ?? 0,
        published: sum('publish', t.department),
        applied: Number(receipts?.applied ?? 0),
        rejected: Number(receipts?.rejected ?? 0),
        problems: [],
      };
      if (r.extracted !== r.published + r.quarantined + r.filtered) {
        r.problems.push(`extracted ${r.extracted} ≠ published ${r.published} + quarantined ${r.quarantined} + filtered ${r.filtered}`);
      }
      if (r.published !== r.applied + r.rejected) r.problems.push(`published ${r.published} ≠ applied ${r.applied} + rejected ${r.rejected} (receipts missing?)`);
      const tgt = dbs.get(t.department);
      if (!tgt) r.problems.push(`the ledger of ${t.department} is unavailable`);
      else {
        const theirs = (await ledgerTotals(tgt, flow.id)).filter((x) => x.to_dept === t.department);
        const applied = theirs.filter((x) => x.kind === 'apply').reduce((n, x) => n + x.records, 0);
        const rejected = theirs.filter((x) => x.kind === 'reject').reduce((n, x) => n + x.records, 0);
        if (applied !== r.applied || rejected !== r.rejected) {
          r.problems.push(`receipts say applied ${r.applied}, rejected ${r.rejected}; the ledger of ${t.department} says applied ${applied}, rejected ${rejected}`);
        }
      }
      out.push(r);
    }
  }
  return out;
}

/** Records each target's `where` excluded: only the extract entries' details hold them. */
async function filteredPerTarget(db: Database, flow: string): Promise<Map<string, number>> {
  const rows = await db.query<{ detail: string | null }>("SELECT detail FROM dxg_ledger WHERE kind = 'extract' AND flow = ?", [flow]);
  const out = new Map<string, number>();
  for (const r of rows) {
    const filtered = (r.detail ? (JSON.parse(r.detail) as { filtered?: Record<string, number> }).filtered : undefined) ?? {};
    for (const [to, n] of Object.entries(filtered)) out.set(to, (out.get(to) ?? 0) + n);
  }
  return out;
}

function blank(flow: string, source: string, target: string, problem: string): Reconciliation {
  return { flow, source, target, extracted: 0, quarantined: 0, filtered: 0, published: 0, applied: 0, rejected: 0, problems: [problem] };
}
