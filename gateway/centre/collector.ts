import type { ConsumeMessage } from 'amqplib';
import type { Broker } from '../broker/connection';
import { Consumer } from '../broker/consumer';
import type { Topology } from '../broker/topology';
import type { FeedEvent } from '../ledger/feed';
import { log } from '../log';
import type { Heartbeat } from '../node/heartbeat';
import type { Alarms } from './alarms';
import type { LedgerCopy } from './ledger-copy';
import type { Monitor } from './monitor';
import type { KeyRegistry } from './registry';
import type { Asker } from './asker';

/**
 * Reads the audit feed of every department from the centre's queue: ledger entries into the copy,
 * heartbeats to the monitor, answers to the centre's requests. An event is believed only from the
 * department's own broker user (RabbitMQ validates the user-id; the topic permissions let a
 * department publish only under its own name); the entries' own signatures are checked as the copy
 * takes them.
 */
export class Collector {
  private readonly consumer: Consumer;

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    private readonly departments: ReadonlySet<string>,
    private readonly copy: LedgerCopy,
    private readonly monitor: Monitor,
    private readonly alarms: Alarms,
    private readonly registry: KeyRegistry,
    private readonly asker: Asker,
  ) {
    this.consumer = new Consumer(broker, topology.centreQueue, { prefetch: 20, concurrency: 1 }, (msg) => this.take(msg));
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }

  private async take(msg: ConsumeMessage): Promise<void> {
    let event: FeedEvent;
    try {
      event = JSON.parse(msg.content.toString('utf8')) as FeedEvent;
    } catch {
      log.warn('audit feed: a message that is not JSON, dropped', { routingKey: msg.fields.routingKey });
      return;
    }
    const d = event?.department;
    if (typeof d !== 'string' || !this.departments.has(d) || msg.properties.userId !== this.topology.user(d)) {
      log.warn('audit feed: an event not from the department it names, dropped', { department: String(d), userId: String(msg.properties.userId ?? '(none)') });
      return;
    }
    const malformed = problemOf(event);
    if (malformed) {
      log.warn('audit feed: a malformed event, dropped', { department: d, type: String(event.type), problem: malformed });
      return;
    }
    switch (event.type) {
      case 'entries': {
        await this.copy.receive(d, event.entries);
        for (const e of event.entries) {
          if (e.kind === 'dead-letter') {
            await this.alarms.raise('dead-letter', `dead-letter:${d}:${e.seq}`, `${d} took a dead letter${e.message_id ? ` (message ${e.message_id})` : ''}${e.flow ? ` of flow ${e.flow}` : ''}: ${deadReason(e.detail)}`, { department: d, flow: e.flow ?? undefined });
          }
        }
        return;
      }
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

const HEX64 = /^[0-9a-f]{64}$/;
/** Longest record key the centre indexes: a key is an identifier, not a document. */
export const KEY_MAX = 1000;

/** Why an event cannot be what its type says, or null. What a node sends always passes. */
function problemOf(event: FeedEvent): string | null {
  switch (event.type) {
    case 'entries': {
      if (!Array.isArray(event.entries) || event.entries.length === 0 || event.entries.length > 20_000) return 'entries: not a list of 1 to 20,000 entries';
      const bad = event.entries.find((e) => typeof e !== 'object' || e === null || !/^\d{1,18}$/.test(String(e.seq)) || typeof e.at !== 'string' || typeof e.kind !== 'string'
        || !HEX64.test(String(e.hash)) || !HEX64.test(String(e.prev_hash)) || typeof e.signature !== 'string' || !Number.isSafeInteger(Number(e.record_count))
        || (e.record_keys !== null && e.record_keys !== undefined && (typeof e.record_keys !== 'string' || e.record_keys.split('\n').some((k) => k.length > KEY_MAX))));
      return bad ? `entry ${String((bad as { seq?: unknown })?.seq)} is not a ledger entry (or holds a record key over ${KEY_MAX} characters)` : null;
    }
    case 'heartbeat': {
      const hb = event.heartbeat as { head?: { seq?: unknown; hash?: unknown } } | null;
      return hb && typeof hb === 'object' && hb.head && /^\d{1,18}$/.test(String(hb.head.seq)) && typeof hb.head.hash === 'string' ? null : 'heartbeat: no ledger head';
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
