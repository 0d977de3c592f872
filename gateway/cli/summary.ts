import type { Project } from '../config/project';
import type { FlowRun } from '../node/runtime';
import { renderTable } from './table';

/**
 * Per flow and target: what was extracted, filtered, set aside, withheld (no grant), sent, applied and rejected; and, when a
 * key reconciliation ran, how many records it deleted there.
 */
export function runSummary(project: Project, runs: FlowRun[]): string {
  const reconciled = runs.some((r) => r.reconciled);
  const rows: (string | number)[][] = [];
  for (const run of runs) {
    const flow = project.flows.find((f) => f.id === run.stats.flow)!;
    for (const t of flow.targets) {
      const s = run.stats.targets.get(t.department)!;
      const sum = { applied: 0, superseded: 0, rejected: 0, deleted: 0 };
      for (const r of run.receipts.values()) {
        if (r.department !== t.department) continue;
        if (r.kind === 'reconcile') {
          sum.deleted += r.applied;
          continue;
        }
        sum.applied += r.applied;
        sum.superseded += r.superseded;
        sum.rejected += r.rejected;
      }
      const row = [
        flow.id + (run.stats.full ? ' (full)' : ''), `${flow.source.department} → ${t.department}`, run.stats.extracted, s.filtered,
        run.stats.quarantined + s.quarantined, s.withheld, `${s.published} / ${s.messages}`, sum.applied, sum.superseded, sum.rejected,
      ];
      rows.push(reconciled ? [...row, run.reconciled ? sum.deleted : '-'] : row);
    }
  }
  const head = ['flow', 'from → to', 'extracted', 'filtered', 'quarantined', 'withheld', 'published / msgs', 'applied', 'of which superseded', 'rejected'];
  const notes = runs.filter((r) => r.heldBack).map((r) =>
    `${r.stats.flow}: ${r.heldBack} row(s) stamped before this run wait for a transaction still open in the source database; a later cycle sends them (dxg status: behind)`);
  return [renderTable(reconciled ? [...head, 'withdrawn by reconciliation'] : head, rows), ...notes].join('\n');
}
