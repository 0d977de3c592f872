import type { Command } from 'commander';
import { brokerParts, removeParts, staleQueues, type BrokerPart } from '../../broker/teardown';
import { project, write } from '../context';
import { count } from '../words';

const describe = (p: BrokerPart): string => `${p.kind.padEnd(8)} ${p.name}${p.messages === undefined ? '' : ` (${count(p.messages, 'message')})`}`;

export function registerTeardown(program: Command): void {
  program
    .command('teardown')
    .description("take the exchange off the broker: its queues with the messages they hold, its exchanges, its department users (the databases, their dxg_ tables and ledgers, are left as they are); shows what it would remove unless --yes")
    .option('--stale', 'only the queues no flow, target or department of the config uses any more (left by an earlier config)')
    .option('--yes', 'remove it (without, the command only lists it)')
    .action(async (opts: { stale?: boolean; yes?: boolean }, cmd: Command) => {
      const { config, flows } = project(cmd);
      const parts = opts.stale ? await staleQueues(config, flows) : await brokerParts(config, flows);
      const what = opts.stale ? 'queues no part of the config uses' : `exchange '${config.exchange}' on the broker`;
      if (parts.length === 0) {
        write(opts.stale ? 'no stale queues' : `nothing of exchange '${config.exchange}' is on the broker`);
        return;
      }
      for (const p of parts) write(`${opts.yes ? 'removing' : 'would remove'} ${describe(p)}`);
      const messages = parts.reduce((n, p) => n + (p.messages ?? 0), 0);
      if (!opts.yes) {
        write(`${count(parts.length, 'part')} of the ${what}${messages ? `, holding ${count(messages, 'message')} that would be lost` : ''}; run again with --yes to remove them`);
        return;
      }
      await removeParts(config, parts);
      write(`removed ${count(parts.length, 'part')} of the ${what}${messages ? ` and the ${count(messages, 'message')} they held` : ''}`);
    });
}
