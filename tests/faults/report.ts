import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Verdict } from './verify';

/**
 * The fault suite's closing table (npm run test:faults). Every run prints it and writes it to the file
 * DXG_FAULTS_RESULTS names, or else to dxg-faults-results.md in the system's temp directory, and says
 * where. The tracked tests/faults/results.md holds the results published with a revision: a run
 * rewrites it only when asked, with DXG_FAULTS_WRITE_RESULTS=1 (and cluster.test.ts, cluster-results.md).
 */

/** One line of the suite's closing table. */
export interface CaseRow {
  name: string;
  /** what was done to the exchange, e.g. "6 × SIGKILL source, 6 restarts" */
  faults: string;
  killsRestarts: string;
  verdict?: Verdict;
  durationMs: number;
  /** the failure, if the case did not get as far as a verdict or it found problems */
  failure?: string;
}

const HEAD = ['case', 'records', 'faults', 'kills/restarts', 'extracted', 'published', 'applied', 'superseded', 'redelivered', 'dead-lettered', 'lost', 'duplicated', 'regressed', 'duration', 'result'];

function cells(row: CaseRow): string[] {
  const v = row.verdict;
  const both = (f: (t: Verdict['ledgers']['targets'][string]) => number) => (v ? String(Object.values(v.ledgers.targets).reduce((n, t) => n + f(t), 0)) : '-');
  const cmp = (f: (c: Verdict['qs']) => number) => (v ? String(f(v.qs) + f(v.tax)) : '-');
  return [
    row.name,
    v ? String(v.records) : '-',
    row.faults,
    row.killsRestarts,
    v ? String(v.ledgers.extracted) : '-',
    both((t) => t.published),
    both((t) => t.applied),
    both((t) => t.superseded),
    both((t) => t.redelivered),
    v ? String(v.ledgers.deadLettered) : '-',
    cmp((c) => c.lost),
    both((t) => t.appliedTwice),
    cmp((c) => c.regressed),
    `${(row.durationMs / 1000).toFixed(1)} s`,
    row.failure || (v && v.problems.length) ? 'FAIL' : 'ok',
  ];
}

/** A Markdown table: readable as printed, and pasted as is into the issue. */
export function renderTable(rows: CaseRow[]): string {
  const data = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...data.map((r) => width(r[i]))));
  const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 || i === 2 || i === 3 ? pad(c, widths[i]) : padStart(c, widths[i]))).join(' | ')} |`;
  return [line(HEAD), `|${widths.map((w, i) => (i === 0 || i === 2 || i === 3 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map((r) => line(cells(r)))].join('\n');
}

/** Display width: CJK characters take two columns. */
const width = (s: string) => [...s].reduce((n, ch) => n + (/[\u3000-\u9fff\uff00-\uffef]/.test(ch) ? 2 : 1), 0);
const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - width(s)));
const padStart = (s: string, w: number) => ' '.repeat(Math.max(0, w - width(s))) + s;

export function renderReport(rows: CaseRow[], seed: number, totalMs: number): string {
  const notes = rows.filter((r) => r.failure || r.verdict?.problems.length).map((r) => `- ${r.name}: ${r.failure ?? r.verdict!.problems.join('\n  ')}`);
  return [
    `Fault-injection suite (npm run test:faults), seed ${seed} (repeat with DXG_FAULTS_SEED=${seed}), ${new Date().toISOString()}, total ${(totalMs / 1000).toFixed(0)} s`,
    '',
    renderTable(rows),
    '',
    'Counts are summed over both targets (qs: PostgreSQL, every record; tax: MariaDB, two enterprise types). lost: records a target should hold',
    'and does not; duplicated: messages applied more than once; regressed: records held in an older version than the source\'s; redelivered:',
    'deliveries the inbox recognised and did not apply again. Rows with differing values or rows a target should not hold fail a case too.',
    ...(notes.length ? ['', 'Problems:', ...notes] : []),
    '',
  ].join('\n');
}

/**
 * Writes the report where this run's results go (see the top of this file); returns the files written.
 * `name`: another table of the suite (cluster.test.ts: `cluster-results`) goes beside the main one.
 */
export function writeReport(text: string, name = 'results'): string[] {
  const main = process.env.DXG_FAULTS_RESULTS || join(tmpdir(), 'dxg-faults-results.md');
  const files = [name === 'results' ? main : join(dirname(main), `dxg-faults-${name}.md`)];
  if (process.env.DXG_FAULTS_WRITE_RESULTS === '1') files.push(join(__dirname, `${name}.md`));
  for (const file of files) writeFileSync(file, text);
  return files;
}
