#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import { maskText } from '../mask';
import { registerAudit } from './commands/audit';
import { registerDemo } from './commands/demo';
import { registerInit } from './commands/init';
import { registerKeys } from './commands/keys';
import { registerQuarantine } from './commands/quarantine';
import { registerRun } from './commands/run';
import { registerStatus } from './commands/status';
import { registerUp } from './commands/up';
import { registerValidate } from './commands/validate';

/** `dxg`: the exchange gateway's command line. Every command reads `--config` (config/exchange.yaml). */
export function program(): Command {
  const cmd = new Command('dxg')
    .description('Data exchange gateway: departments share indicator records through RabbitMQ, on the record.')
    .option('-c, --config <file>', 'exchange configuration', process.env.DXG_CONFIG ?? 'config/exchange.yaml')
    .showHelpAfterError()
    .exitOverride();
  registerValidate(cmd);
  registerInit(cmd);
  registerRun(cmd);
  registerUp(cmd);
  registerStatus(cmd);
  registerAudit(cmd);
  registerQuarantine(cmd);
  registerKeys(cmd);
  registerDemo(cmd);
  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof DxgError) {
      process.stderr.write(`dxg: ${maskText(err.message)}\n`);
      return err.code === 'DXG_TIMEOUT' ? 2 : 1;
    }
    log.error('unexpected failure', { error: errorMessage(err), stack: (err as Error)?.stack });
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
