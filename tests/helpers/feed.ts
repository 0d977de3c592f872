import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { sql } from '../../adapters/sql';
import type { Topology } from '../../gateway/broker/topology';
import type { Keyring } from '../../gateway/envelope/keys';
import { Ledger, type LedgerEntry, type StoredEntry } from '../../gateway/ledger/ledger';
import type { TestDatabase } from './databases';
import { BROKER_URL } from './exchange';

/** One department's ledger, written through the product's Ledger, and its audit feed as its own broker user. */
export class Feed {
  /** every entry appended, by sequence (the newest history after a rollback) */
  readonly written = new Map<string, StoredEntry>();
  /** the entry appended last */
  last: StoredEntry | null = null;
  private ledger!: Ledger;

  private constructor(private readonly conn: amqp.ChannelModel, private readonly ch: amqp.ConfirmChannel, private readonly topology: Topology, private readonly keyring: Keyring, readonly department: string, private readonly db: TestDatabase) {}

  static async open(url: string, topology: Topology, keyring: Keyring, department: string, db: TestDatabase): Promise<Feed> {
    const conn = await amqp.connect(url);
    const feed = new Feed(conn, await conn.createConfirmChannel(), topology, keyring, department, db);
    feed.ledger = new Ledger(keyring, department);
    await feed.ledger.load(db.db);
    return feed;
  }

  get head(): { seq: string; hash: string } {
    return this.ledger.head;
  }

  private entry(over: Partial<LedgerEntry> = {}): LedgerEntry {
    return { kind: 'apply', flow: 'items', messageId: randomUUID(), from: 'src', to: this.department, count: 1, keys: [`K-${this.department}-${randomUUID().slice(0, 8)}`], ...over };
  }

  /** One entry in one transaction, as a node's apply commits it; on the feed (as `alter` makes it, or not at all). */
  async append(over: Partial<LedgerEntry> = {}, options: { publish?: boolean; alter?: (e: StoredEntry) => unknown[] } = {}): Promise<StoredEntry> {
    const [e] = await this.db.db.transaction((tx) => this.ledger.append(tx, [this.entry(over)]));
    this.written.set(e.seq, e);
    this.last = e;
    if (options.publish !== false) await this.sendEntries(options.alter ? options.alter(e) : [e]);
    return e;
  }

  /** Many entries in one transaction, not published. */
  async appendMany(n: number): Promise<StoredEntry[]> {
    const stored = await this.db.db.transaction((tx) => this.ledger.append(tx, Array.from({ length: n }, () => this.entry())));
    for (const e of stored) this.written.set(e.seq, e);
    return stored;
  }

  /** The database restored from a backup taken at entry `to`: the entries after it are gone. */
  async rollback(to: string): Promise<void> {
    await this.db.db.transaction(async (tx) => {
      const [row] = await tx.query<{ hash: string }>(sql`SELECT hash FROM dxg_ledger WHERE seq = ${to}`);
      await tx.execute(sql`DELETE FROM dxg_ledger WHERE seq > ${to}`);
      await tx.execute(sql`UPDATE dxg_ledger_head SET seq = ${to}, hash = ${row.hash} WHERE id = 1`);
    });
    for (const s of [...this.written.keys()]) if (BigInt(s) > BigInt(to)) this.written.delete(s);
    this.ledger = new Ledger(this.keyring, this.department);
    await this.ledger.load(this.db.db);
  }

  async sendEntries(entries: unknown[]): Promise<void> {
    this.send('entries', { entries });
  }

  send(type: string, event: object): void {
    this.ch.publish(this.topology.auditExchange, `${this.department}.${type}`, Buffer.from(JSON.stringify({ type, department: this.department, ...event })), {
      userId: this.topology.user(this.department), messageId: randomUUID(), persistent: true,
    });
  }

  /** Everything sent is in the centre's queue. */
  confirmed(): Promise<void> {
    return this.ch.waitForConfirms();
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}

/** Messages ready in the centre's queue (delivered and not yet acked: not counted). */
export async function waitingAtCentre(topology: Topology): Promise<number> {
  const conn = await amqp.connect(BROKER_URL);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(topology.centreQueue)).messageCount;
  } finally {
    await conn.close();
  }
}

export interface CopyState {
  contiguous: string;
  broken_seq: string | null;
  broken_reason: string | null;
}

/** Each department's copy at the centre: how far it is complete and checked, and where it broke. */
export async function centreCopies(centreDb: TestDatabase): Promise<Map<string, CopyState>> {
  const rows = await centreDb.query<{ department: string; contiguous: string; broken_seq: string | null; broken_reason: string | null }>(
    sql`SELECT department, contiguous, broken_seq, broken_reason FROM centre_departments ORDER BY department`);
  return new Map(rows.map((r) => [r.department, { contiguous: String(r.contiguous), broken_seq: r.broken_seq === null ? null : String(r.broken_seq), broken_reason: r.broken_reason }]));
}
