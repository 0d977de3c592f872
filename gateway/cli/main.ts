#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import { maskText } from '../mask';
import { EXIT } from './options';
import { registerApplications } from './commands/applications';
import { registerAudit } from './commands/audit';
import { registerCatalog } from './commands/catalog';
import { registerCentre } from './commands/centre';
import { registerDemo } from './commands/demo';
import { registerInit } from './commands/init';
import { registerKeys } from './commands/keys';
import { registerLogin } from './commands/login';
import { registerDismiss, registerQuarantine } from './commands/quarantine';
import { registerRun } from './commands/run';
import { registerStatus } from './commands/status';
import { registerTeardown } from './commands/teardown';
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
  registerDismiss(cmd);
  registerKeys(cmd);
  registerCatalog(cmd);
  registerApplications(cmd);
  registerCentre(cmd);
  registerLogin(cmd);
  registerTeardown(cmd);
  registerDemo(cmd);
  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    // commander has printed its message (help and --version end here too, with 0)
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof DxgError) {
      process.stderr.write(`dxg: ${maskText(err.message)}\n`);
      return err.code === 'DXG_TIMEOUT' ? EXIT.receiptsMissing : err.code === 'DXG_USAGE' ? EXIT.usage : EXIT.failed;
    }
    log.error('unexpected failure', { error: errorMessage(err), stack: (err as Error)?.stack });
    return EXIT.failed;
  }
}

/**
 * `dxg audit | head`: once the reader has gone, what is left to print is of no use to anyone; the
 * command ends quietly instead of dying of an unhandled EPIPE.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    });
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
