import type { Database, SqlExecutor } from '../../adapters/adapter';
import { inChunks, sql, type Sql } from '../../adapters/sql';
import { now } from '../time';

/** Where an item was set aside: a record at its source or target, or a whole message at a target. */
export type Stage = 'source' | 'target' | 'dead-letter';

/** What a replay says of the records set aside again: the distinct reasons among all of theirs, the first few. */
export function reasonsOf(reasons: readonly string[], most = 3): string[] {
  const distinct = [...new Set(reasons)];
  return distinct.length > most ? [...distinct.slice(0, most), `and ${distinct.length - most} other reason(s)`] : distinct;
}

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

const COLUMNS = sql.raw('at, stage, flow, from_dept, to_dept, message_id, record_key, version, reason, record, headers, body, status');

export async function putQuarantine(tx: SqlExecutor, items: readonly QuarantineItem[]): Promise<void> {
  const at = now();
  await inChunks(items, 100, async (chunk) => {
    const rows = chunk.map((q) => sql.list([
      at, q.stage, q.flow ?? null, q.from ?? null, q.to ?? null, q.messageId ?? null, q.recordKey ?? null,
      q.version === undefined || q.version === null ? null : q.version.toString(), q.reason,
      q.record === undefined ? null : JSON.stringify(q.record), q.headers ? JSON.stringify(q.headers) : null, q.body ?? null, 'open',
    ]));
    await tx.execute(sql`INSERT INTO dxg_quarantine (${COLUMNS}) VALUES ${sql.join(rows)}`);
  });
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
  /** replayed: sent again; superseded: a newer version of the record has since gone through; dismissed: closed for good, with the reason in the ledger */
  status: 'open' | 'replayed' | 'superseded' | 'dismissed';
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
  const where: Sql[] = [];
  if (!f.all) where.push(sql`status = 'open'`);
  if (f.flow) where.push(sql`flow = ${f.flow}`);
  if (f.stage) where.push(sql`stage = ${f.stage}`);
  if (f.ids?.length) where.push(sql`id IN ${sql.list(f.ids)}`);
  const rows = await db.query<QuarantineRow & Record<string, unknown>>(db.sql.limit(sql`SELECT * FROM dxg_quarantine${sql.where(where)} ORDER BY id`, f.limit));
  return rows.map((r) => ({ ...r, id: Number(r.id), body: r.body ? Buffer.from(r.body) : null }));
}

/** Open items per stage and flow (a dead letter whose headers name no flow has none). */
export async function openQuarantineCounts(db: SqlExecutor): Promise<{ stage: Stage; flow: string | null; items: number }[]> {
  const rows = await db.query<{ stage: Stage; flow: string | null; n: string | number }>(
    sql`SELECT stage, flow, count(*) AS n FROM dxg_quarantine WHERE status = 'open' GROUP BY stage, flow`);
  return rows.map((r) => ({ stage: r.stage, flow: r.flow, items: Number(r.n) }));
}

/**
 * Closes open items for good, without sending them again (a record whose key was wrong and was
 * entered anew under the right one: its old item can neither be replayed nor superseded). Returns
 * the items closed.
 */
export async function dismissItems(tx: SqlExecutor, ids: readonly number[]): Promise<QuarantineRow[]> {
  const rows = await tx.query<QuarantineRow & Record<string, unknown>>(sql`SELECT * FROM dxg_quarantine WHERE status = 'open' AND id IN ${sql.list([...ids])}`);
  if (rows.length) await tx.execute(sql`UPDATE dxg_quarantine SET status = 'dismissed', resolved_at = ${now()} WHERE id IN ${sql.list(rows.map((r) => r.id))}`);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Closes items that were sent again; their outcome is a new ledger entry (and a new item if they fail again). */
export async function markReplayed(tx: SqlExecutor, ids: readonly number[]): Promise<void> {
  await inChunks(ids, 500, async (chunk) => {
    await tx.execute(sql`UPDATE dxg_quarantine SET status = 'replayed', resolved_at = ${now()} WHERE id IN ${sql.list(chunk)}`);
  });
}

/**
 * Closes the open items of these records (key → the version now going through) that hold this
 * version or an older one: the record has been handled anew (a new item is set aside if it fails
 * again), and replaying the old item would only bring an old version back. Returns how many.
 */
export async function supersede(tx: SqlExecutor, stage: Stage, flow: string, versions: ReadonlyMap<string, bigint>): Promise<number> {
  if (versions.size === 0) return 0;
  // mostly nothing of the flow is open: one count on the (flow, status) index instead of a lookup of every key
  const [open] = await tx.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM dxg_quarantine WHERE flow = ${flow} AND status = 'open' AND stage = ${stage}`);
  if (Number(open.n) === 0) return 0;
  const keys = [...versions.keys()];
  const stale: number[] = [];
  await inChunks(keys, 500, async (chunk) => {
    const rows = await tx.query<{ id: number | string; record_key: string; version: string | number | null }>(
      sql`SELECT id, record_key, version FROM dxg_quarantine WHERE flow = ${flow} AND status = 'open' AND stage = ${stage} AND record_key IN ${sql.list(chunk)}`,
    );
    for (const r of rows) if (r.version !== null && BigInt(r.version) <= versions.get(r.record_key)!) stale.push(Number(r.id));
  });
  await inChunks(stale, 500, async (chunk) => {
    await tx.execute(sql`UPDATE dxg_quarantine SET status = 'superseded', resolved_at = ${now()} WHERE id IN ${sql.list(chunk)}`);
  });
  return stale.length;
}
