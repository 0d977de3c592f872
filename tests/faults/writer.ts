import mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { Random } from '../../gateway/demo/random';
import type { TestDatabase } from '../helpers/databases';
import { changes, SOURCE_COLUMN_NAMES, STATUS_CODES, textColumns, type Enterprise, type TextRow } from './registry';

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

interface Session {
  run(sql: string, params?: unknown[]): Promise<void>;
  rows(sql: string, params?: unknown[]): Promise<TextRow[]>;
  close(): Promise<void>;
}

async function openSession(db: TestDatabase): Promise<Session> {
  if (db.driver === 'postgres') {
    const client = new Client({ connectionString: db.url, application_name: 'fault-writer' });
    await client.connect();
    client.on('error', () => undefined);
    const numbered = (sql: string) => {
      let n = 0;
      return sql.replace(/\?/g, () => `$${++n}`);
    };
    return {
      run: async (sql, params) => {
        await client.query(numbered(sql), params);
      },
      rows: async (sql, params) => (await client.query<TextRow>(numbered(sql), params)).rows,
      close: () => client.end(),
    };
  }
  const conn = await mysql.createConnection({ uri: db.url, dateStrings: true });
  conn.on('error', () => undefined);
  return {
    run: async (sql, params) => {
      await conn.query(sql, params);
    },
    rows: async (sql, params) => (await conn.query(sql, params))[0] as TextRow[],
    close: () => conn.end(),
  };
}

const COLUMNS: (keyof Enterprise)[] = ['credit_code', 'ent_name', 'legal_rep', 'reg_capital', 'currency', 'status_code', 'est_date', 'ent_type',
  'industry_code', 'region_code', 'address', 'business_scope', 'reg_authority', 'employees', 'is_listed', 'is_deleted'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ConcurrentWriter {
  readonly stats: WriterStats = { committed: 0, late: 0, lateRows: 0, updated: 0, inserted: 0, softDeleted: 0, undeleted: 0, hardDeleted: 0, aborted: 0 };
  private stopped = false;
  private loops: Promise<void>[] = [];
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
    const sessions = await Promise.all(Array.from({ length: longSessions + shortSessions }, () => openSession(this.db)));
    this.loops = sessions.map((s, i) => this.loop(s, i < longSessions));
  }

  /** Stops after the transactions in hand commit; resolves with what was written. */
  async stop(): Promise<WriterStats> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.stats;
  }

  private async loop(session: Session, long: boolean): Promise<void> {
    try {
      while (!this.stopped) {
        const r = this.rand.next();
        const soft = this.options.softDeletes;
        const hard = this.options.hardDeletes;
        try {
          if (long) await this.longTx(session);
          else if (r < 0.4) await this.tx(session, (d) => this.update(session, d, this.rand.int(1, 20)));
          else if (r < 0.55) await this.tx(session, (d) => this.insert(session, d, this.rand.int(20, 200)));
          else if (r < 0.7 && soft) await this.tx(session, (d) => this.softDelete(session, d, this.rand.int(1, 10)));
          else if (r < 0.75 && soft) await this.tx(session, (d) => this.undelete(session, d, this.rand.int(1, 5)));
          else if (r < 0.9 && hard) await this.tx(session, (d) => this.hardDelete(session, d, this.rand.int(1, 10)));
          else await this.tx(session, (d) => this.update(session, d, this.rand.int(20, 100)));
        } catch (err) {
          const message = (err as Error).message;
          if (!/deadlock|lock wait timeout/i.test(message)) this.errors.push(message);
        }
        await sleep(this.rand.between(10, long ? 500 : 100));
      }
    } finally {
      await session.close().catch(() => undefined);
    }
  }

  /** Runs `body` in a transaction; what it counted in its delta counts only once committed. */
  private async tx(session: Session, body: (d: Delta) => Promise<unknown>): Promise<Delta> {
    const d: Delta = { updated: 0, inserted: 0, softDeleted: 0, undeleted: 0, hardDeleted: 0 };
    await session.run('BEGIN');
    try {
      await body(d);
      await session.run('COMMIT');
      this.stats.committed++;
      for (const k of ['updated', 'inserted', 'softDeleted', 'undeleted', 'hardDeleted'] as const) this.stats[k] += d[k];
      for (const [key, row] of d.gone ?? []) this.hardDeletedRows.set(key, row);
      return d;
    } catch (err) {
      await session.run('ROLLBACK').catch(() => undefined);
      this.stats.aborted++;
      throw err;
    }
  }

  /** Begin, write, sleep a few seconds, write again, commit: rows stamped long before they are visible. */
  private async longTx(session: Session): Promise<void> {
    const d = await this.tx(session, async (d) => {
      await this.update(session, d, this.rand.int(5, 30));
      await this.insert(session, d, this.rand.int(5, 50));
      await sleep(this.rand.between(...this.options.longSleepMs));
      await this.update(session, d, this.rand.int(1, 10));
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

  private async update(session: Session, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) {
      const c = changes(this.rand);
      const status = this.rand.chance(0.3) ? this.rand.pick(Object.keys(STATUS_CODES)) : null;
      await session.run(
        `UPDATE ent_registry SET ent_name = ?, legal_rep = ?, reg_capital = ?, currency = ?, address = ?, business_scope = ?, employees = ?${status ? ', status_code = ?' : ''}
         WHERE credit_code = ?`,
        [c.ent_name, c.legal_rep, c.reg_capital, c.currency, c.address, c.business_scope, c.employees, ...(status ? [status] : []), key],
      );
    }
    d.updated += keys.length;
  }

  private async insert(session: Session, d: Delta, n: number): Promise<void> {
    const rows = this.generate(n);
    await session.run(
      `INSERT INTO ent_registry (${COLUMNS.join(', ')}) VALUES ${rows.map(() => `(${COLUMNS.map(() => '?').join(', ')})`).join(', ')}`,
      rows.flatMap((r) => COLUMNS.map((c) => r[c])),
    );
    d.inserted += n;
  }

  private async softDelete(session: Session, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) await session.run('UPDATE ent_registry SET is_deleted = ? WHERE credit_code = ?', [true, key]);
    this.softDeleted.push(...keys);
    d.softDeleted += keys.length;
  }

  private async undelete(session: Session, d: Delta, n: number): Promise<void> {
    if (!this.softDeleted.length) return;
    const keys = [...new Set(Array.from({ length: n }, () => this.rand.pick(this.softDeleted)))].sort();
    for (const key of keys) await session.run('UPDATE ent_registry SET is_deleted = ? WHERE credit_code = ?', [false, key]);
    d.undeleted += keys.length;
  }

  private async hardDelete(session: Session, d: Delta, n: number): Promise<void> {
    const keys = this.someKeys(n);
    for (const key of keys) {
      const [row] = await session.rows(`SELECT ${textColumns(this.db, SOURCE_COLUMN_NAMES)} FROM ent_registry WHERE credit_code = ? FOR UPDATE`, [key]);
      if (!row) continue;
      await session.run('DELETE FROM ent_registry WHERE credit_code = ?', [key]);
      (d.gone ??= new Map()).set(key, row);
      d.hardDeleted++;
    }
  }
}
