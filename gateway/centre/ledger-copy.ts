import type { Database, Row, Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { ALGORITHM } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { GENESIS } from '../bookkeeping/schema';
import { canonical, chainHash, type StoredEntry } from '../ledger/ledger';
import type { Alarms } from './alarms';
import { verifiedName } from './signatures';

const COLUMNS = ['department', 'seq', 'at', 'kind', 'flow', 'message_id', 'from_dept', 'to_dept', 'record_count', 'digest', 'record_keys', 'detail', 'algorithm', 'prev_hash', 'hash', 'signature'] as const;
/** Each column bound as one array (`unnest`): a statement per table and batch, not a bound value per field. */
const ARRAY_TYPES: Partial<Record<(typeof COLUMNS)[number], string>> = { seq: 'bigint[]', record_count: 'integer[]' };
/** Entries checked per read while the copy's complete part moves forward. */
const PAGE = 2000;
/** Entries, and record keys, per insert: bounds a statement, not the batch. */
const STORE_CHUNK = 5000;
const KEYS_CHUNK = 50_000;

/** What a receive stored, by department and sequence: the copy moves over these without reading them back. */
type Stored = Map<string, Map<string, StoredEntry>>;

/** What one feed message brought: entries of one department's ledger. */
export interface Received {
  department: string;
  entries: readonly StoredEntry[];
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

  /**
   * Takes what feed messages brought (in delivery order) in one transaction: stores the entries the
   * copy does not hold, compares those it holds, and moves each department's complete part forward.
   * A batch of messages costs about what one did (a commit, a few statements per department): taken
   * one at a time, every entry a node commits alone cost the centre two commits, and it fell behind.
   */
  async receive(messages: readonly Received[], verified: ReadonlySet<string> = new Set()): Promise<void> {
    const departments = [...new Set(messages.map((m) => m.department))].sort();
    if (departments.length === 0) return;
    const stored: Stored = new Map();
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO centre_departments (department) VALUES ${sql.join(departments.map((d) => sql`(${d})`))} ON CONFLICT (department) DO NOTHING`);
      // entries already archived came again (a late feed message): they left the database for good
      const archived = new Map((await tx.query<{ department: string; to: string }>(sql`SELECT department, max(to_seq) AS to FROM centre_archives
        WHERE department IN ${sql.list(departments)} GROUP BY department`)).map((r) => [r.department, BigInt(r.to)]));
      for (const round of rounds(messages, archived)) {
        const fresh = await this.store(tx, round, stored);
        for (const [department, entries] of round) {
          const again = entries.filter((e) => !fresh.has(`${department}:${e.seq}`));
          if (again.length) await this.compare(tx, department, again, entries.find((e) => e.kind === 'restored'), entries, stored);
        }
      }
      await this.advance(tx, departments, verified, stored);
    });
  }

  /**
   * Stores the entries the copy does not hold yet, with their record keys; returns those it stored, as
   * `department:seq`, and adds them to `stored`.
   */
  private async store(tx: Tx, round: ReadonlyMap<string, readonly StoredEntry[]>, stored: Stored): Promise<Set<string>> {
    const fresh = new Set<string>();
    const all = [...round].flatMap(([department, entries]) => entries.map((e) => ({ department, e })));
    await inChunks(all, STORE_CHUNK, async (chunk) => {
      const arrays = COLUMNS.map((c) => chunk.map(({ department, e }) => (c === 'department' ? department : c === 'seq' ? String(e.seq) : c === 'record_count' ? Number(e.record_count) : e[c] ?? null)));
      const inserted = await tx.query<{ department: string; seq: string }>(sql`INSERT INTO centre_ledger (${sql.ids(COLUMNS)})
        SELECT * FROM unnest(${sql.join(COLUMNS.map((c, i) => sql`${arrays[i]}::${sql.raw(ARRAY_TYPES[c] ?? 'text[]')}`))}) ON CONFLICT (department, seq) DO NOTHING RETURNING department, seq`);
      for (const r of inserted) fresh.add(`${r.department}:${r.seq}`);
    });
    const kept = all.filter(({ department, e }) => fresh.has(`${department}:${e.seq}`));
    for (const { department, e } of kept) (stored.get(department) ?? stored.set(department, new Map()).get(department)!).set(String(e.seq), e);
    const keys = kept.filter(({ e }) => e.record_keys).flatMap(({ department, e }) => e.record_keys!.split('\n').map((k) => [k, department, String(e.seq)] as const));
    await inChunks(keys, KEYS_CHUNK, async (chunk) => {
      await tx.execute(sql`INSERT INTO centre_record_keys (record_key, department, seq)
        SELECT * FROM unnest(${chunk.map((k) => k[0])}::text[], ${chunk.map((k) => k[1])}::text[], ${chunk.map((k) => k[2])}::bigint[]) ON CONFLICT DO NOTHING`);
    });
    return fresh;
  }

  /** Entries that came again must be the ones the copy holds; a declared restore replaces what it rolled back. */
  private async compare(tx: Tx, department: string, again: readonly StoredEntry[], restore: StoredEntry | undefined, batch: readonly StoredEntry[], stored: Stored): Promise<void> {
    const held = new Map<string, string>();
    await inChunks(again.map((e) => String(e.seq)), 500, async (chunk) => {
      const rows = await tx.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM centre_ledger WHERE department = ${department} AND seq IN ${sql.list(chunk)}`);
      for (const r of rows) held.set(String(r.seq), r.hash);
    });
    const differing = again.filter((e) => held.get(String(e.seq)) !== e.hash);
    if (differing.length === 0) return;
    if (restore && BigInt(restore.seq) <= BigInt(differing[0].seq)) {
      // the restore must chain to the entry before it as the copy holds it (archived: as the archive held it, which the restore names)
      const before = BigInt(restore.seq) - 1n;
      const [held] = before === 0n ? [{ hash: GENESIS }] : await tx.query<{ hash: string }>(sql`SELECT hash FROM centre_ledger WHERE department = ${department} AND seq = ${String(before)}`);
      // what the restore rolled back leaves the copy; the heads the centre countersigned before still name it
      await tx.execute(sql`DELETE FROM centre_record_keys WHERE department = ${department} AND seq >= ${String(restore.seq)}`);
      await tx.execute(sql`DELETE FROM centre_ledger WHERE department = ${department} AND seq >= ${String(restore.seq)}`);
      await tx.execute(sql`UPDATE centre_departments SET contiguous = LEAST(contiguous, ${String(before)}),
        contiguous_hash = CASE WHEN contiguous >= ${String(restore.seq)} THEN ${held?.hash ?? restore.prev_hash} ELSE contiguous_hash END WHERE department = ${department}`);
      // a break the rolled-back entries caused is no break once the restore is declared
      const cleared = await tx.query(sql`UPDATE centre_departments SET broken_seq = NULL, broken_reason = NULL, broken_at = NULL
        WHERE department = ${department} AND broken_seq >= ${String(restore.seq)} RETURNING department`);
      if (cleared.length) tx.afterCommit(() => void this.alarms.clear(`ledger:${department}`));
      stored.delete(department);
      await this.store(tx, new Map([[department, batch.filter((e) => BigInt(e.seq) >= BigInt(restore.seq))]]), stored);
      return;
    }
    const first = differing[0];
    await this.broken(tx, department, String(first.seq), `entry ${first.seq} arrived again with content other than the centre's copy holds: the department's ledger was rewritten`);
  }

  /**
   * Moves each copy's complete part forward over entries that chain and verify: first over those this
   * receive stored, then over what the copy held beyond them, all departments in each read. A read
   * returns only what continues a copy without a gap (entries stored beyond a gap wait there, unread,
   * until it fills), at most PAGE entries in all.
   */
  private async advance(tx: Tx, departments: readonly string[], verified: ReadonlySet<string>, stored: Stored): Promise<void> {
    const copies = (await tx.query<{ department: string; contiguous: string; contiguous_hash: string }>(sql`SELECT department, contiguous, contiguous_hash
      FROM centre_departments WHERE department IN ${sql.list(departments)} AND broken_seq IS NULL ORDER BY department FOR UPDATE`))
      .map((c) => ({ department: c.department, from: BigInt(c.contiguous), seq: BigInt(c.contiguous), prev: c.contiguous_hash }));
    let open: typeof copies = [];
    for (const c of copies) {
      const own = stored.get(c.department);
      const run: StoredEntry[] = [];
      for (let next = c.seq + 1n, e = own?.get(String(next)); e; next++, e = own?.get(String(next))) run.push(e);
      if (await this.follow(tx, c, run, verified)) open.push(c);
    }
    while (open.length) {
      const window = Math.ceil(PAGE / open.length);
      const rows = await tx.query<Row & StoredEntry & { department: string }>(sql`SELECT l.* FROM (VALUES ${sql.join(open.map((c) => sql`(${c.department}, ${c.seq.toString()}::bigint)`))}) AS c (department, after)
        CROSS JOIN LATERAL (SELECT * FROM (SELECT *, row_number() OVER (ORDER BY seq) AS n FROM centre_ledger WHERE department = c.department AND seq > c.after AND seq <= c.after + ${window}) w
          WHERE seq = c.after + n) l ORDER BY l.department, l.seq`);
      const next: typeof open = [];
      for (const c of open) {
        const own = rows.filter((r) => r.department === c.department);
        if ((await this.follow(tx, c, own, verified)) && own.length === window) next.push(c);
      }
      open = next;
    }
    const moved = copies.filter((c) => c.seq !== c.from);
    if (moved.length === 0) return;
    await tx.execute(sql`UPDATE centre_departments d SET contiguous = m.seq, contiguous_hash = m.hash
      FROM (VALUES ${sql.join(moved.map((c) => sql`(${c.department}, ${c.seq.toString()}::bigint, ${c.prev})`))}) AS m (department, seq, hash) WHERE d.department = m.department`);
  }

  /** Moves one copy over the entries that continue it; false at one that does not (a break, or a declared restore to wait for). */
  private async follow(tx: Tx, c: { department: string; seq: bigint; prev: string }, rows: readonly StoredEntry[], verified: ReadonlySet<string>): Promise<boolean> {
    for (const r of rows) {
      const reason = this.check(c.department, r, c.prev, verified);
      if (reason) {
        // a restore the node declared, not collected yet, explains a chain that goes another way: wait for it
        if (!(await restorePending(tx, c.department, String(r.seq)))) await this.broken(tx, c.department, String(r.seq), reason);
        return false;
      }
      c.seq += 1n;
      c.prev = r.hash;
    }
    return true;
  }

  /** Why an entry does not continue the chain, or null. Signatures named in `verified` were checked already (SignatureChecks). */
  private check(department: string, r: StoredEntry, prev: string, verified: ReadonlySet<string>): string | null {
    if (r.prev_hash !== prev) return `entry ${r.seq} does not chain to the entry before it`;
    if (r.algorithm && r.algorithm !== ALGORITHM) return `entry ${r.seq} names algorithm '${r.algorithm}', which this centre cannot check`;
    if (chainHash(prev, canonical(r)) !== r.hash) return `entry ${r.seq}: content does not match its hash (altered)`;
    if (verified.has(verifiedName(department, r))) return null;
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
}

/** Whether the node's last heartbeat names a restore at or below `seq` whose entry the copy does not hold yet. */
async function restorePending(tx: Pick<Tx, 'query'>, department: string, seq: string): Promise<boolean> {
  const [row] = await tx.query<{ restored: string | null }>(sql`SELECT heartbeat->>'restored' AS restored FROM centre_departments WHERE department = ${department}`);
  if (!row?.restored || BigInt(row.restored) > BigInt(seq)) return false;
  const [held] = await tx.query<{ kind: string }>(sql`SELECT kind FROM centre_ledger WHERE department = ${department} AND seq = ${row.restored}`);
  return held?.kind !== 'restored';
}

/**
 * The messages' entries by department, in rounds: each round holds, per department, the next run of
 * its entries (in the order they came) that names no entry twice and holds a restore only as its
 * first entry. A run taken together ends as taking the entries one by one would: with an entry twice
 * in one insert, the second would be neither stored nor compared (and the copy, which checks what it
 * stored as it came, would check the wrong one), and a restore replaces only what comes after it.
 */
function rounds(messages: readonly Received[], archived: ReadonlyMap<string, bigint>): Map<string, StoredEntry[]>[] {
  const runs = new Map<string, { entries: StoredEntry[]; seqs: Set<string> }[]>();
  for (const { department, entries: received } of messages) {
    const after = archived.get(department);
    for (const e of received) {
      if (after !== undefined && BigInt(e.seq) <= after) continue;
      const own = runs.get(department) ?? runs.set(department, []).get(department)!;
      let run = own[own.length - 1];
      // an entry twice, also within one message: the second comes in a later round, compared with the first as stored
      if (!run || run.seqs.has(e.seq) || (e.kind === 'restored' && run.entries.length > 0)) own.push((run = { entries: [], seqs: new Set() }));
      run.entries.push(e);
      run.seqs.add(e.seq);
    }
  }
  const out: Map<string, StoredEntry[]>[] = [];
  for (const [department, own] of runs) {
    own.forEach((run, i) => (out[i] ??= new Map()).set(department, run.entries));
  }
  return out;
}
