import type { Database } from '../../adapters/adapter';
import { inChunks, sql, type Sql } from '../../adapters/sql';
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
  const where: Sql[] = [];
  if (filter.flow) where.push(sql`flow = ${filter.flow}`);
  if (filter.department) where.push(sql`(from_dept = ${filter.department} OR to_dept = ${filter.department})`);
  if (filter.since) where.push(sql`at >= ${filter.since}`);
  const key = filter.key ? keyMatcher(filter.key) : null;
  if (key) where.push(sql`record_keys LIKE ${key.like}`);
  // newest first for the limit, then back to chronological order
  const rows = await db.query<StoredEntry & Record<string, unknown>>(db.sql.limit(sql`SELECT * FROM dxg_ledger${sql.where(where)} ORDER BY seq DESC`, filter.limit));
  const keyed = key ? rows.filter((r) => (r.record_keys ?? '').split('\n').some(key.matches)) : rows;
  return keyed.reverse();
}

/**
 * A record key as someone types it: a single value, or a composite key as the ledger writes it
 * (`["110101",1000403]`), with any spacing and quoting of its parts, or simply comma-separated
 * (`110101,1000403`). `like` is a pre-filter for SQL (on the longest part; wildcards stand in for the
 * characters LIKE treats specially); `matches` is the exact comparison with a stored key.
 */
export function keyMatcher(typed: string): { like: string; matches: (stored: string) => boolean } {
  const parts = (text: string): string[] => {
    if (text.startsWith('[')) {
      try {
        const values = JSON.parse(text) as unknown;
        if (Array.isArray(values)) return values.map(String);
      } catch {
        // not a JSON array: the text itself
      }
    }
    return [text];
  };
  const wanted = typed.startsWith('[') ? parts(typed.trim()) : [typed];
  const alternatives = [wanted, ...(wanted.length === 1 && typed.includes(',') ? [typed.split(',').map((p) => p.trim())] : [])];
  const longest = alternatives[alternatives.length - 1].reduce((a, b) => (b.length > a.length ? b : a));
  return {
    like: `%${longest.replace(/[\\%_[\]]/g, '_')}%`,
    matches: (stored) => {
      const have = parts(stored);
      return alternatives.some((w) => w.length === have.length && w.every((v, i) => v === have[i]));
    },
  };
}

/** Entries about the given messages (the steps that followed a record's publication). */
export async function entriesForMessages(db: Database, messageIds: string[]): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  await inChunks(messageIds, 200, async (chunk) => {
    out.push(...(await db.query<StoredEntry & Record<string, unknown>>(sql`SELECT * FROM dxg_ledger WHERE message_id IN ${sql.list(chunk)} ORDER BY seq`)));
  });
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
    sql`SELECT kind, flow, to_dept, count(*) AS entries, sum(record_count) AS records FROM dxg_ledger${flow ? sql` WHERE flow = ${flow}` : sql``} GROUP BY kind, flow, to_dept`,
  );
  return rows.map((r) => ({ ...r, entries: Number(r.entries), records: Number(r.records ?? 0) }));
}
