import type { Database, Row, Tx } from '../../adapters/adapter';
import { inChunks, sql } from '../../adapters/sql';
import { now } from '../time';
import { ALGORITHM, sha256, type LedgerHead } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';

/** Every step of an exchange, as the auditors name it. */
export type LedgerKind =
  | 'extract'      // rows read from the source table
  | 'quarantine'   // records set aside at the source, with reasons
  | 'publish'      // an envelope confirmed by the broker
  | 'apply'        // an envelope applied at a target
  | 'reject'       // records a target refused, with reasons
  | 'receipt'      // a target's receipt recorded at the source
  | 'dead-letter'  // a message that could not be processed, with the reason
  | 'duplicate'    // a message delivered again, recognised and not applied twice
  | 'reconcile'    // a part of a key reconciliation, sent or received
  | 'delete'       // records deleted at a target because they were deleted at the source
  | 'replay'       // quarantined items sent again
  | 'dismiss'      // quarantined items closed for good without sending them again, with the reason
  | 'withhold'     // records a source did not send a target that holds no grant for them (or an envelope the broker could not route to it any more)
  | 'grant-end'    // a grant of a target ended: what on_end said (keep, or purge what it delivered) was done
  | 'restored'     // the database was restored from a backup: entries after this one's predecessor may have been lost, declared by an operator
  | 'anomaly';     // a signed message that contradicts this ledger (a receipt for an envelope never sent): recorded, never counted

export interface LedgerEntry {
  kind: LedgerKind;
  flow?: string;
  messageId?: string;
  from?: string;
  to?: string;
  count: number;
  digest?: string;
  keys?: readonly string[];
  detail?: Record<string, unknown>;
}

export interface StoredEntry {
  seq: string;
  at: string;
  kind: string;
  flow: string | null;
  message_id: string | null;
  from_dept: string | null;
  to_dept: string | null;
  record_count: number;
  digest: string | null;
  record_keys: string | null;
  detail: string | null;
  /** the hash and signature algorithms, `ed25519/sha256`; null in entries written before entries named them (which use those) */
  algorithm: string | null;
  prev_hash: string;
  hash: string;
  signature: string;
}

const COLUMNS = ['seq', 'at', 'kind', 'flow', 'message_id', 'from_dept', 'to_dept', 'record_count', 'digest', 'record_keys', 'detail', 'algorithm', 'prev_hash', 'hash', 'signature'] as const;

/**
 * The exact text an entry's hash covers: every column but the chain's own. The algorithm is covered
 * where the entry names one; entries written before they did verify as they were written.
 */
export function canonical(e: Omit<StoredEntry, 'hash' | 'signature' | 'prev_hash'>): string {
  const fields: unknown[] = [
    String(e.seq), e.at, e.kind, e.flow ?? null, e.message_id ?? null, e.from_dept ?? null, e.to_dept ?? null,
    Number(e.record_count), e.digest ?? null, e.record_keys ?? null, e.detail ?? null,
  ];
  if (e.algorithm) fields.push(e.algorithm);
  return JSON.stringify(fields);
}

export const chainHash = (prevHash: string, text: string): string => sha256(`${prevHash}\n${text}`);

/**
 * One department's ledger. Entries are appended inside the caller's transaction, so they commit or
 * vanish with the work they record; once committed they also go to the audit feed, if there is one
 * (the exchange's audit exchange, for a central auditor to follow).
 */
export class Ledger {
  private committed: LedgerHead = { seq: '0', hash: '0'.repeat(64) };

  constructor(
    private readonly keyring: Keyring,
    readonly department: string,
    private readonly feed?: (entries: StoredEntry[]) => void,
  ) {}

  /** The newest committed entry this node knows of: what its envelopes and receipts carry to its peers. */
  get head(): LedgerHead {
    return this.committed;
  }

  /** Reads the head as the database holds it (at start). */
  async load(db: Pick<Database, 'query'>): Promise<void> {
    const [row] = await db.query<{ seq: string | number; hash: string }>(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = 1`);
    if (row) this.advance({ seq: String(row.seq), hash: row.hash });
  }

  async append(tx: Tx, entries: readonly LedgerEntry[]): Promise<StoredEntry[]> {
    const stored = await appendLedger(tx, this.keyring, this.department, entries);
    const feed = this.feed;
    if (stored.length) {
      const last = stored[stored.length - 1];
      tx.afterCommit(() => {
        this.advance({ seq: String(last.seq), hash: last.hash });
        feed?.(stored);
      });
    }
    return stored;
  }

  /** Transactions commit in any order: the head only moves forward. */
  private advance(head: LedgerHead): void {
    if (BigInt(head.seq) > BigInt(this.committed.seq)) this.committed = head;
  }
}

/** The head row is locked first: entries chain in commit order, one writer at a time. */
async function appendLedger(tx: Tx, keyring: Keyring, department: string, entries: readonly LedgerEntry[]): Promise<StoredEntry[]> {
  if (entries.length === 0) return [];
  const [head] = await tx.query<{ seq: string | number; hash: string }>(
    tx.sql.forUpdate(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = 1`, 'dxg_ledger_head'),
  );
  let seq = BigInt(head.seq);
  let prev = head.hash;
  const at = now();
  const stored: StoredEntry[] = entries.map((e) => {
    seq += 1n;
    const row = {
      seq: seq.toString(),
      at,
      kind: e.kind,
      flow: e.flow ?? null,
      message_id: e.messageId ?? null,
      from_dept: e.from ?? null,
      to_dept: e.to ?? null,
      record_count: e.count,
      digest: e.digest ?? null,
      record_keys: e.keys && e.keys.length ? e.keys.join('\n') : null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
      algorithm: ALGORITHM,
    };
    const hash = chainHash(prev, canonical(row));
    const entry = { ...row, prev_hash: prev, hash, signature: keyring.sign(department, hash) };
    prev = hash;
    return entry;
  });
  await inChunks(stored, 100, async (chunk) => {
    await tx.execute(sql`INSERT INTO dxg_ledger (${sql.ids(COLUMNS)}) VALUES ${sql.join(chunk.map((e) => sql.list(COLUMNS.map((c) => e[c]))))}`);
  });
  await tx.execute(sql`UPDATE dxg_ledger_head SET seq = ${seq.toString()}, hash = ${prev} WHERE id = 1`);
  return stored;
}

export interface VerifyResult {
  checked: number;
  broken?: { seq: string; reason: string };
  /** the head the check went up to */
  head?: LedgerHead;
}

/**
 * Recomputes the chain and checks each signature with the department's public key, up to the head as
 * it was when the check began: a node appending meanwhile (the ledger of a live exchange) is no
 * tampering, and its new entries are checked next time.
 */
export async function verifyLedger(db: Database, keyring: Keyring, department: string, pageSize = 5000): Promise<VerifyResult> {
  // the head commits with the entries it covers: every one of them is there to be read
  const [head] = await db.query<{ seq: string | number; hash: string }>(sql`SELECT seq, hash FROM dxg_ledger_head WHERE id = 1`);
  if (!head) return { checked: 0, broken: { seq: '0', reason: 'the ledger head is missing' } };
  const last = BigInt(head.seq);
  let prev = '0'.repeat(64);
  let expected = 1n;
  let checked = 0;
  while (expected <= last) {
    const rows = await db.query<Row & StoredEntry>(
      db.sql.limit(sql`SELECT ${sql.ids(COLUMNS)} FROM dxg_ledger WHERE seq >= ${expected.toString()} AND seq <= ${last.toString()} ORDER BY seq`, pageSize),
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = BigInt(r.seq);
      if (seq !== expected) return { checked, broken: { seq: expected.toString(), reason: `entry ${expected} is missing (next is ${seq})` } };
      if (r.prev_hash !== prev) return { checked, broken: { seq: r.seq.toString(), reason: 'does not chain to the entry before it' } };
      if (r.algorithm && r.algorithm !== ALGORITHM) return { checked, broken: { seq: r.seq.toString(), reason: `names algorithm '${r.algorithm}', which this dxg cannot check` } };
      if (chainHash(prev, canonical(r)) !== r.hash) return { checked, broken: { seq: r.seq.toString(), reason: 'content does not match its hash (altered)' } };
      if (!keyring.verify(department, r.hash, r.signature, 'any')) return { checked, broken: { seq: r.seq.toString(), reason: `signature does not verify with the key of '${department}'` } };
      prev = r.hash;
      expected += 1n;
      checked++;
    }
  }
  if (expected - 1n !== last || head.hash !== prev) {
    return { checked, broken: { seq: String(head.seq), reason: 'entries after the last one present were removed (head does not match)' } };
  }
  return { checked, head: { seq: String(head.seq), hash: head.hash } };
}

/** The hash of one entry, or null where there is none. */
export async function entryHash(db: Pick<Database, 'query'>, seq: string): Promise<string | null> {
  const [row] = await db.query<{ hash: string }>(sql`SELECT hash FROM dxg_ledger WHERE seq = ${seq}`);
  return row?.hash ?? null;
}

/** The restores an operator declared in this ledger (`dxg init --restored`), oldest first. */
export async function restores(db: Pick<Database, 'query'>): Promise<{ seq: string; at: string }[]> {
  const rows = await db.query<{ seq: string | number; at: string }>(sql`SELECT seq, at FROM dxg_ledger WHERE kind = 'restored' ORDER BY seq`);
  return rows.map((r) => ({ seq: String(r.seq), at: r.at }));
}
