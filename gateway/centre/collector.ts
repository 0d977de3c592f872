import type { ConsumeMessage } from 'amqplib';
import type { Broker } from '../broker/connection';
import { batched, Consumer, type Outcomes } from '../broker/consumer';
import type { Topology } from '../broker/topology';
import type { FeedEvent } from '../ledger/feed';
import { log } from '../log';
import type { Heartbeat } from '../node/heartbeat';
import type { Alarms } from './alarms';
import type { LedgerCopy, Received } from './ledger-copy';
import type { FeedMark, FeedWatch, Monitor } from './monitor';
import type { KeyRegistry } from './registry';
import type { Asker } from './asker';
import type { SignatureChecks } from './signatures';

/**
 * Feed messages the centre holds at once, and so takes together at most. A batch costs the copy about
 * what one message did, so the more it takes at once the faster it catches up; a message holds at most
 * 20,000 entries (a node answering the centre, 500), which bounds what this many hold in memory.
 */
const PREFETCH = 100;

/**
 * Reads the audit feed of every department from the centre's queue: ledger entries into the copy,
 * heartbeats to the monitor, answers to the centre's requests. An event is believed only from the
 * department's own broker user (RabbitMQ validates the user-id; the topic permissions let a
 * department publish only under its own name); the entries' own signatures are checked as the copy
 * takes them. The messages waiting are taken together (see take), and each is acked once what it
 * brought is committed.
 */
export class Collector implements FeedWatch {
  private readonly consumer: Consumer;
  private delivered = 0;
  private taken = 0;
  /** each message's event, read as it was delivered, and the check of its entries' signatures begun then */
  private readonly arrived = new WeakMap<ConsumeMessage, Arrived>();

  constructor(
    private readonly broker: Broker,
    private readonly topology: Topology,
    private readonly departments: ReadonlySet<string>,
    private readonly copy: LedgerCopy,
    private readonly monitor: Monitor,
    private readonly alarms: Alarms,
    private readonly registry: KeyRegistry,
    private readonly asker: Asker,
    private readonly signatures: SignatureChecks,
  ) {
    const take = batched((msgs) => this.take(msgs));
    // all that is prefetched starts at once, so that it reaches take together
    this.consumer = new Consumer(broker, topology.centreQueue, { prefetch: PREFETCH, concurrency: PREFETCH }, (msg, signal) => {
      this.delivered++;
      this.arrive(msg);
      return take(msg, signal).finally(() => this.taken++);
    });
    // the monitor asks nodes again for what the copy lacks only once the feed cannot bring it
    monitor.watchFeed(this);
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.signatures.stop();
  }

  async mark(): Promise<FeedMark> {
    const waiting = await this.broker.withChannel((ch) => ch.checkQueue(this.topology.centreQueue)).then((q) => q.messageCount > 0, () => true);
    // counted after the queue answered: a message it no longer counted as waiting is counted as delivered
    return { waiting, delivered: this.delivered, taken: this.taken };
  }

  /**
   * Reads a message as it is delivered and begins checking its entries' signatures, so that the
   * checks of the messages waiting run while the copy stores the batch before them.
   */
  private arrive(msg: ConsumeMessage): void {
    const event = this.read(msg);
    const verified = event?.type === 'entries' ? this.signatures.check({ department: event.department, entries: event.entries }) : undefined;
    this.arrived.set(msg, { event, verified });
  }

  /**
   * Messages in delivery order. The entries wait to be taken together until the messages end or
   * another event comes: a heartbeat's head is compared with the copy, and a key announced may be the
   * one the entries after it are signed with, so whatever came before such an event is stored first.
   */
  private async take(msgs: ConsumeMessage[]): Promise<Outcomes> {
    const outcomes: Outcomes = msgs.map(() => null);
    let entries: Taken[] = [];
    for (const [i, msg] of msgs.entries()) {
      // every message was read as it arrived (arrive), before it could reach take
      const { event, verified } = this.arrived.get(msg)!;
      if (!event) continue;
      if (event.type === 'entries') {
        entries.push({ i, received: { department: event.department, entries: event.entries }, verified });
        continue;
      }
      await this.receive(entries, outcomes);
      entries = [];
      outcomes[i] = await this.other(event).then(() => null, failure);
    }
    await this.receive(entries, outcomes);
    return outcomes;
  }

  /**
   * The entries of several messages, in one go; if that fails, each message alone, so that one the
   * copy cannot take fails by itself (returned to the queue, dropped after its delivery limit)
   * while the others are kept.
   */
  private async receive(entries: readonly Taken[], outcomes: Outcomes): Promise<void> {
    if (entries.length === 0) return;
    const verified = new Set((await Promise.all(entries.map((e) => e.verified))).flatMap((names) => [...(names ?? [])]));
    const together = entries.length > 1 ? await this.copy.receive(entries.map((e) => e.received), verified).then(() => true, () => false) : false;
    for (const { i, received } of entries) {
      outcomes[i] = await (together ? Promise.resolve() : this.copy.receive([received], verified)).then(() => this.deadLetters(received)).then(() => null, failure);
    }
  }

  private async deadLetters({ department: d, entries }: Received): Promise<void> {
    for (const e of entries) {
      if (e.kind === 'dead-letter') {
        await this.alarms.raise('dead-letter', `dead-letter:${d}:${e.seq}`, `${d} took a dead letter${e.message_id ? ` (message ${e.message_id})` : ''}${e.flow ? ` of flow ${e.flow}` : ''}: ${deadReason(e.detail)}`, { department: d, flow: e.flow ?? undefined });
      }
    }
  }

  /** The event a message carries, or null when it is dropped (with the reason in the log). */
  private read(msg: ConsumeMessage): FeedEvent | null {
    let event: FeedEvent;
    try {
      event = JSON.parse(msg.content.toString('utf8')) as FeedEvent;
    } catch {
      log.warn('audit feed: a message that is not JSON, dropped', { routingKey: msg.fields.routingKey });
      return null;
    }
    const d = event?.department;
    if (typeof d !== 'string' || !this.departments.has(d) || msg.properties.userId !== this.topology.user(d)) {
      log.warn('audit feed: an event not from the department it names, dropped', { department: String(d), userId: String(msg.properties.userId ?? '(none)') });
      return null;
    }
    const malformed = problemOf(event);
    if (malformed) {
      const type: unknown = event.type;
      log.warn('audit feed: a malformed event, dropped', { department: d, type: typeof type === 'string' ? type : typeof type, problem: malformed });
      return null;
    }
    return event;
  }

  private async other(event: Exclude<FeedEvent, { type: 'entries' }>): Promise<void> {
    const d = event.department;
    switch (event.type) {
      case 'heartbeat':
        return this.monitor.heartbeat(d, event.heartbeat as Heartbeat);
      case 'key':
        await this.registry.register(d, event.announcement);
        return;
      case 'answer':
        return this.asker.answered(d, String(event.request), event.body);
      default:
        log.warn('audit feed: an event of unknown type, dropped', { department: d, type: String((event as { type?: unknown }).type) });
    }
  }
}

interface Arrived {
  event: FeedEvent | null;
  verified?: Promise<ReadonlySet<string>>;
}

interface Taken {
  i: number;
  received: Received;
  verified?: Promise<ReadonlySet<string>>;
}

const failure = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

const HEX64 = /^[0-9a-f]{64}$/;
/**
 * An entry's optional texts: what the copy stores is then exactly what it checks (the copy moves
 * over a batch's entries as they came, not as read back).
 */
const TEXTS = ['flow', 'message_id', 'from_dept', 'to_dept', 'digest', 'detail', 'algorithm'] as const;
/** The centre's record_count column is an integer. */
const INT_MAX = 2 ** 31 - 1;
/**
 * A text PostgreSQL would not store as it came: a NUL character (refused: the batch would fail at
 * every delivery) or half of a UTF-16 surrogate pair (stored as U+FFFD, no longer what was signed).
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (e: object): boolean => Object.values(e).some((v) => typeof v === 'string' && UNSTORABLE.test(v));
const isText = (v: unknown): v is string => typeof v === 'string';
const orNull = (v: unknown): boolean => v === null || v === undefined || typeof v === 'string';

/**
 * Whether an entry is one the copy stores exactly as it came: the copy checks the entries of a batch
 * as they came, not as read back, so whatever the database would store otherwise is refused here.
 * Types are checked before values are looked at (a value's own toString must not run).
 */
function storable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return isText(x.seq) && /^[1-9]\d{0,17}$/.test(x.seq) && isText(x.at) && isText(x.kind) && TEXTS.every((c) => orNull(x[c]))
    && isText(x.hash) && HEX64.test(x.hash) && isText(x.prev_hash) && HEX64.test(x.prev_hash) && isText(x.signature)
    && typeof x.record_count === 'number' && Number.isInteger(x.record_count) && x.record_count >= 0 && x.record_count <= INT_MAX
    && orNull(x.record_keys) && !(isText(x.record_keys) && x.record_keys.split('\n').some((k) => k.length > KEY_MAX)) && !unstorable(x);
}
/** Longest record key the centre indexes: a key is an identifier, not a document. */
export const KEY_MAX = 1000;

/** Why an event cannot be what its type says, or null. What a node sends always passes. */
function problemOf(event: FeedEvent): string | null {
  switch (event.type) {
    case 'entries': {
      if (!Array.isArray(event.entries) || event.entries.length === 0 || event.entries.length > 20_000) return 'entries: not a list of 1 to 20,000 entries';
      const bad = event.entries.findIndex((e) => !storable(e));
      return bad >= 0 ? `entry ${bad + 1} of the message is not a ledger entry (or holds a record key over ${KEY_MAX} characters, a count out of range, a field of the wrong type, a NUL character or half a surrogate pair)` : null;
    }
    case 'heartbeat': {
      const hb = event.heartbeat as { head?: { seq?: unknown; hash?: unknown } } | null;
      return hb && typeof hb === 'object' && hb.head && typeof hb.head === 'object' && isText(hb.head.seq) && /^\d{1,18}$/.test(hb.head.seq) && isText(hb.head.hash) ? null : 'heartbeat: no ledger head';
    }
    case 'answer':
      return typeof event.request === 'string' ? null : 'answer: names no request';
    case 'key':
      return event.announcement && typeof event.announcement.publicKey === 'string' && typeof event.announcement.proof === 'string' ? null : 'key: no public key and proof';
    default:
      return null;
  }
}

function deadReason(detail: string | null): string {
  try {
    const d = JSON.parse(detail ?? '{}') as { reason?: unknown };
    return typeof d.reason === 'string' ? d.reason : 'see its ledger entry';
  } catch {
    return 'see its ledger entry';
  }
}
