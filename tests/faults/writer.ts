import { connect } from '../../adapters';
import type { Database, Tx } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { Random } from '../../gateway/demo/random';
import { sleep } from '../../gateway/time';
import type { TestDatabase } from '../helpers/databases';
import { changes, insertRows, SOURCE_COLUMN_NAMES, STATUS_CODES, textColumns, type Enterprise, type TextRow } from './registry';

/**
 * The business system writing to the source table while the flow polls it: several sessions of
 * short updates, inserts, and long transactions that write, sleep a few seconds and write again
 * before committing (their rows carry timestamps from long before they become visible), plus soft
 * deletes, undeletes and hard deletes when the flow carries deletions.
 */
export interface WriterOptions {
  /** sessions running only long, late-committing transactions */
  longSessions: number;
  /** sessions running short transactions: updates, inserts, deletes */
  shortSessions: number;
  /** soft deletes (is_deleted) and undeletes */
  softDeletes: boolean;
  hardDeletes: boolean;
  /** long transactions sleep between these many ms before their late writes and commit */
  longSleepMs: [number, number];
}

export interface WriterStats {
  committed: number;
  /** long transactions committed late, and the rows they wrote */
  late: number;
  lateRows: number;
  updated: number;
  inserted: number;
  softDeleted: number;
  undeleted: number;
  hardDeleted: number;
  /** transactions rolled back (deadlocks between sessions): their writes never happened */
  aborted: number;
}

type Delta = Pick<WriterStats, 'updated' | 'inserted' | 'softDeleted' | 'undeleted' | 'hardDeleted'> & { gone?: Map<string, TextRow> };

export class ConcurrentWriter {
  readonly stats: WriterStats = { committed: 0, late: 0, lateRows: 0, updated: 0, inserted: 0, softDeleted: 0, undeleted: 0, hardDeleted: 0, aborted: 0 };
  private stopped = false;
  private loops: Promise<void>[] = [];
  /** a connection per session: the sessions' transactions run side by side */
  private sessions?: Database;
  private readonly softDeleted: string[] = [];
  /** rows hard-deleted, as they were just before (committed deletes only) */
  readonly hardDeletedRows = new Map<string, TextRow>();
  readonly errors: string[] = [];

  constructor(
    private readonly db: TestDatabase,
    private readonly rand: Random,
    /** the keys generated so far (rows may since have been deleted) */
    private readonly keys: string[],
    /** makes new rows, remembering their keys */
    private readonly generate: (n: number) => Enterprise[],
    private readonly options: WriterOptions,
  ) {}

  async start(): Promise<void> {
    const { longSessions, shortSessions } = this.options;
    const sessions = longSessions + shortSessions;
    this.sessions = await connect({ driver: this.db.driver, url: this.db.url, pool: sessions }, 'fault writer');
    this.loops = Array.from({ length: sessions }, (_, i) => this.loop(this.sessions!, i < longSessions));
  }

  /** Stops after the transactions in hand commit; resolves with what was written. */
  async stop(): Promise<WriterStats> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.sessions?.close();
    return this.stats;
  }

  private async loop(db: Database, long: boolean): Promise<void> {
    while (!this.stopped) {
      const r = this.rand.next();
      const soft = this.options.softDeletes;
      const hard = this.options.hardDeletes;
      try {
        if (long) await this.longTx(db);
        else if (r < 0.4) await this.tx(db, (tx, d) => this.update(tx, d, this.rand.int(1, 20)));
        else if (r < 0.55) await this.tx(db, (tx, d) => this.insert(tx, d, this.rand.int(20, 200)));
        else if (r < 0.7 && soft) await this.tx(db, (tx, d) => this.softDelete(tx, d, this.rand.int(1, 10)));
        else if (r < 0.75 && soft) await this.tx(db, (tx, d) => this.undelete(tx, d, this.rand.int(1, 5)));
        else if (r < 0.9 && hard) await this.tx(db, (tx, d) => this.hardDelete(tx, d, this.rand.int(1, 10)));
        else await this.tx(db, (tx, d) => this.update(tx, d, this.rand.int(20, 100)));
      } catch (err) {
        // sessions deadlocking each other is what concurrent writers do; anything else is a broken test
        if (!db.sql.isConflict(err)) this.errors.push((err as Error).message);
      }
      await sleep(this.rand.between(10, long ? 500 : 100));
    }
  }

  /** Runs `body` in a transaction; what it counted in its delta counts only once committed. */
  private async tx(db: Database, body: (tx: Tx, d: Delta) => Promise<unknown>): Promise<Delta> {
    const d: Delta = { updated: 0, inserted: 0, softDeleted: 0, undeleted: 0, hardDeleted: 0 };
    try {
      await db.transaction((tx) => body(tx, d));
    } catch (err) {
      this.stats.aborted++;
      throw err;
    }
    this.stats.committed++;
    for (const k of ['updated', 'inserted', 'softDeleted', 'undeleted', 'hardDeleted'] as const) this.stats[k] += d[k];
    for (const [key, row] of d.gone ?? []) this.hardDeletedRows.set(key, row);
    return d;
  }

  /** Begin, write, sleep a few seconds, write again, commit: rows stamped long before they are visible. */
  private async longTx(db: Database): Promise<void> {
    const d = await this.tx(db, async (tx, d) => {
      await this.update(tx, d, this.rand.int(5, 30));
      await this.insert(tx, d, this.rand.int(5, 50));
      await sleep(this.rand.between(...this.options.longSleepMs));
      await this.update(tx, d, this.rand.int(1, 10));
    });
    this.stats.late++;
    this.stats.lateRows += d.updated + d.inserted;
  }

  /** Keys of existing rows, sorted (sessions lock in one order, which keeps deadlocks rare). */
  private someKeys(n: number): string[] {
    const picked = new Set<string>();
    for (let i = 0; i < n; i++) picked.add(this.rand.pick(this.keys));
    return [...picked].sort();
  }

  private async update(tx: Tx, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) {
      const status = this.rand.chance(0.3) ? { status_code: this.rand.pick(Object.keys(STATUS_CODES)) } : {};
      const set = Object.entries({ ...changes(this.rand), ...status }).map(([column, value]) => sql`${sql.id(column)} = ${value}`);
      await tx.execute(sql`UPDATE ent_registry SET ${sql.join(set)} WHERE credit_code = ${key}`);
    }
    d.updated += keys.length;
  }

  private async insert(tx: Tx, d: Delta, n: number): Promise<void> {
    await tx.execute(insertRows(this.generate(n)));
    d.inserted += n;
  }

  private async softDelete(tx: Tx, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) await tx.execute(sql`UPDATE ent_registry SET is_deleted = ${true} WHERE credit_code = ${key}`);
    this.softDeleted.push(...keys);
    d.softDeleted += keys.length;
  }

  private async undelete(tx: Tx, d: Delta, n: number): Promise<void> {
    if (!this.softDeleted.length) return;
    const keys = [...new Set(Array.from({ length: n }, () => this.rand.pick(this.softDeleted)))].sort();
    for (const key of keys) await tx.execute(sql`UPDATE ent_registry SET is_deleted = ${false} WHERE credit_code = ${key}`);
    d.undeleted += keys.length;
  }

  private async hardDelete(tx: Tx, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) {
      const [row] = await tx.query<TextRow>(sql`SELECT ${textColumns(this.db, SOURCE_COLUMN_NAMES)} FROM ent_registry WHERE credit_code = ${key} FOR UPDATE`);
      if (!row) continue;
      await tx.execute(sql`DELETE FROM ent_registry WHERE credit_code = ${key}`);
      (d.gone ??= new Map()).set(key, row);
      d.hardDeleted++;
    }
  }
}
