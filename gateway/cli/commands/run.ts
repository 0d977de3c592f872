import type { Command } from 'commander';
import { wholeNumber } from '../options';
import { Runtime } from '../../node/runtime';
import { project, write } from '../context';
import { progress } from '../progress';
import { runSummary } from '../summary';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run one cycle of every flow (or --flow) for all departments, wait for every receipt, print a summary')
    .requiredOption('--once', 'one cycle, then exit (the long-running form is dxg up)')
    .option('-f, --flow <id...>', 'only these flows')
    .option('-d, --department <id...>', "run only these departments' nodes here (the others run elsewhere, with dxg up); default all")
    .option('--full', 're-send the whole table, not only the changes; an interrupted full resync resumes where it stopped')
    .option('--reconcile', 'also run the key reconciliation, which finds rows deleted from the source tables')
    .option('--timeout <seconds>', 'how long to wait for receipts', wholeNumber(1, 7 * 86_400), 600)
    .option('--wait <seconds>', 'how long to wait for open source transactions that hold back rows stamped before the run', wholeNumber(0, 86_400), 30)
    .action(async (opts: { flow?: string[]; department?: string[]; full?: boolean; reconcile?: boolean; timeout: number; wait: number }, cmd: Command) => {
      const p = project(cmd);
      const runtime = await Runtime.start(p, { label: 'run', departments: opts.department });
      const bar = progress();
      try {
        const runs = await runtime.runOnce({
          flows: opts.flow, timeoutMs: opts.timeout * 1000, onPage: bar.onPage, full: opts.full, reconcile: opts.reconcile, waitMs: opts.wait * 1000,
        });
        bar.stop();
        write(runSummary(p, runs));
      } finally {
        bar.stop();
        await runtime.stop();
      }
    });
}
