import type { Database, Row, Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { ALGORITHM } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { canonical, chainHash, type StoredEntry } from '../ledger/ledger';
import type { Alarms } from './alarms';

const COLUMNS = ['department', 'seq', 'at', 'kind', 'flow', 'message_id', 'from_dept', 'to_dept', 'record_count', 'digest', 'record_keys', 'detail', 'algorithm', 'prev_hash', 'hash', 'signature'] as const;
/** Entries checked per read while the copy's complete part moves forward. */
const PAGE = 2000;

/** How far the centre's copy of one department's ledger is complete and checked. */
export interface CopyState {
  department: string;
  /** every entry up to here is in the copy, chained and signed as the department wrote it */
  contiguous: string;
  broken: { seq: string; reason: string } | null;
}

/**
 * The centre's copy of every department's ledger (DESIGN §8). Entries arrive in any order and more
 * than once (the feed, and ranges the centre asked for again); each is stored once. The copy's
 * complete part moves forward only over entries that chain to the one before and carry the
 * department's signature; an entry that does not, or that arrives again with other content, is a
 * ledger break: an alarm, and the copy stops there until an operator looks.
 */
export class LedgerCopy {
  constructor(private readonly db: Database, private readonly keyring: Keyring, private readonly alarms: Alarms) {}

  async receive(department: string, received: readonly StoredEntry[]): Promise<void> {
    // entries already archived came again (a late feed message): they left the database for good
    const [archived] = await this.db.query<{ to: string | null }>(sql`SELECT max(to_seq) AS to FROM centre_archives WHERE department = ${department}`);
    const entries = archived?.to ? received.filter((e) => BigInt(e.seq) > BigInt(archived.to!)) : received;
    if (entries.length === 0) return;
    const restore = entries.find((e) => e.kind === 'restored');
    await this.db.transaction(async (tx) => {
      await ensure(tx, department);
      const fresh = await this.store(tx, department, entries);
      const again = entries.filter((e) => !fresh.has(String(e.seq)));
      if (again.length) await this.compare(tx, department, again, restore, entries);
    });
    await this.advance(department);
  }

  /** Stores the entries the copy does not hold yet, with their record keys; returns the sequences it stored. */
  private async store(tx: Tx, department: string, entries: readonly StoredEntry[]): Promise<Set<string>> {
    const fresh = new Set<string>();
    await inChunks(entries, 200, async (chunk) => {
      const rows = chunk.map((e) => sql.list(COLUMNS.map((c) => (c === 'department' ? department : c === 'seq' ? String(e.seq) : c === 'record_count' ? Number(e.record_count) : e[c] ?? null))));
      const inserted = await tx.query<{ seq: string }>(sql`INSERT INTO centre_ledger (${sql.ids(COLUMNS)}) VALUES ${sql.join(rows)} ON CONFLICT (department, seq) DO NOTHING RETURNING seq`);
      for (const r of inserted) fresh.add(String(r.seq));
    });
    const keys = entries.filter((e) => fresh.has(String(e.seq)) && e.record_keys).flatMap((e) => e.record_keys!.split('\n').map((k) => [k, department, String(e.seq)]));
    await inChunks(keys, 1000, async (chunk) => {
      await tx.execute(sql`INSERT INTO centre_record_keys (record_key, department, seq) VALUES ${sql.join(chunk.map((k) => sql.list(k)))} ON CONFLICT DO NOTHING`);
    });
    return fresh;
  }

  /** Entries that came again must be the ones the copy holds; a declared restore replaces what it rolled back. */
  private async compare(tx: Tx, department: string, again: readonly StoredEntry[], restore: StoredEntry | undefined, batch: readonly StoredEntry[]): Promise<void> {
    const held = new Map<string, string>();
    await inChunks(again.map((e) => String(e.seq)), 500, async (chunk) => {
      const rows = await tx.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM centre_ledger WHERE department = ${department} AND seq IN ${sql.list(chunk)}`);
      for (const r of rows) held.set(String(r.seq), r.hash);
    });
    const differing = again.filter((e) => held.get(String(e.seq)) !== e.hash);
    if (differing.length === 0) return;
    if (restore && BigInt(restore.seq) <= BigInt(differing[0].seq)) {
      // what the restore rolled back leaves the copy; the heads the centre countersigned before still name it
      await tx.execute(sql`DELETE FROM centre_record_keys WHERE department = ${department} AND seq >= ${String(restore.seq)}`);
      await tx.execute(sql`DELETE FROM centre_ledger WHERE department = ${department} AND seq >= ${String(restore.seq)}`);
      await tx.execute(sql`UPDATE centre_departments SET contiguous = LEAST(contiguous, ${String(BigInt(restore.seq) - 1n)}),
        contiguous_hash = CASE WHEN contiguous >= ${String(restore.seq)} THEN ${restore.prev_hash} ELSE contiguous_hash END WHERE department = ${department}`);
      // a break the rolled-back entries caused is no break once the restore is declared
      const cleared = await tx.query(sql`UPDATE centre_departments SET broken_seq = NULL, broken_reason = NULL, broken_at = NULL
        WHERE department = ${department} AND broken_seq >= ${String(restore.seq)} RETURNING department`);
      if (cleared.length) tx.afterCommit(() => void this.alarms.clear(`ledger:${department}`));
      await this.store(tx, department, batch.filter((e) => BigInt(e.seq) >= BigInt(restore.seq)));
      return;
    }
    const first = differing[0];
    await this.broken(tx, department, String(first.seq), `entry ${first.seq} arrived again with content other than the centre's copy holds: the department's ledger was rewritten`);
  }

  /** Moves the complete part forward over entries that chain and verify. */
  async advance(department: string): Promise<CopyState> {
    return this.db.transaction(async (tx) => {
      await ensure(tx, department);
      const [state] = await tx.query<{ contiguous: string; contiguous_hash: string; broken_seq: string | null; broken_reason: string | null }>(
        sql`SELECT contiguous, contiguous_hash, broken_seq, broken_reason FROM centre_departments WHERE department = ${department} FOR UPDATE`);
      let seq = BigInt(state.contiguous);
      let prev = state.contiguous_hash;
      let broken: CopyState['broken'] = state.broken_seq ? { seq: String(state.broken_seq), reason: state.broken_reason ?? '' } : null;
      while (!broken) {
        const rows = await tx.query<Row & StoredEntry>(sql`SELECT * FROM centre_ledger WHERE department = ${department} AND seq > ${seq.toString()} ORDER BY seq LIMIT ${PAGE}`);
        let gap = rows.length === 0;
        for (const r of rows) {
          if (BigInt(r.seq) !== seq + 1n) {
            gap = true;
            break;
          }
          const reason = this.check(department, r, prev);
          if (reason) {
            // a restore the node declared, not collected yet, explains a chain that goes another way: wait for it
            if (await restorePending(tx, department, String(r.seq))) {
              gap = true;
              break;
            }
            broken = { seq: String(r.seq), reason };
            await this.broken(tx, department, String(r.seq), reason);
            break;
          }
          seq += 1n;
          prev = r.hash;
        }
        if (gap || rows.length < PAGE) break;
      }
      await tx.execute(sql`UPDATE centre_departments SET contiguous = ${seq.toString()}, contiguous_hash = ${prev} WHERE department = ${department}`);
      return { department, contiguous: seq.toString(), broken };
    });
  }

  /** Why an entry does not continue the chain, or null. */
  private check(department: string, r: StoredEntry, prev: string): string | null {
    if (r.prev_hash !== prev) return `entry ${r.seq} does not chain to the entry before it`;
    if (r.algorithm && r.algorithm !== ALGORITHM) return `entry ${r.seq} names algorithm '${r.algorithm}', which this centre cannot check`;
    if (chainHash(prev, canonical(r)) !== r.hash) return `entry ${r.seq}: content does not match its hash (altered)`;
    try {
      if (!this.keyring.verify(department, r.hash, r.signature, 'any')) return `entry ${r.seq}: signature does not verify with the key of '${department}'`;
    } catch (err) {
      return `entry ${r.seq}: cannot check its signature (${errorMessage(err)})`;
    }
    return null;
  }

  private async broken(tx: Tx, department: string, seq: string, reason: string): Promise<void> {
    await tx.execute(sql`UPDATE centre_departments SET broken_seq = ${seq}, broken_reason = ${reason}, broken_at = now() WHERE department = ${department} AND broken_seq IS NULL`);
    tx.afterCommit(() => void this.alarms.raise('ledger-break', `ledger:${department}`, `ledger of ${department}: ${reason}`, { department }));
  }

  /**
   * The range the copy lacks next, up to the head the department's node reported (an entry that
   * arrived beyond it proves nothing: anyone holding the department's broker user can send one);
   * null when none.
   */
  async missing(department: string, head: string | null): Promise<{ from: string; to: string } | null> {
    const [row] = await this.db.query<{ contiguous: string; broken_seq: string | null; next: string | null }>(sql`SELECT d.contiguous, d.broken_seq,
      (SELECT min(seq) FROM centre_ledger l WHERE l.department = d.department AND l.seq > d.contiguous) AS next
      FROM centre_departments d WHERE d.department = ${department}`);
    if (!row || row.broken_seq || head === null) return null;
    const from = BigInt(row.contiguous) + 1n;
    const known = BigInt(head);
    if (known < from) return null;
    const next = row.next === null ? null : BigInt(row.next);
    const to = next === null || next > known ? known : next > from ? next - 1n : null;
    return to === null ? null : { from: from.toString(), to: to.toString() };
  }

  async states(): Promise<CopyState[]> {
    const rows = await this.db.query<{ department: string; contiguous: string; broken_seq: string | null; broken_reason: string | null }>(
      sql`SELECT department, contiguous, broken_seq, broken_reason FROM centre_departments ORDER BY department`);
    return rows.map((r) => ({ department: r.department, contiguous: String(r.contiguous), broken: r.broken_seq ? { seq: String(r.broken_seq), reason: r.broken_reason ?? '' } : null }));
  }
}

/** Whether the node's last heartbeat names a restore at or below `seq` whose entry the copy does not hold yet. */
async function restorePending(tx: Pick<Tx, 'query'>, department: string, seq: string): Promise<boolean> {
  const [row] = await tx.query<{ restored: string | null }>(sql`SELECT heartbeat->>'restored' AS restored FROM centre_departments WHERE department = ${department}`);
  if (!row?.restored || BigInt(row.restored) > BigInt(seq)) return false;
  const [held] = await tx.query<{ kind: string }>(sql`SELECT kind FROM centre_ledger WHERE department = ${department} AND seq = ${row.restored}`);
  return held?.kind !== 'restored';
}

async function ensure(tx: Pick<Tx, 'execute'>, department: string): Promise<void> {
  await tx.execute(sql`INSERT INTO centre_departments (department) VALUES (${department}) ON CONFLICT (department) DO NOTHING`);
}

