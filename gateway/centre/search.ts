import type { Database } from '../../adapters/adapter';
import { inChunks, sql, type Sql } from '../../adapters/sql';
import type { TrailEntry } from '../cli/trail';
import { keyMatcher } from '../ledger/query';

export interface AuditQuery {
  flow?: string;
  department?: string;
  since?: string;
  until?: string;
  kind?: string;
  key?: string;
  limit: number;
  /** where the previous page ended (from its `next`) */
  cursor?: string;
}

/**
 * Only the checked part of each copy is shown: an entry above it has not been chained and its
 * signature checked yet, and may be a department's forgery that the check will refuse.
 */
const CHECKED = sql`l.seq <= (SELECT d.contiguous FROM centre_departments d WHERE d.department = l.department)`;

type Row = TrailEntry & { department: string } & Record<string, unknown>;

const asTrail = (r: Row): TrailEntry => ({ ...r, ledger: r.department, seq: String(r.seq) });

/**
 * The collected ledgers, searched with the filters of `dxg audit`, in time order, a page at a time:
 * `next` is the cursor of the page after (null on the last). Time order is (at, department, seq).
 */
export async function searchAudit(db: Database, q: AuditQuery): Promise<{ entries: TrailEntry[]; next: string | null }> {
  const where: Sql[] = [];
  if (q.flow) where.push(sql`l.flow = ${q.flow}`);
  if (q.department) where.push(sql`(l.department = ${q.department} OR l.from_dept = ${q.department} OR l.to_dept = ${q.department})`);
  if (q.since) where.push(sql`l.at >= ${q.since}`);
  if (q.until) where.push(sql`l.at < ${q.until}`);
  if (q.kind) where.push(sql`l.kind = ${q.kind}`);
  if (q.key) where.push(sql`(l.department, l.seq) IN (SELECT department, seq FROM centre_record_keys WHERE record_key IN ${sql.list(storedForms(q.key))})`);
  if (q.cursor) {
    const [at, department, seq] = decodeCursor(q.cursor);
    where.push(sql`(l.at, l.department, l.seq) > (${at}, ${department}, ${seq})`);
  }
  where.push(CHECKED);
  const rows = await db.query<Row>(sql`SELECT l.* FROM centre_ledger l${sql.where(where)} ORDER BY l.at, l.department, l.seq LIMIT ${q.limit + 1}`);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { entries: page.map(asTrail), next: rows.length > q.limit && last ? encodeCursor([last.at, last.department, String(last.seq)]) : null };
}

/**
 * One record's trail across every department, as `dxg audit --key` gives it: the entries naming the
 * key, and every step that followed their messages in any ledger. An index lookup on the key.
 */
export async function recordTrail(db: Database, key: string): Promise<TrailEntry[]> {
  const matcher = keyMatcher(key);
  const named = (await db.query<Row>(sql`SELECT l.* FROM centre_record_keys k JOIN centre_ledger l ON l.department = k.department AND l.seq = k.seq
    WHERE k.record_key IN ${sql.list(storedForms(key))} AND ${CHECKED}`)).filter((r) => (r.record_keys ?? '').split('\n').some(matcher.matches));
  const seen = new Set(named.map((r) => `${r.department}:${r.seq}`));
  const all = [...named];
  const ids = [...new Set(named.map((r) => r.message_id).filter((m): m is string => !!m))];
  await inChunks(ids, 200, async (chunk) => {
    for (const r of await db.query<Row>(sql`SELECT l.* FROM centre_ledger l WHERE l.message_id IN ${sql.list(chunk)} AND ${CHECKED}`)) {
      if (!seen.has(`${r.department}:${r.seq}`)) all.push(r);
    }
  });
  return all.map(asTrail).sort((a, b) => a.at.localeCompare(b.at) || a.ledger.localeCompare(b.ledger) || Number(a.seq) - Number(b.seq));
}

/**
 * The ways a typed key can be written in a ledger: a single value as itself; a composite key
 * (`a,b` or a JSON array) as a JSON array whose parts are strings or numbers.
 */
export function storedForms(typed: string): string[] {
  const { text, parts } = keyParts(typed);
  const forms = new Set<string>([text]);
  if (parts && parts.length <= 6) {
    let combos: unknown[][] = [[]];
    for (const p of parts) combos = combos.flatMap((c) => [[...c, p], ...(/^-?\d+(\.\d+)?$/.test(p) ? [[...c, Number(p)]] : [])]);
    for (const c of combos) forms.add(JSON.stringify(c));
    if (parts.length === 1) forms.add(parts[0]);
  }
  return [...forms];
}

/** A typed key as its text and, for a composite key (a JSON list or comma-separated), its parts. */
function keyParts(typed: string): { text: string; parts: string[] | null } {
  const text = typed.trim();
  if (text.startsWith('[')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (Array.isArray(v)) return { text, parts: v.map(String) };
    } catch {
      // not JSON: the text itself
    }
  } else if (text.includes(',')) return { text, parts: text.split(',').map((p) => p.trim()) };
  return { text, parts: null };
}

/**
 * One spelling of every way a key can be typed for the same record (`["370…"]`, `["\u0033…"]` and
 * ` 370…` are one person): what the centre's journal masks and digests, so that every look at a record
 * is found by its key, however it was typed.
 */
export function canonicalKey(typed: string): string {
  const { text, parts } = keyParts(typed);
  if (!parts) return text;
  return parts.length === 1 ? parts[0] : JSON.stringify(parts);
}

const encodeCursor = (parts: string[]): string => Buffer.from(JSON.stringify(parts)).toString('base64url');

function decodeCursor(cursor: string): [string, string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string') && /^\d{1,18}$/.test(v[2])) return v as [string, string, string];
  } catch {
    // falls through
  }
  throw new CursorError();
}

export class CursorError extends Error {
  constructor() {
    super('cursor: not one this centre gave (take it from the previous page\'s next)');
  }
}
