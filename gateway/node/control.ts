import type { ConsumeMessage } from 'amqplib';
import type { Database, Row } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { Consumer } from '../broker/consumer';
import type { Broker } from '../broker/connection';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { SignedKeyList } from '../envelope/key-list';
import type { SignedGrantList } from '../grants/list';
import type { TakenBack } from '../centre/enforcer';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { log } from '../log';
import { listQuarantine, type Stage } from '../bookkeeping/quarantine';
import type { DepartmentNode } from './node';
import { replay } from './replay';
import { publishFeedEvent } from '../ledger/feed';
import { verifyLedger, type StoredEntry } from '../ledger/ledger';

/** What the centre may ask a node (DESIGN §8): its ledger entries again, or a check of its ledger. */
export type ControlRequest =
  | { request: 'ledger'; id: string; from: string; to: string }
  | { request: 'verify'; id: string }
  | { request: 'keys'; id: string; list: SignedKeyList }
  | { request: 'grants'; id: string; list: SignedGrantList }
  | { request: 'revoked'; id: string; envelopes: TakenBack[] }
  | { request: 'granted'; id: string; flow: string; target: string; grant: string }
  | { request: 'quarantine'; id: string; filter: { flow?: string; stage?: Stage; all?: boolean; limit: number } }
  | { request: 'replay'; id: string; filter: { flow?: string; stage?: Stage; ids?: number[] } };

/** A request the centre waits for an answer to. */
export type Question = Extract<ControlRequest, { request: 'verify' | 'quarantine' | 'replay' }>;

/** Entries per feed message when a range is sent again. */
const PAGE = 500;
/** Most entries one request sends: the centre asks again for the rest. */
const MOST = 20_000;

/**
 * A department node's side of the centre: it takes requests from its control queue, only from the
 * centre's broker user (RabbitMQ validates the user-id), and answers on the audit feed as itself.
 * A request that cannot be read is dropped with a log line: it asks for nothing that is owed.
 */
export class ControlDesk {
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();

  constructor(
    private readonly department: string,
    private readonly db: Database,
    private readonly keyring: Keyring,
    private readonly topology: Topology,
    private readonly publisher: Publisher,
    broker: Broker,
    /** the node itself, for a replay (it is built after its desk) */
    private readonly node: () => DepartmentNode,
  ) {
    this.consumer = new Consumer(broker, topology.controlQueue(department), { prefetch: 1, concurrency: 1 }, (msg) => this.handle(msg));
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(now = false): Promise<void> {
    if (now) this.stopping.abort();
    return this.consumer.stop(now);
  }

  private async handle(msg: ConsumeMessage): Promise<void> {
    if (msg.properties.userId !== this.topology.centreUser) {
      log.warn('control request refused: not from the centre', { department: this.department, userId: String(msg.properties.userId ?? '(none)') });
      return;
    }
    let req: ControlRequest;
    try {
      req = JSON.parse(msg.content.toString('utf8')) as ControlRequest;
    } catch {
      log.warn('control request refused: not JSON', { department: this.department });
      return;
    }
    if (req.request === 'ledger' && /^\d+$/.test(String(req.from)) && /^\d+$/.test(String(req.to))) return this.sendLedger(req);
    if (req.request === 'keys') return this.adopt(req.list);
    if (req.request === 'revoked' && Array.isArray(req.envelopes)) return this.node().takenBack(req.envelopes, this.stopping.signal);
    if (req.request === 'granted') return this.node().granted(String(req.flow), String(req.target), String(req.grant));
    if (req.request === 'grants') {
      return this.node().takeGrants(req.list).catch((err) => {
        log.warn('grant list refused', { department: this.department, error: errorMessage(err) });
      });
    }
    if (req.request === 'verify' || req.request === 'quarantine' || req.request === 'replay') return this.answer(req);
    log.warn('control request refused: unknown request', { department: this.department, request: String((req as { request?: unknown }).request) });
  }

  /** Sends entries from..to again (at most MOST of them), in pages, as they are in the ledger now. */
  private async sendLedger(req: { id: string; from: string; to: string }): Promise<void> {
    let from = BigInt(req.from);
    const to = BigInt(req.to) < from + BigInt(MOST) ? BigInt(req.to) : from + BigInt(MOST) - 1n;
    let sent = 0;
    while (from <= to) {
      const rows = await this.db.query<Row & StoredEntry>(this.db.sql.limit(sql`SELECT * FROM dxg_ledger WHERE seq >= ${from.toString()} AND seq <= ${to.toString()} ORDER BY seq`, PAGE));
      if (rows.length === 0) break;
      const entries = rows.map(stored);
      await publishFeedEvent(this.publisher, this.topology, { type: 'entries', department: this.department, entries, resent: true }, `${this.department}:resent:${req.id}:${entries[0].seq}`);
      sent += entries.length;
      from = BigInt(entries[entries.length - 1].seq) + 1n;
    }
    log.info('ledger entries sent again to the centre', { department: this.department, from: req.from, to: to.toString(), sent });
  }

  /** The centre's key list: taken when the centre signed it and it is newer than the one held (kept for the next start). */
  private adopt(list: SignedKeyList): void {
    try {
      if (this.keyring.adopt(list)) log.info('key list from the centre taken', { department: this.department, version: list.version, keys: list.keys.length });
    } catch (err) {
      log.warn('key list refused', { department: this.department, error: errorMessage(err) });
    }
  }

  /** Answers on the audit feed; a question it cannot answer gets the reason as its answer. */
  private async answer(q: Question): Promise<void> {
    let body: unknown;
    try {
      body = await this.answerOf(q);
    } catch (err) {
      body = { error: errorMessage(err) };
    }
    await publishFeedEvent(this.publisher, this.topology, { type: 'answer', department: this.department, request: String(q.id), body }, `${this.department}:answer:${q.id}`);
  }

  private async answerOf(q: Question): Promise<unknown> {
    switch (q.request) {
      case 'verify':
        return verifyLedger(this.db, this.keyring, this.department);
      case 'quarantine': {
        const rows = await listQuarantine(this.db, { ...q.filter, limit: Math.min(Number(q.filter.limit) || 1000, 10_000) });
        // the message bodies stay here: what was set aside, and why, is what the centre shows
        return rows.map(({ body, headers, record, ...r }) => ({ ...r, record: record ? JSON.parse(record) : null }));
      }
      case 'replay':
        log.info('replay asked by the centre', { department: this.department, filter: q.filter });
        return replay([this.node()], q.filter, this.stopping.signal);
    }
  }
}

/** A ledger row as the feed carries it: numbers and text as the ledger's canonical form reads them. */
function stored(r: StoredEntry): StoredEntry {
  return {
    seq: String(r.seq), at: String(r.at), kind: r.kind, flow: r.flow, message_id: r.message_id, from_dept: r.from_dept, to_dept: r.to_dept,
    record_count: Number(r.record_count), digest: r.digest, record_keys: r.record_keys, detail: r.detail, algorithm: r.algorithm,
    prev_hash: r.prev_hash, hash: r.hash, signature: r.signature,
  };
}
