import type { Command } from 'commander';
import { log } from '../../log';
import { Runtime } from '../../node/runtime';
import { project } from '../context';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run department nodes until stopped (SIGTERM drains and exits; a second SIGTERM exits at once)')
    .option('-d, --department <id...>', 'only these departments (default: all in the config)')
    .action(async (opts: { department?: string[] }, cmd: Command) => {
      const p = project(cmd);
      const runtime = await Runtime.start(p, { departments: opts.department, patient: true, label: opts.department?.join(',') ?? 'all' });
      runtime.schedule();
      const stopped = new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (signal: NodeJS.Signals) => {
          if (stopping) {
            log.warn('second signal: exiting now; unfinished work is redone after restart', { signal });
            process.exit(0);
          }
          stopping = true;
          log.info('draining: finishing the work in hand', { signal });
          runtime.stop().then(resolve, (err) => {
            log.error('drain failed', { error: String(err) });
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
      // said once a signal can be taken: whoever waits for this line may stop the nodes at once
      log.info('nodes up', { departments: [...runtime.nodes.keys()], flows: p.flows.map((f) => f.id) });
      await stopped;
      log.info('nodes stopped');
    });
}
