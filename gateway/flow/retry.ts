import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { Backoff } from '../backoff';
import { errorMessage } from '../errors';
import { log } from '../log';
import { sleep } from '../time';

export class Aborted extends Error {
  constructor() {
    super('stopped while waiting');
    this.name = 'Aborted';
  }
}

/** The work kept failing while its database answered: the cause is the work (its message), not an outage. */
export class GaveUp extends Error {
  constructor(what: string, attempts: number, cause: unknown) {
    super(`${what} failed ${attempts} times while the database answered: ${errorMessage(cause)}`, { cause });
    this.name = 'GaveUp';
  }
}

/** Failures of one piece of work, while its database answers, after which it is given up. */
export const ATTEMPTS_WHILE_REACHABLE = 5;

/**
 * Runs `fn` until it succeeds: a database that is down or restarting makes messages wait, never
 * fails them. Backs off from 0.5 s to 30 s; gives up only when the node is stopping, or — when `db`
 * is given — once `fn` has failed ATTEMPTS_WHILE_REACHABLE times while `db` answered a plain query,
 * so that no message (a statement the database refuses for other than its data) is retried forever
 * and holds its flow up. A transaction that lost a race with another (a deadlock) is simply run
 * again after a moment.
 */
export async function retrying<T>(signal: AbortSignal, what: string, fn: () => Promise<T>, db: Pick<Database, 'query' | 'sql'>, bounded = false): Promise<T> {
  const backoff = new Backoff(500, 30_000);
  let failedWhileReachable = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new Aborted();
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw new Aborted();
      if (isBug(err)) throw err;
      if (db.sql.isConflict(err)) {
        log.debug('transaction conflict; run again', { what, error: errorMessage(err) });
        await sleep(10 + Math.random() * 90, signal);
        continue;
      }
      if (bounded && (await reachable(db)) && ++failedWhileReachable >= ATTEMPTS_WHILE_REACHABLE) throw new GaveUp(what, failedWhileReachable, err);
      if (attempt === 1 || attempt % 10 === 0) log.warn('database error; the work waits and is retried', { what, attempt, error: errorMessage(err) });
      await backoff.wait(signal);
    }
  }
}

const reachable = (db: Pick<Database, 'query'>): Promise<boolean> => db.query(sql`SELECT 1 AS one`).then(() => true, () => false);

/** Errors of the program itself: waiting would not help, so they surface at once. */
const isBug = (err: unknown): boolean => err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError || err instanceof RangeError;
