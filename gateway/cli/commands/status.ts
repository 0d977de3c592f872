import type { Command } from 'commander';
import { loadCheckpoint } from '../../bookkeeping/checkpoint';
import { outboxCount } from '../../bookkeeping/outbox';
import { Broker } from '../../broker/connection';
import { Topology } from '../../broker/topology';
import type { Project } from '../../config/project';
import { DxgError, errorMessage } from '../../errors';
import { bindSource } from '../../flow/binding';
import { flowCounts, type FlowCounts } from '../../ledger/counts';
import { project, write } from '../context';
import { withDatabases } from '../databases';
import { renderTable } from '../table';
import { centreCall } from '../../centre/client';
import type { TargetView } from '../../centre/monitor';
import { centreUrl } from './login';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per flow and target: last run, checkpoint, rows behind, messages pending, record counts and whether they reconcile')
    .option('--format <format>', 'table or json', 'table')
    .option('--centre', 'ask the exchange centre: every flow at once, with lag and rates (needs dxg login)')
    .action(async (opts: { format: string; centre?: boolean }, cmd: Command) => {
      if (!['table', 'json'].includes(opts.format)) throw new DxgError('DXG_USAGE', `--format must be table or json, not '${opts.format}'`);
      if (opts.centre) return centreStatus(centreUrl(cmd), opts.format);
      const p = project(cmd);
      const depths = await queueDepths(p);
      const rows = await withDatabases(p, async (dbs, unreachable) => {
        const counts = await flowCounts(p, dbs);
        const out: StatusRow[] = [];
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
            behind = await src.changes.count(binding.change, cp.position, null);
          } catch (err) {
            behind = `? (${errorMessage(err)})`;
          }
          const pendingOutbox = await outboxCount(src, flow.id);
          for (const c of counts.filter((x) => x.flow === flow.id)) {
            const { flow: _f, source: _s, target, problems, ...figures } = c;
            out.push({
              flow: flow.id,
              target,
              lastRun: cp.updatedAt ?? 'never',
              checkpoint: cp.position ? String(cp.position.watermark) : '-',
              behind,
              outbox: pendingOutbox,
              queued: depths.get(`${target}/${flow.id}`) ?? '?',
              ...figures,
              reconciled: problems.length ? problems.join('; ') : figures.awaitingReceipt ? 'receipts awaited' : 'yes',
            });
          }
        }
        return out;
      });
      if (opts.format === 'json') return write(JSON.stringify(rows, null, 2));
      const head = ['flow', 'target', 'last run', 'checkpoint', 'behind', 'outbox', 'queued', 'awaiting receipt',
        'extracted', 'filtered', 'quarantined', 'withheld', 'published', 'applied', 'rejected', 'replayed (source + target)', 'reconciled'];
      write(renderTable(head, rows.map((r) => ('problem' in r)
        ? [r.flow, r.target, r.problem, ...head.slice(3).map(() => '')]
        : [r.flow, r.target, r.lastRun, r.checkpoint, r.behind, r.outbox, r.queued, r.awaitingReceipt, r.extracted, r.filtered, r.quarantined,
          r.withheldAfterPublish ? `${r.withheld} (${r.withheldAfterPublish} after publishing)` : r.withheld, r.published, r.applied, r.rejected, r.replayedAtSource || r.replayedAtTarget ? `${r.replayedAtSource} + ${r.replayedAtTarget}` : 0, r.reconciled])));
      write('extracted + replayed at the source = published + quarantined + filtered + withheld at extraction; published + replayed at the target = applied + rejected + withheld after publishing');
    });
}

/** The centre's view: counts as the sources last reported them, lag and rates from the collected ledgers, backlog from the heartbeats. */
async function centreStatus(url: string, format: string): Promise<void> {
  const status = await centreCall<{ generatedAt: string; targets: TargetView[]; openAlarms: number }>(url, '/api/status');
  if (format === 'json') return write(JSON.stringify(status, null, 2));
  const n = (v: number | null | undefined) => (v === null || v === undefined ? '?' : v);
  const head = ['flow', 'target', 'extracted', 'quarantined', 'filtered', 'withheld', 'published', 'applied', 'rejected', 'replayed (source + target)', 'awaiting receipt', 'outbox', 'queued', 'lag p50/p95 s', 'records/s', 'reconciled'];
  // with the replays the counts add up as dxg status's do
  const replayed = (c: TargetView['counts']) => (c && (c.replayedAtSource || c.replayedAtTarget) ? `${c.replayedAtSource} + ${c.replayedAtTarget}` : n(c ? 0 : null));
  write(renderTable(head, status.targets.map((t) => [
    t.flow, t.target, n(t.counts?.extracted), n(t.counts?.quarantined), n(t.counts?.filtered), n(t.counts?.withheld), n(t.counts?.published), n(t.counts?.applied), n(t.counts?.rejected), replayed(t.counts),
    n(t.backlog.awaitingReceipt), n(t.backlog.outbox), n(t.backlog.queued), t.lag ? `${t.lag.p50.toFixed(2)} / ${t.lag.p95.toFixed(2)}` : '-', t.recordsPerSecond.toFixed(1),
    t.reconciled === null ? 'no heartbeat from the source' : t.reconciled ? (t.counts?.awaitingReceipt ? 'receipts awaited' : 'yes') : t.counts!.problems.join('; '),
  ])));
  write(`from the centre at ${url}, ${status.generatedAt}; open alarms: ${status.openAlarms}`);
}

type StatusRow = { flow: string; target: string; problem: string } | ({
  flow: string;
  target: string;
  lastRun: string;
  checkpoint: string;
  behind: string | number;
  outbox: number;
  queued: string | number;
  reconciled: string;
} & Omit<FlowCounts, 'flow' | 'source' | 'target' | 'problems'>);

async function queueDepths(p: Project): Promise<Map<string, number>> {
  const depths = new Map<string, number>();
  let broker: Broker | undefined;
  try {
    broker = await Broker.connect(p.config.broker.url, 'status', false, p.config.broker.ca);
    const topology = Topology.of(p.config);
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
