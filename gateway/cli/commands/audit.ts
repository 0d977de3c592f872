import type { Command } from 'commander';
import { wholeNumber } from '../options';
import { exchangeKeyring } from '../../envelope/keys';
import { DxgError, errorMessage } from '../../errors';
import { verifyArchive } from '../../ledger/archive-file';
import { requireKnown } from '../../config/project';
import { project, write } from '../context';
import { withDatabases } from '../databases';
import { renderCsv } from '../../csv';
import { centreCall } from '../../centre/client';
import { collectTrail, fromJson, trailJson, trailTable, verifyLedgers, type TrailEntry, type TrailJson } from '../trail';
import { centreUrl } from './login';

interface AuditOptions {
  centre?: boolean;
  reveal?: boolean;
  reason?: string;
  flow?: string;
  department?: string;
  since?: string;
  key?: string;
  format: string;
  limit: number;
}

export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('the exchange log: every extract, publish, apply, reject, receipt, quarantine and dead letter, from every department ledger')
    .option('-f, --flow <id>', 'only this flow')
    .option('-d, --department <id>', 'only entries from or to this department')
    .option('-s, --since <time>', 'from this time: ISO date/time, or an age such as 30m, 12h, 7d')
    .option('-k, --key <record key>', 'only the steps of this record (its key as in the flow)')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--limit <n>', 'newest entries per department ledger (with --centre: entries in all)', wholeNumber(1, 10_000_000), 1000)
    .option('--centre', "ask the exchange centre (every department's ledger at once; needs dxg login)")
    .option('--reveal', 'with --centre: record keys and personal data unmasked (needs --reason; the look is recorded at the centre)')
    .option('--reason <text>', 'with --centre: why you look (needed with --key or --reveal), recorded with who and when')
    .action(async (opts: AuditOptions, cmd: Command) => {
      if (!['table', 'json', 'csv'].includes(opts.format)) throw new DxgError('DXG_USAGE', `--format must be table, json or csv, not '${opts.format}'`);
      const p = project(cmd);
      requireKnown(p, opts);
      if (opts.centre) return print(await fromCentre(centreUrl(cmd), opts), opts.format);
      const since = opts.since ? parseSince(opts.since) : undefined;
      const rows = await withDatabases(p, async (dbs, unreachable) => {
        for (const [d, why] of unreachable) process.stderr.write(`dxg: ledger of ${d} unavailable: ${why}\n`);
        return collectTrail(dbs, { flow: opts.flow, department: opts.department, since, key: opts.key, limit: opts.limit });
      });
      print(rows, opts.format);
    });

  audit
    .command('verify')
    .description("recompute every department ledger's hash chain and signatures; exit 1 at the first broken entry")
    .option('--archive <file...>', "check archive files of the centre offline instead: the centre's signature, the chain and every entry's signature")
    .action(async (opts: { archive?: string[] }, cmd: Command) => {
      const p = project(cmd);
      if (opts.archive) return verifyArchives(opts.archive, exchangeKeyring(p.config));
      const keyring = exchangeKeyring(p.config);
      const broken = await withDatabases(p, async (dbs, unreachable) => {
        const report = await verifyLedgers(dbs, unreachable, keyring);
        for (const line of report.lines) write(line);
        return report.broken;
      });
      if (broken) process.exitCode = 1;
    });
}

/** The same question asked of the centre's collected ledgers: its trail for a key, else its audit search, page by page up to --limit. */
async function fromCentre(url: string, opts: AuditOptions): Promise<TrailEntry[]> {
  if (opts.reveal && !opts.reason) throw new DxgError('DXG_USAGE', '--reveal needs --reason: the look is recorded with who and when');
  if (opts.key && !opts.reason) throw new DxgError('DXG_USAGE', '--key with --centre needs --reason: a look at one record is recorded at the centre with who, when and whether the key was found');
  const params = new URLSearchParams();
  if (opts.reveal) params.set('reveal', 'true');
  if (opts.reason) params.set('reason', opts.reason);
  if (opts.key) {
    params.set('key', opts.key);
    return fromJson((await centreCall<{ entries: TrailJson[] }>(url, `/api/trail?${params}`)).entries);
  }
  for (const [k, v] of Object.entries({ flow: opts.flow, department: opts.department, since: opts.since ? parseSince(opts.since) : undefined })) if (v) params.set(k, v);
  const out: TrailEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: { entries: TrailJson[]; next: string | null } = await centreCall(url, `/api/audit?${params}&limit=${Math.min(5000, opts.limit - out.length)}${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...fromJson(page.entries));
    cursor = page.next;
  } while (cursor && out.length < opts.limit);
  if (cursor) process.stderr.write(`dxg: the first ${out.length} entries in time order; there are more (--limit, --since)\n`);
  return out;
}

function print(rows: TrailEntry[], format: string): void {
  if (format === 'json') {
    write(JSON.stringify(trailJson(rows), null, 2));
    return;
  }
  if (format === 'csv') {
    const head = ['at', 'ledger', 'seq', 'kind', 'flow', 'message', 'from', 'to', 'records', 'detail', 'digest', 'hash'];
    process.stdout.write(renderCsv(head, rows.map((r) => [r.at, r.ledger, Number(r.seq), r.kind, r.flow, r.message_id, r.from_dept, r.to_dept, Number(r.record_count), r.detail, r.digest, r.hash])));
    return;
  }
  write(trailTable(rows));
}

function verifyArchives(files: string[], keyring: ReturnType<typeof exchangeKeyring>): void {
  for (const file of files) {
    let r;
    try {
      r = verifyArchive(file, keyring);
    } catch (err) {
      write(`${file}: cannot check: ${errorMessage(err)}`);
      process.exitCode = 1;
      continue;
    }
    const what = `${r.header.department}, entries ${r.header.from}..${r.header.to}`;
    if (r.broken) {
      write(`${file}: BROKEN (${what}): ${r.broken}`);
      process.exitCode = 1;
    } else {
      write(`${file}: ${what}: ${r.checked} entries, signed by the centre, chain and signatures intact`);
    }
  }
}

/** ISO date/time as given, or an age (30m, 12h, 7d) back from now, as the ledger's UTC ISO text. `name`: the option or parameter, for the message. */
export function parseSince(text: string, name = '--since'): string {
  const age = /^(\d+)\s*([smhd])$/.exec(text.trim());
  const t = age
    ? new Date(Date.now() - Number(age[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[age[2] as 's' | 'm' | 'h' | 'd'])
    : new Date(text);
  // an age or a date too far from ours for a calendar is no time at all
  if (Number.isNaN(t.getTime())) throw new DxgError('DXG_USAGE', `${name} '${text}' is neither an ISO date/time nor an age like 30m, 12h, 7d (within the calendar)`);
  return t.toISOString();
}
