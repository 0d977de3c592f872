import type { Project } from '../config/project';
import { renderTable } from '../cli/table';
import type { BuiltDepartment } from './build';
import type { DemoChanges } from './changes';
import type { GeneratedEnterprise, GeneratedPerson } from './generate';
import type { Outcomes } from './outcomes';
import type { SetAside } from './excerpt';
import type { FlowCounts } from '../ledger/counts';

/** The printed report's pieces: plain text for the terminal, no data access. */

export function heading(n: number, title: string, ms?: number): string {
  return `\n${n}. ${title}${ms === undefined ? '' : ` (${seconds(ms)})`}\n`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function departmentsTable(project: Project, built: Map<string, BuiltDepartment>): string {
  const rows = [...project.config.departments.values()].map((d) => {
    const b = built.get(d.id)!;
    const role = project.flows.some((f) => f.source.department === d.id) ? `${b.rows} rows written` : 'empty: filled by the exchange';
    return [d.id, d.name, b.db.engine, b.db.name, b.tables.join(', '), role];
  });
  return renderTable(['department', 'name', 'engine', 'database', 'business table', ''], rows);
}

export function reconciliationTable(rows: FlowCounts[]): string {
  return renderTable(
    ['flow', 'from → to', 'extracted', '= published', '+ quarantined', '+ filtered', '+ withheld', 'published', '= applied', '+ rejected', ''],
    rows.map((r) => [r.flow, `${r.source} → ${r.target}`, r.extracted, r.published, r.quarantined, r.filtered, r.withheld, r.published, r.applied, r.rejected,
      r.problems.length || r.awaitingReceipt ? 'MISMATCH' : 'ok']),
  );
}

export function verdict(rows: FlowCounts[]): string {
  const problems = rows.flatMap((r) => [...r.problems, ...(r.awaitingReceipt ? [`${r.awaitingReceipt} envelope(s) without a receipt`] : [])]
    .map((p) => `  ${r.flow} ${r.source} → ${r.target}: ${p}`));
  if (problems.length === 0) {
    return 'reconciled: every extracted record was published, quarantined, filtered or withheld (no grant), and every published record was applied or\n'
      + "rejected — the source's receipts and each target's own ledger say the same.";
  }
  return `NOT reconciled:\n${problems.join('\n')}`;
}

export function setAsideLines(items: SetAside[], none: string): string {
  if (items.length === 0) return `  ${none}`;
  return renderTable(['department', 'flow', 'records', 'first', 'reason'], items.map((q) => [
    q.department, q.flow, q.count, q.key, q.reason.length > 100 ? `${q.reason.slice(0, 100)}…` : q.reason,
  ]));
}

export function renderHints(hints: [string, string][]): string {
  const width = Math.max(...hints.map(([c]) => c.length));
  return hints.map(([c, what]) => `  ${c.padEnd(width)}   ${what}`).join('\n');
}

export function describeChanges(c: DemoChanges): string {
  return `changes at the sources: amr ${c.renames.length} renames, ${c.deregistrations.length} deregistrations (status 4, no longer admitted by tax), `
    + `${c.newEnterprises.length} new enterprises,\n${c.erasures.length} registrations deleted outright (entered in error); `
    + `police ${c.deaths.length} death registrations, ${c.moves.length} household moves.\n`
    + 'The key reconciliation (nightly in flows/enterprise-basic.yaml, here right after the cycle) finds what left a target\'s `where`\n'
    + 'and what was deleted outright, and withdraws it there.';
}

export function planted(enterprises: GeneratedEnterprise[], persons: GeneratedPerson[]): string {
  const flawedEnterprises = enterprises.filter((e) => e.flaw).length;
  const flawedPersons = persons.filter((p) => p.flaw).length;
  const longNames = enterprises.filter((e) => e.longName).length;
  return `Put in on purpose: ${flawedEnterprises} enterprise records with data errors (wrong credit-code check character, one-character\n`
    + `name, status '9', malformed industry code), ${flawedPersons} person records (wrong identity-number check digit, gender '3',\n`
    + `empty name), and ${longNames} valid enterprise names longer than the tax register's 100-character name column.`;
}

export const SUMMARY_LEGEND = 'quarantined: records with data errors, set aside at the source with their reasons; filtered: enterprises with status\n'
  + "3/4/5, which tax's `where` does not admit; rejected: names the tax database itself refused (too long).";

export function outcomesText(o: Outcomes, changes: DemoChanges): string {
  return `tax_taxpayer (tax): ${o.taxpayers} taxpayers, ${o.taxpayersInactiveAtSource} of them no longer active at market regulation `
    + `(the reconciliation withdrew the ${changes.deregistrations.length} deregistered and the ${changes.erasures.length} deleted).\n`
    + `qs_enterprise (qs): ${o.qsEnterprises} enterprises, every status.\n`
    + `mz_resident (civil): ${o.residents} residents; public security has recorded ${o.deceased} of them deceased, ${changes.deaths.length} in round 2.\n`
    + `  ${o.deceasedLowIncome} deceased residents still receive the low-income allowance (低保): cases for civil affairs to review.`;
}
