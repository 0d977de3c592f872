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

/**
 * Alarms are kept in the centre's database, one open alarm per subject (a node, a flow target, a
 * ledger, a dead letter): raising it again while it is open changes nothing. A new alarm is logged
 * and POSTed as JSON to the webhook; a failed POST is logged, never retried into a storm.
 */
export class Alarms {
  constructor(private readonly db: Database, private readonly webhook: string | null) {}

  async raise(kind: AlarmKind, subject: string, reason: string, where: { department?: string; flow?: string } = {}): Promise<Alarm | null> {
    const [row] = await this.db.query<{ id: string; at: string }>(sql`INSERT INTO centre_alarms (kind, department, flow, reason, subject)
      VALUES (${kind}, ${where.department ?? null}, ${where.flow ?? null}, ${reason}, ${subject})
      ON CONFLICT (subject) WHERE cleared_at IS NULL DO NOTHING RETURNING id, at`);
    if (!row) return null;
    const alarm: Alarm = { id: String(row.id), at: row.at, kind, department: where.department ?? null, flow: where.flow ?? null, reason, clearedAt: null };
    log.warn('alarm', { id: alarm.id, kind, department: alarm.department, flow: alarm.flow, reason });
    if (this.webhook) void this.post(alarm);
    return alarm;
  }

  /** Clears the open alarm of a subject (the node speaks again, the lag is back under its bound). */
  async clear(subject: string): Promise<void> {
    await this.db.execute(sql`UPDATE centre_alarms SET cleared_at = now() WHERE subject = ${subject} AND cleared_at IS NULL`);
  }

  /** An operator's clearing of one alarm (a dead letter dealt with); false when no such open alarm. */
  async clearById(id: string): Promise<boolean> {
    const rows = await this.db.query(sql`UPDATE centre_alarms SET cleared_at = now() WHERE id = ${id} AND cleared_at IS NULL RETURNING id`);
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

  private async post(alarm: Alarm): Promise<void> {
    const { id, at, kind, department, flow, reason } = alarm;
    try {
      const res = await fetch(this.webhook!, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, at, kind, department, flow, reason }), signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) log.warn('alarm webhook refused the alarm', { id, status: res.status });
    } catch (err) {
      log.warn('alarm webhook unreachable', { id, error: errorMessage(err) });
    }
  }
}
