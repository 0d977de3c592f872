import type { Command } from 'commander';
import { requireKnown } from '../../config/project';
import { log } from '../../log';
import { NodeEndpoints } from '../../node/endpoint';
import { Runtime } from '../../node/runtime';
import { project } from '../context';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run department nodes until stopped (SIGTERM drains and exits; a second SIGTERM exits at once)')
    .option('-d, --department <id...>', 'only these departments (default: all in the config)')
    .action(async (opts: { department?: string[] }, cmd: Command) => {
      const p = project(cmd);
      const departments = opts.department?.length ? opts.department : [...p.config.departments.keys()];
      requireKnown(p, { department: departments });
      // before the nodes start: a taken port fails at once, not after a wait for a database
      const endpoints = await NodeEndpoints.open(p.config, departments);
      const runtime = await Runtime.start(p, { departments: opts.department, patient: true, label: opts.department?.join(',') ?? 'all' }).catch(async (err) => {
        await endpoints.close();
        throw err;
      });
      endpoints.serve(runtime.nodes);
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
          runtime.stop().catch((err) => log.error('drain failed', { error: String(err) })).then(() => endpoints.close()).then(resolve, resolve);
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
