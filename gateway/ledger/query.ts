import type { Database } from '../../adapters/adapter';
import type { StoredEntry } from './ledger';

export interface LedgerFilter {
  flow?: string;
  department?: string;
  since?: string;
  key?: string;
  limit: number;
}

/** Ledger entries of one department database, newest last, filtered in SQL where the SQL is portable. */
export async function readLedger(db: Database, filter: LedgerFilter): Promise<StoredEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.flow) {
    where.push('flow = ?');
    params.push(filter.flow);
  }
  if (filter.department) {
    where.push('(from_dept = ? OR to_dept = ?)');
    params.push(filter.department, filter.department);
  }
  if (filter.since) {
    where.push('at >= ?');
    params.push(filter.since);
  }
  if (filter.key) {
    where.push('record_keys LIKE ?');
    // a pre-filter: wildcards stand in for characters LIKE treats specially; the exact match follows
    params.push(`%${filter.key.replace(/[\\%_[\]]/g, '_')}%`);
  }
  // newest first for the limit, then back to chronological order
  const sql = db.sql.limit(`SELECT * FROM dxg_ledger${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC`, filter.limit);
  const rows = await db.query<StoredEntry & Record<string, unknown>>(sql, params);
  const keyed = filter.key ? rows.filter((r) => (r.record_keys ?? '').split('\n').includes(filter.key!)) : rows;
  return keyed.reverse();
}

/** Entries about the given messages (the steps that followed a record's publication). */
export async function entriesForMessages(db: Database, messageIds: string[]): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for (let i = 0; i < messageIds.length; i += 200) {
    const chunk = messageIds.slice(i, i + 200);
    out.push(...(await db.query<StoredEntry & Record<string, unknown>>(
      `SELECT * FROM dxg_ledger WHERE message_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY seq`, chunk)));
  }
  return out;
}

export interface LedgerTotals {
  kind: string;
  flow: string | null;
  to_dept: string | null;
  entries: number;
  records: number;
}

/** Record counts per step, flow and target: the figures that must reconcile. */
export async function ledgerTotals(db: Database, flow?: string): Promise<LedgerTotals[]> {
  const rows = await db.query<{ kind: string; flow: string | null; to_dept: string | null; entries: string | number; records: string | number | null }>(
    `SELECT kind, flow, to_dept, count(*) AS entries, sum(record_count) AS records FROM dxg_ledger${flow ? ' WHERE flow = ?' : ''} GROUP BY kind, flow, to_dept`,
    flow ? [flow] : [],
  );
  return rows.map((r) => ({ ...r, entries: Number(r.entries), records: Number(r.records ?? 0) }));
}
