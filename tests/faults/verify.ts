import { sql } from '../../adapters/sql';
import { compare, expectedQs, expectedTax, settleGone, type Comparison, type DeleteModes } from './expected';
import type { FaultExchange } from './harness';
import { ledgerFigures, type LedgerFigures } from './ledgers';
import { qsRows, sourceRows, taxRows, type TextRow } from './registry';

/** The end state of a case, checked against the databases directly. */
export interface Verdict {
  records: number;
  qs: Comparison;
  tax: Comparison;
  ledgers: LedgerFigures;
  problems: string[];
}

/**
 * `gone`: rows hard-deleted at the source, as they were just before; a target that flags deletions
 * keeps them flagged (if it ever had them).
 */
export async function verify(fx: FaultExchange, quietSince: string, deletes?: DeleteModes, gone = new Map<string, TextRow>()): Promise<Verdict> {
  const source = await sourceRows(fx.src);
  const qs = await check(fx, 'qs', source, deletes, gone);
  const tax = await check(fx, 'tax', source, deletes, gone);
  const ledgers = await ledgerFigures(fx.src, { qs: fx.qs, tax: fx.tax }, quietSince);
  const problems = [...ledgers.problems];
  for (const [name, c] of [['qs', qs], ['tax', tax]] as const) {
    if (c.lost || c.regressed || c.differing || c.extra) {
      problems.push(`${name}: ${c.expected} rows expected, ${c.actual} held: lost ${c.lost}, regressed ${c.regressed}, differing ${c.differing}, extra ${c.extra}; ${c.examples.join('; ')}`);
    }
  }

  const audit = await fx.dxg('audit', 'verify');
  if (audit.code !== 0) problems.push(`dxg audit verify exited ${audit.code}: ${audit.stdout}${audit.stderr}`);

  const status = await fx.dxg('status', '--format', 'json');
  if (status.code !== 0) problems.push(`dxg status exited ${status.code}: ${status.stderr}`);
  else {
    for (const row of JSON.parse(status.stdout) as Record<string, unknown>[]) {
      // a record envelope still in an outbox or a queue awaits its receipt; outbox and queue alone may
      // hold the parts of a scheduled reconciliation under way
      const open = ['behind', 'awaitingReceipt'].filter((k) => row[k] !== 0);
      if (open.length) problems.push(`dxg status for ${row.target}: ${open.map((k) => `${k} ${String(row[k])}`).join(', ')}`);
    }
  }
  for (const n of fx.nodes) problems.push(...n.unexpectedExits);
  return { records: source.size, qs, tax, ledgers, problems };
}

async function check(fx: FaultExchange, target: 'qs' | 'tax', source: Map<string, TextRow>, deletes: DeleteModes | undefined, gone: Map<string, TextRow>): Promise<Comparison> {
  const flagged = deletes?.[target] === 'flag';
  const expectFor = (rows: Map<string, TextRow>) => (target === 'qs' ? expectedQs(rows, deletes) : expectedTax(rows, deletes));
  const version = target === 'qs' ? 'source_updated_at' : 'src_updated';
  const actual = target === 'qs' ? await qsRows(fx.qs, flagged) : await taxRows(fx.tax, flagged);
  const flaggedGone: Comparison = { expected: 0, actual: 0, lost: 0, regressed: 0, differing: 0, extra: 0, examples: [] };
  if (flagged && gone.size) settleGone(flaggedGone, actual, gone, await publishedKeys(fx, target), expectFor, version);
  const rest = compare(expectFor(source), actual, version);
  return {
    ...rest,
    expected: rest.expected + flaggedGone.expected,
    actual: rest.actual + flaggedGone.actual,
    lost: rest.lost + flaggedGone.lost,
    differing: rest.differing + flaggedGone.differing,
    examples: [...flaggedGone.examples, ...rest.examples].slice(0, 5),
  };
}

/** Every record key the source ever sent to `target` (its ledger's publish entries). */
async function publishedKeys(fx: FaultExchange, target: string): Promise<Set<string>> {
  const rows = await fx.src.query<{ record_keys: string | null }>(sql`SELECT record_keys FROM dxg_ledger WHERE kind = 'publish' AND to_dept = ${target}`);
  return new Set(rows.flatMap((r) => (r.record_keys ? r.record_keys.split('\n') : [])));
}
