import type { Database, SqlExecutor } from '../../adapters/adapter';
import { now } from './schema';

/** Where an item was set aside: a record at its source or target, or a whole message at a target. */
export type Stage = 'source' | 'target' | 'dead-letter';

export interface QuarantineItem {
  stage: Stage;
  flow?: string;
  from?: string;
  to?: string;
  messageId?: string;
  recordKey?: string;
  /** the record's version, so a replay can never overwrite newer data */
  version?: bigint | null;
  reason: string;
  record?: unknown;
  headers?: Record<string, unknown>;
  body?: Buffer;
}

const COLUMNS = 'at, stage, flow, from_dept, to_dept, message_id, record_key, version, reason, record, headers, body, status';

export async function putQuarantine(tx: SqlExecutor, items: readonly QuarantineItem[]): Promise<void> {
  const at = now();
  for (let i = 0; i < items.length; i += 100) {
    const chunk = items.slice(i, i + 100);
    await tx.execute(
      `INSERT INTO dxg_quarantine (${COLUMNS}) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((q) => [
        at, q.stage, q.flow ?? null, q.from ?? null, q.to ?? null, q.messageId ?? null, q.recordKey ?? null,
        q.version === undefined || q.version === null ? null : q.version.toString(), q.reason,
        q.record === undefined ? null : JSON.stringify(q.record), q.headers ? JSON.stringify(q.headers) : null, q.body ?? null, 'open',
      ]),
    );
  }
}

/** A quarantined item as stored. */
export interface QuarantineRow {
  id: number;
  at: string;
  stage: Stage;
  flow: string | null;
  from_dept: string | null;
  to_dept: string | null;
  message_id: string | null;
  record_key: string | null;
  version: string | null;
  reason: string;
  record: string | null;
  headers: string | null;
  body: Buffer | null;
  status: 'open' | 'replayed';
  resolved_at: string | null;
}

export interface QuarantineFilter {
  flow?: string;
  stage?: Stage;
  ids?: number[];
  /** also items already replayed */
  all?: boolean;
  limit: number;
}

export async function listQuarantine(db: Database, f: QuarantineFilter): Promise<QuarantineRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (!f.all) where.push("status = 'open'");
  if (f.flow) {
    where.push('flow = ?');
    params.push(f.flow);
  }
  if (f.stage) {
    where.push('stage = ?');
    params.push(f.stage);
  }
  if (f.ids?.length) {
    where.push(`id IN (${f.ids.map(() => '?').join(', ')})`);
    params.push(...f.ids);
  }
  const rows = await db.query<QuarantineRow & Record<string, unknown>>(
    db.sql.limit(`SELECT * FROM dxg_quarantine${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`, f.limit), params);
  return rows.map((r) => ({ ...r, id: Number(r.id), body: r.body ? Buffer.from(r.body) : null }));
}

/** Closes items that were sent again; their outcome is a new ledger entry (and a new item if they fail again). */
export async function markReplayed(tx: SqlExecutor, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await tx.execute(`UPDATE dxg_quarantine SET status = 'replayed', resolved_at = ? WHERE id IN (${chunk.map(() => '?').join(', ')})`, [now(), ...chunk]);
  }
}
