import { createHmac } from 'node:crypto';
import type { Database, Tx } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { sha256 } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import { CENTRE } from '../config/duration';
import { maskText } from '../mask';
import { canonicalKey } from './search';

/** What the journal records, in its own words (the console shows each in the reader's language). */
export type JournalAction =
  | 'login' | 'login failed' | 'logout'
  | 'look: audit' | 'look unmasked: audit' | 'look: journal' | 'look: trail' | 'look unmasked: trail' | 'look: quarantine' | 'look unmasked: quarantine'
  | 'clear alarm' | 'replay' | 'archived' | 'catalog published'
  | 'application submitted' | 'application approved' | 'application rejected' | 'grant revoked' | 'grant expired'
  | 'key registered' | 'key refused' | 'key rotated' | 'key replaced' | 'key revoked'
  | 'user added' | 'user changed' | 'user removed';

export interface JournalEntry {
  seq: string;
  at: string;
  actor: string;
  action: JournalAction;
  subject: string | null;
  reason: string | null;
  hash: string;
}

/**
 * The centre's own ledger (DESIGN §8): every decision, and every look at record keys or personal
 * data — who, when, what, the stated reason — hash-chained and signed with the centre's key.
 */
export class Journal {
  /** keyed with what only the centre's private key gives: a digest of an identity number is no lookup table's */
  private readonly digestKey: Buffer;

  constructor(private readonly db: Database, private readonly keyring: Keyring) {
    this.digestKey = Buffer.from(keyring.sign(CENTRE, 'dxg centre journal: record key digests'), 'base64');
  }

  /** The digest a look at `recordKey` is found by (the key itself is kept only masked), however it was typed. */
  keyDigest(recordKey: string): string {
    return createHmac('sha256', this.digestKey).update(canonicalKey(recordKey)).digest('hex');
  }

  /**
   * The subject passes the mask (identity and mobile numbers): the journal is read by every auditor.
   * `recordKey`: the one record looked at, found again by its digest (`list({ key })`).
   */
  async record(actor: string, action: JournalAction, what: string | null, reason: string | null, recordKey?: string): Promise<void> {
    await this.db.transaction((tx) => this.recordIn(tx, actor, action, what, reason, recordKey));
  }

  /** Within the transaction of the decision it records: both are kept, or neither. */
  async recordIn(tx: Tx, actor: string, action: JournalAction, what: string | null, reason: string | null, recordKey?: string): Promise<void> {
    const subject = what === null ? null : maskText(what);
    // one writer at a time: entries chain in commit order
    await tx.execute(sql`LOCK TABLE centre_journal IN EXCLUSIVE MODE`);
    const [last] = await tx.query<{ seq: string; hash: string }>(sql`SELECT seq, hash FROM centre_journal ORDER BY seq DESC LIMIT 1`);
    const seq = last ? BigInt(last.seq) + 1n : 1n;
    const prev = last?.hash ?? '0'.repeat(64);
    const at = new Date().toISOString();
    const hash = sha256(`${prev}\n${JSON.stringify([seq.toString(), at, actor, action, subject, reason])}`);
    await tx.execute(sql`INSERT INTO centre_journal (seq, at, actor, action, subject, reason, prev_hash, hash, signature, record_key_digest)
      VALUES (${seq.toString()}, ${at}, ${actor}, ${action}, ${subject}, ${reason}, ${prev}, ${hash}, ${this.keyring.sign(CENTRE, hash)}, ${recordKey === undefined ? null : this.keyDigest(recordKey)})`);
  }

  /** Newest first; with `key`, only the looks at that record. */
  async list(limit = 200, key?: string): Promise<JournalEntry[]> {
    const which = key === undefined ? sql`` : sql`WHERE record_key_digest = ${this.keyDigest(key)}`;
    const rows = await this.db.query<JournalEntry & Record<string, unknown>>(sql`SELECT seq, at, actor, action, subject, reason, hash FROM centre_journal ${which} ORDER BY seq DESC LIMIT ${limit}`);
    return rows.map((r) => ({ ...r, seq: String(r.seq) }));
  }
}
