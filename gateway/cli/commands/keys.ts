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
    .description("create the key pairs that are missing, one per department (or only D's: on a department's own machine)")
    .option('-d, --department <id...>', 'only these departments')
    .action((opts: { department?: string[] }, cmd: Command) => {
      const { doc, config } = loadExchange(configFile(cmd));
      if (!config) throw new DxgError('DXG_CONFIG', doc.problems.map(formatProblem).join('\n'));
      const unknown = (opts.department ?? []).filter((d) => !config.departments.has(d));
      if (unknown.length) throw new DxgError('DXG_USAGE', `unknown department ${unknown.join(', ')} (known: ${[...config.departments.keys()].join(', ')})`);
      const wanted = opts.department ?? [...config.departments.keys()];
      const keyring = new Keyring(config.dirs.keys);
      const created = keyring.generate(wanted);
      for (const d of wanted) write(`${d}: ${created.includes(d) ? 'created' : 'exists'} (${config.dirs.keys}/${d}.key, .pub)`);
    });
}
