import type { Command } from 'commander';
import { DxgError } from '../../errors';
import { initExchange } from '../../node/init';
import { project, write } from '../context';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the bookkeeping tables in every department database, check flows against them, declare the broker topology')
    .action(async (_opts, cmd: Command) => {
      const p = project(cmd);
      const report = await initExchange(p);
      for (const d of report.departments) write(`${d.ok ? 'ok  ' : 'FAIL'} ${d.id}: ${d.message}`);
      write(`broker: ${report.queues.length} queues declared for exchange '${p.config.exchange}'`);
      if (report.problems.length || report.departments.some((d) => !d.ok)) {
        throw new DxgError('DXG_CATALOG', `init found problems:\n${report.problems.join('\n')}`);
      }
    });
}
