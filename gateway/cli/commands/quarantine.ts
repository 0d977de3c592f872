import type { Command } from 'commander';
import { wholeNumber, wholeNumbers } from '../options';
import { listQuarantine, type QuarantineRow, type Stage } from '../../bookkeeping/quarantine';
import { DxgError } from '../../errors';
import { Runtime } from '../../node/runtime';
import { replay } from '../../node/replay';
import { requireKnown } from '../../config/project';
import { project, write } from '../context';
import { withDatabases } from '../databases';
import { renderCsv } from '../../csv';
import { renderTable } from '../table';
import { count } from '../words';

const STAGES = ['source', 'target', 'dead-letter'];

interface ListOptions {
  flow?: string;
  department?: string;
  stage?: Stage;
  all?: boolean;
  format: string;
  limit: number;
}

export function registerQuarantine(program: Command): void {
  program
    .command('quarantine')
    .description('list what was set aside, with the reason: records quarantined at a source, rejected at a target, and dead letters')
    .option('-f, --flow <id>', 'only this flow')
    .option('-d, --department <id>', "only this department's items")
    .option('--stage <stage>', `only ${STAGES.join(', ')}`)
    .option('--all', 'also items already replayed, or superseded by a newer version of their record')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--limit <n>', 'items per department', wholeNumber(1, 10_000_000), 1000)
    .action(async (opts: ListOptions, cmd: Command) => {
      checkStage(opts.stage);
      if (!['table', 'json', 'csv'].includes(opts.format)) throw new DxgError('DXG_USAGE', `--format must be table, json or csv, not '${opts.format}'`);
      const p = project(cmd);
      requireKnown(p, opts);
      const rows = await withDatabases(p, async (dbs, unreachable) => {
        for (const [d, why] of unreachable) process.stderr.write(`dxg: quarantine of ${d} unavailable: ${why}\n`);
        const all: (QuarantineRow & { department: string })[] = [];
        for (const [department, db] of dbs) {
          if (opts.department && department !== opts.department) continue;
          const items = await listQuarantine(db, { flow: opts.flow, stage: opts.stage, all: opts.all, limit: opts.limit });
          all.push(...items.map((i) => ({ ...i, department })));
        }
        return all;
      });
      const head = ['department', 'id', 'at', 'stage', 'flow', 'from', 'to', 'record', 'message', 'status', 'reason'];
      const cells = rows.map((r) => [r.department, r.id, r.at, r.stage, r.flow ?? '', r.from_dept ?? '', r.to_dept ?? '', r.record_key ?? '', r.message_id ?? '', r.status, r.reason]);
      if (opts.format === 'json') write(JSON.stringify(rows.map(({ body, headers, record, ...r }) => ({ ...r, record: record ? JSON.parse(record) : null })), null, 2));
      else if (opts.format === 'csv') process.stdout.write(renderCsv(head, cells));
      else {
        write(renderTable(head, cells.map((c) => [...c.slice(0, 2), String(c[2]).replace('T', ' ').slice(0, 19), ...c.slice(3, 8), String(c[8]).slice(0, 8), c[9], String(c[10]).slice(0, 100)])));
        write(`${count(rows.length, 'item')}${opts.all ? '' : ' open'}; after fixing the cause: dxg replay [--flow F] [--department D] [--stage S] [--id N --department D]; to close items for good: dxg dismiss --department D --id N --reason TEXT`);
      }
    });

  program
    .command('replay')
    .description('send quarantined items again once the cause is fixed; the ledger shows both attempts')
    .option('-f, --flow <id>', 'only this flow')
    .option('-d, --department <id>', "only this department's items")
    .option('--stage <stage>', `only ${STAGES.join(', ')}`)
    .option('--id <n...>', 'only these items (ids from dxg quarantine; with --department)', wholeNumbers(1, Number.MAX_SAFE_INTEGER))
    .option('--timeout <seconds>', 'how long to wait for the targets to answer', wholeNumber(1, 86_400), 120)
    .action(async (opts: { flow?: string; department?: string; stage?: Stage; id?: number[]; timeout: number }, cmd: Command) => {
      checkStage(opts.stage);
      if (opts.id && !opts.department) throw new DxgError('DXG_USAGE', '--id needs --department: item ids are per department');
      const p = project(cmd);
      requireKnown(p, opts);
      const runtime = await Runtime.start(p, { label: 'replay' });
      const receipts = runtime.collectReceipts();
      try {
        const reports = await replay(runtime.nodes.values(), { flow: opts.flow, department: opts.department, stage: opts.stage, ids: opts.id }, runtime.signal);
        const missing = await receipts.wait(reports.flatMap((r) => r.awaiting), opts.timeout * 1000);
        const answered = [...receipts.arrived.values()];
        write(renderTable(['department', 'stage', 'flow', 'items', 'sent / applied', 'set aside again', 'notes'], reports.map((r) => {
          // records sent again from a source are answered by the targets' receipts; a target's replay counts its own
          const rejected = r.stage === 'source' ? answered.filter((a) => r.awaiting.includes(a.messageId)).reduce((n, a) => n + a.rejected, 0) : 0;
          const notes = [...r.notes, ...(rejected ? [`${rejected} rejected by the target (see dxg quarantine)`] : [])];
          return [r.department, r.stage, r.flow, r.items, r.done, r.again, notes.join('; ')];
        })));
        if (reports.length === 0) write('nothing to replay');
        if (missing.length) throw new DxgError('DXG_TIMEOUT', `${missing.length} replayed envelope(s) have no receipt after ${opts.timeout} s; they stay queued and are applied when their target node runs (see: dxg status)`);
      } finally {
        receipts.stop();
        await runtime.stop();
      }
    });
}

/** `dxg dismiss`: open quarantine items closed for good, with the reason, in the department's ledger. */
export function registerDismiss(program: Command): void {
  program
    .command('dismiss')
    .description('close quarantine items for good without sending them again (a record whose key was wrong, entered anew under the right one); the ledger keeps why')
    .requiredOption('-d, --department <id>', 'the department whose items they are (item ids are per department)')
    .requiredOption('--id <n...>', 'the items (ids from dxg quarantine)', wholeNumbers(1, Number.MAX_SAFE_INTEGER))
    .requiredOption('--reason <text>', 'why they are not sent again: recorded in the ledger')
    .action(async (opts: { department: string; id: number[]; reason: string }, cmd: Command) => {
      if (!opts.reason.trim()) throw new DxgError('DXG_USAGE', '--reason must say why the items are not sent again');
      const p = project(cmd);
      requireKnown(p, { department: opts.department });
      const runtime = await Runtime.start(p, { departments: [opts.department], label: 'dismiss' });
      try {
        const closed = await runtime.nodes.get(opts.department)!.dismiss(opts.id, opts.reason.trim());
        write(`${opts.department}: ${count(closed, 'item')} dismissed${closed < opts.id.length ? `; ${opts.id.length - closed} of the ids given were not open (dxg quarantine --all shows them)` : ''}`);
      } finally {
        await runtime.stop();
      }
    });
}

function checkStage(stage?: string): void {
  if (stage && !STAGES.includes(stage)) throw new DxgError('DXG_USAGE', `--stage must be one of ${STAGES.join(', ')}, not '${stage}'`);
}
