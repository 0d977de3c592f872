import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { errorMessage } from '../errors';
import { log } from '../log';

/** What the centre raises an alarm for (DESIGN §8). */
export type AlarmKind = 'node-silent' | 'lag' | 'counts' | 'ledger-break' | 'dead-letter';

export interface Alarm {
  id: string;
  at: string;
  kind: AlarmKind;
  department: string | null;
  flow: string | null;
  reason: string;
  clearedAt: string | null;
}

/** How long an alarm the webhook did not take is POSTed again, and the longest wait between two tries. */
const WEBHOOK_FOR = "interval '1 day'";
const WEBHOOK_WAIT_MAX_MS = 10 * 60_000;
const POST_TIMEOUT_MS = 10_000;

/**
 * Alarms are kept in the centre's database, one open alarm per subject (a node, a flow target, a
 * ledger, a dead letter): raising it again while it is open changes nothing. A new alarm is logged
 * and POSTed as JSON to the webhook. One the webhook did not take is POSTed again by `retry` (the
 * centre's tick) after a wait that doubles each time, for a day; a retry stops at the first failure,
 * so a webhook that is down gets one try per tick, not a storm.
 */
export class Alarms {
  constructor(private readonly db: Database, private readonly webhook: string | null, private readonly retryMs = 30_000) {}

  async raise(kind: AlarmKind, subject: string, reason: string, where: { department?: string; flow?: string } = {}): Promise<Alarm | null> {
    // the first POST follows at once; the retries wait for its answer (at most the POST's timeout)
    const [row] = await this.db.query<{ id: string; at: string }>(sql`INSERT INTO centre_alarms (kind, department, flow, reason, subject, webhook_pending, webhook_next_at)
      VALUES (${kind}, ${where.department ?? null}, ${where.flow ?? null}, ${reason}, ${subject}, ${this.webhook !== null}, now() + ${`${POST_TIMEOUT_MS} milliseconds`}::interval)
      ON CONFLICT (subject) WHERE cleared_at IS NULL DO NOTHING RETURNING id, at`);
    if (!row) return null;
    const alarm: Alarm = { id: String(row.id), at: row.at, kind, department: where.department ?? null, flow: where.flow ?? null, reason, clearedAt: null };
    log.warn('alarm', { id: alarm.id, kind, department: alarm.department, flow: alarm.flow, reason });
    if (this.webhook) void this.deliver(alarm).catch((err) => log.warn('alarm webhook: cannot record the delivery', { id: alarm.id, error: errorMessage(err) }));
    return alarm;
  }

  /** POSTs again the alarms the webhook has not taken whose wait is over, oldest first, until one fails. */
  async retry(): Promise<void> {
    if (!this.webhook) return;
    const dropped = await this.db.query<{ id: string }>(sql`UPDATE centre_alarms SET webhook_pending = false
      WHERE webhook_pending AND at < now() - ${sql.raw(WEBHOOK_FOR)} RETURNING id`);
    for (const { id } of dropped) log.error('alarm webhook: gave up on an alarm after a day of tries', { id: String(id) });
    const due = await this.db.query<{ id: string; at: string; kind: AlarmKind; department: string | null; flow: string | null; reason: string; cleared_at: string | null }>(
      sql`SELECT id, at, kind, department, flow, reason, cleared_at FROM centre_alarms WHERE webhook_pending AND webhook_next_at <= now() ORDER BY id LIMIT 50`);
    for (const r of due) {
      const taken = await this.deliver({ id: String(r.id), at: r.at, kind: r.kind, department: r.department, flow: r.flow, reason: r.reason, clearedAt: r.cleared_at });
      if (!taken) return;
    }
  }

  /** Clears the open alarm of a subject (the node speaks again, the lag is back under its bound). */
  async clear(subject: string): Promise<void> {
    await this.db.execute(sql`UPDATE centre_alarms SET cleared_at = now() WHERE subject = ${subject} AND cleared_at IS NULL`);
  }

  /** An operator's clearing of one alarm (a dead letter dealt with); false when no such open alarm. */
  /** Within the transaction that journals who cleared it and why (`on`), or alone. */
  async clearById(id: string, on: Pick<Database, 'query'> = this.db): Promise<boolean> {
    const rows = await on.query(sql`UPDATE centre_alarms SET cleared_at = now() WHERE id = ${id} AND cleared_at IS NULL RETURNING id`);
    return rows.length > 0;
  }

  async open(subjectPrefix: string): Promise<string[]> {
    const rows = await this.db.query<{ subject: string }>(sql`SELECT subject FROM centre_alarms WHERE cleared_at IS NULL AND subject LIKE ${`${subjectPrefix}%`}`);
    return rows.map((r) => r.subject);
  }

  async list(filter: { open?: boolean; limit?: number } = {}): Promise<Alarm[]> {
    const rows = await this.db.query<{ id: string; at: string; kind: AlarmKind; department: string | null; flow: string | null; reason: string; cleared_at: string | null }>(
      sql`SELECT id, at, kind, department, flow, reason, cleared_at FROM centre_alarms${filter.open ? sql` WHERE cleared_at IS NULL` : sql``} ORDER BY id DESC LIMIT ${filter.limit ?? 200}`);
    return rows.map((r) => ({ id: String(r.id), at: r.at, kind: r.kind, department: r.department, flow: r.flow, reason: r.reason, clearedAt: r.cleared_at }));
  }

  /** One POST of an alarm, and what came of it recorded: taken, or when to try again. */
  private async deliver(alarm: Alarm): Promise<boolean> {
    const { id, at, kind, department, flow, reason } = alarm;
    let failure: string | null = null;
    try {
      const res = await fetch(this.webhook!, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, at, kind, department, flow, reason }), signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      if (!res.ok) failure = `answered ${res.status}`;
    } catch (err) {
      failure = `unreachable: ${errorMessage(err)}`;
    }
    if (!failure) {
      await this.db.execute(sql`UPDATE centre_alarms SET webhook_pending = false WHERE id = ${id}`);
      return true;
    }
    // the wait doubles with every try: retryMs, 2 × retryMs, … at most WEBHOOK_WAIT_MAX_MS
    const [row] = await this.db.query<{ attempts: number; wait_ms: number }>(sql`UPDATE centre_alarms SET webhook_attempts = webhook_attempts + 1,
      webhook_next_at = now() + LEAST(${this.retryMs}::float8 * power(2, webhook_attempts), ${WEBHOOK_WAIT_MAX_MS}) * interval '1 millisecond'
      WHERE id = ${id} RETURNING webhook_attempts AS attempts, EXTRACT(epoch FROM webhook_next_at - now()) * 1000 AS wait_ms`);
    log.warn('alarm webhook did not take the alarm; it is POSTed again later', { id, failure, attempts: row?.attempts, againInSeconds: Math.round(Number(row?.wait_ms ?? 0) / 1000) });
    return false;
  }
}
