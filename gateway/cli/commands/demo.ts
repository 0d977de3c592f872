import type { Command } from 'commander';
import { runDemo } from '../../demo/scenario';
import { DxgError } from '../../errors';
import { configFile, project, write } from '../context';

interface DemoFlags {
  seed: string;
  enterprises: string;
  persons: string;
  timeout: string;
}

const DEFAULT_CONFIG = 'config/exchange.yaml';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('build the demo department databases (dxg_* only, dropped and created), run the demo flows end to end twice, print the summary, the reconciliation and the audit trail')
    .option('--seed <n>', 'seed of the generated records: the same seed gives the same data', '2024')
    .option('--enterprises <n>', 'enterprises in the market regulation register', '3000')
    .option('--persons <n>', 'persons in the public security register', '3000')
    .option('--timeout <seconds>', 'how long each round waits for its receipts', '120')
    .action(async (flags: DemoFlags, cmd: Command) => {
      const options = {
        seed: integer('--seed', flags.seed, 0, 2 ** 32 - 1),
        // the second round changes 75 enterprises and 40 persons: it needs that many clean records
        enterprises: integer('--enterprises', flags.enterprises, 200, 1_000_000),
        persons: integer('--persons', flags.persons, 200, 1_000_000),
        timeoutMs: integer('--timeout', flags.timeout, 1, 86_400) * 1000,
        configHint: configFile(cmd) === DEFAULT_CONFIG ? '' : `--config ${configFile(cmd)} `,
      };
      const ok = await runDemo(project(cmd), options, write);
      if (!ok) process.exitCode = 1;
    });
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new DxgError('DXG_USAGE', `${flag} must be a whole number from ${min} to ${max}, not '${text}'`);
  return n;
}
