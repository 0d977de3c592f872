import type { Command } from 'commander';
import { loadCheckpoint } from '../../bookkeeping/checkpoint';
import { outboxCount } from '../../bookkeeping/outbox';
import { Broker } from '../../broker/connection';
import { Topology } from '../../broker/topology';
import type { Project } from '../../config/project';
import { errorMessage } from '../../errors';
import { bindSource } from '../../flow/binding';
import { ledgerTotals } from '../../ledger/query';
import { project, write } from '../context';
import { withDatabases } from '../databases';
import { renderTable } from '../table';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per flow and target: last run, checkpoint, rows behind, messages pending, applied / rejected / quarantined')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts: { format: string }, cmd: Command) => {
      const p = project(cmd);
      const depths = await queueDepths(p);
      const rows = await withDatabases(p, async (dbs, unreachable) => {
        const out: Record<string, string | number>[] = [];
        for (const flow of p.flows) {
          const src = dbs.get(flow.source.department);
          if (!src) {
            out.push({ flow: flow.id, target: '*', problem: `source database unreachable: ${unreachable.get(flow.source.department)}` });
            continue;
          }
          const cp = await loadCheckpoint(src, flow.id);
          let behind: string | number = '?';
          try {
            const binding = await bindSource(src, flow, p.indicators.get(flow.resource)!);
            behind = await src.countChanges(binding.change, cp.position, null);
          } catch (err) {
            behind = `? (${errorMessage(err)})`;
          }
          const totals = await ledgerTotals(src, flow.id);
          const sum = (kind: string, to?: string | null) => totals.filter((t) => t.kind === kind && (to === undefined || t.to_dept === to)).reduce((n, t) => n + t.records, 0);
          const receipts = await src.query<{ to_dept: string; applied: string | number; rejected: string | number; n: string | number }>(
            "SELECT to_dept, sum(applied) AS applied, sum(rejected) AS rejected, count(*) AS n FROM dxg_receipts WHERE flow = ? AND kind = 'records' GROUP BY to_dept", [flow.id]);
          const pendingOutbox = await outboxCount(src, flow.id);
          for (const t of flow.targets) {
            const r = receipts.find((x) => x.to_dept === t.department);
            const messages = totals.filter((x) => x.kind === 'publish' && x.to_dept === t.department).reduce((n, x) => n + x.entries, 0);
            out.push({
              flow: flow.id,
              target: t.department,
              lastRun: cp.updatedAt ?? 'never',
              checkpoint: cp.position ? String(cp.position.watermark) : '-',
              behind,
              outbox: pendingOutbox,
              queued: depths.get(`${t.department}/${flow.id}`) ?? '?',
              awaitingReceipt: messages - Number(r?.n ?? 0),
              extracted: sum('extract'),
              published: sum('publish', t.department),
              applied: Number(r?.applied ?? 0),
              rejected: Number(r?.rejected ?? 0),
              quarantined: sum('quarantine', null) + sum('quarantine', t.department),
            });
          }
        }
        return out;
      });
      if (opts.format === 'json') return write(JSON.stringify(rows, null, 2));
      const head = ['flow', 'target', 'last run', 'checkpoint', 'behind', 'outbox', 'queued', 'awaiting receipt', 'published', 'applied', 'rejected', 'quarantined'];
      write(renderTable(head, rows.map((r) => r.problem
        ? [r.flow, r.target, String(r.problem), '', '', '', '', '', '', '', '', '']
        : [r.flow, r.target, r.lastRun, r.checkpoint, r.behind, r.outbox, r.queued, r.awaitingReceipt, r.published, r.applied, r.rejected, r.quarantined])));
    });
}

async function queueDepths(p: Project): Promise<Map<string, number>> {
  const depths = new Map<string, number>();
  let broker: Broker | undefined;
  try {
    broker = await Broker.connect(p.config.broker.url, 'status');
    const topology = new Topology(p.config.exchange, p.config.broker);
    for (const flow of p.flows) {
      for (const t of flow.targets) {
        try {
          const q = await broker.withChannel((ch) => ch.checkQueue(topology.flowQueue(t.department, flow.id)));
          depths.set(`${t.department}/${flow.id}`, q.messageCount);
        } catch {
          // queue missing: shown as '?'
        }
      }
    }
  } catch (err) {
    process.stderr.write(`dxg: broker unavailable, queue depths unknown: ${errorMessage(err)}\n`);
  } finally {
    await broker?.close();
  }
  return depths;
}
