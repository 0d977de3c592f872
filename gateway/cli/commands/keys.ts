import type { Command } from 'commander';
import { Keyring } from '../../envelope/keys';
import { loadExchange } from '../../config/exchange';
import { formatProblem } from '../../config/problems';
import { DxgError } from '../../errors';
import { configFile, write } from '../context';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('department signing keys (Ed25519)');
  keys
    .command('generate')
    .description('create the key pairs that are missing, one per department')
    .action((_opts, cmd: Command) => {
      const { doc, config } = loadExchange(configFile(cmd));
      if (!config) throw new DxgError('DXG_CONFIG', doc.problems.map(formatProblem).join('\n'));
      const keyring = new Keyring(config.dirs.keys);
      const created = keyring.generate(config.departments.keys());
      for (const d of config.departments.keys()) write(`${d}: ${created.includes(d) ? 'created' : 'exists'} (${config.dirs.keys}/${d}.key, .pub)`);
    });
}
