import { isAbsolute, relative } from 'node:path';
import type { Command } from 'commander';
import { wholeNumber } from '../options';
import { configFile, project, write } from '../context';

interface DemoFlags {
  seed: number;
  enterprises: number;
  persons: number;
  timeout: number;
}

const DEFAULT_CONFIG = 'config/exchange.yaml';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build the demo department databases (dxg_* only, dropped and created), run the demo flows end to end twice, print the summary, the reconciliation and the audit trail')
    .option('--seed <n>', 'seed of the generated records: the same seed gives the same data', wholeNumber(0, 2 ** 32 - 1), 2024)
    // the second round changes 75 enterprises and 40 persons: it needs that many clean records
    .option('--enterprises <n>', 'enterprises in the market regulation register', wholeNumber(200, 1_000_000), 3000)
    .option('--persons <n>', 'persons in the public security register', wholeNumber(200, 1_000_000), 3000)
    .option('--timeout <seconds>', 'how long each round waits for its receipts', wholeNumber(1, 86_400), 120)
    .action(async (flags: DemoFlags, cmd: Command) => {
      const options = {
        seed: flags.seed,
        enterprises: flags.enterprises,
        persons: flags.persons,
        timeoutMs: flags.timeout * 1000,
        command: `${invocation()} ${configFile(cmd) === DEFAULT_CONFIG ? '' : `--config ${configFile(cmd)} `}`,
      };
      // loaded here: the demo starts a centre, whose HTTP server no other command needs
      const { runDemo } = await import('../../demo/scenario');
      const ok = await runDemo(project(cmd), options, write);
      if (!ok) process.exitCode = 1;
    });
}

/**
 * How the demo's hints should call dxg: as it was started here (`node bin/dxg`, what the README and
 * `npm run demo` use), or by name where it was started from elsewhere (npm link, npx).
 */
function invocation(): string {
  const self = relative(process.cwd(), process.argv[1] ?? '');
  return self && !self.startsWith('..') && !isAbsolute(self) && !self.includes('node_modules') ? `node ${self}` : 'dxg';
}
