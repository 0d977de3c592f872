import { errorMessage } from '../errors';
import { log } from '../log';
import { sleep } from '../time';

export class Aborted extends Error {
  constructor() {
    super('stopped while waiting');
    this.name = 'Aborted';
  }
}

/**
 * Runs `fn` until it succeeds: a database that is down or restarting makes messages wait, never
 * fails them. Backs off from 0.5 s to 30 s; gives up only when the node is stopping. A transaction
 * that lost a race with another (`isConflict`: a deadlock) is simply run again after a moment.
 */
export async function retrying<T>(signal: AbortSignal, what: string, fn: () => Promise<T>, isConflict?: (err: unknown) => boolean): Promise<T> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new Aborted();
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw new Aborted();
      if (isBug(err)) throw err;
      if (isConflict?.(err)) {
        log.debug('transaction conflict; run again', { what, error: errorMessage(err) });
        await sleep(10 + Math.random() * 90, signal);
        continue;
      }
      if (attempt === 1 || attempt % 10 === 0) log.warn('database error; the work waits and is retried', { what, attempt, error: errorMessage(err) });
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/** Errors of the program itself: waiting would not help, so they surface at once. */
const isBug = (err: unknown): boolean => err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError || err instanceof RangeError;
