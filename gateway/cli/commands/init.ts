import type { Command } from 'commander';
import { DxgError } from '../../errors';
import { requireKnown } from '../../config/project';
import { declareRestored, initExchange } from '../../node/init';
import { project, write } from '../context';
import { count } from '../words';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create (or upgrade) the bookkeeping tables in every department database, check flows against them, create the department broker users and declare the broker topology')
    .option('--restored <department...>', "these departments' databases were restored from a backup: declare it in their ledgers (a signed event), so that what the restore rolled back is not taken for tampering")
    .action(async (opts: { restored?: string[] }, cmd: Command) => {
      const p = project(cmd);
      requireKnown(p, { department: opts.restored });
      const report = await initExchange(p);
      for (const d of report.departments) write(`${d.ok ? 'ok  ' : 'FAIL'} ${d.id}: ${d.message}`);
      write(`broker: ${report.queues.length} queues declared for exchange '${p.config.exchange}'; department users ${report.users.join(', ')} (each reads only its own queues and writes only its own exchanges)`);
      if (report.grants) write(`grants: ${report.grants}`);
      for (const u of report.unbound) write(`not bound (no grant): ${u}`);
      for (const w of report.warnings) write(`warning: ${w}`);
      for (const q of report.stale) write(`stale: queue ${q.name} (${count(q.messages ?? 0, 'message')}) serves no flow of this config any more; dxg teardown --stale lists such queues, --stale --yes removes them`);
      if (report.problems.length || report.departments.some((d) => !d.ok)) {
        throw new DxgError('DXG_CATALOG', `init found problems:\n${report.problems.join('\n')}`);
      }
      if (opts.restored?.length) for (const line of await declareRestored(p, opts.restored)) write(line);
    });
}
