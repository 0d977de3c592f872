import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { StoredEntry } from './ledger';
import type { KeyAnnouncement } from '../envelope/key-list';

/** What a node tells the centre on the audit feed (routing key `<department>.<type>`), one JSON body per message. */
export type FeedEvent =
  | { type: 'entries'; department: string; entries: StoredEntry[]; resent?: boolean }
  | { type: 'heartbeat'; department: string; heartbeat: unknown }
  | { type: 'answer'; department: string; request: string; body: unknown }
  | { type: 'key'; department: string; announcement: KeyAnnouncement };

/** Publishes one event on the exchange's audit topic exchange, as the department. */
export function publishFeedEvent(publisher: Publisher, topology: Topology, event: FeedEvent, messageId: string): Promise<void> {
  return publisher.publish(topology.auditExchange, `${event.department}.${event.type}`, Buffer.from(JSON.stringify(event)), {
    messageId, contentType: 'application/json', type: `dxg.audit.${event.type}`, appId: 'dxg',
  }, false);
}

/**
 * Committed ledger entries, whole (chain and signature included), on the audit feed, for the
 * exchange centre to keep a checked copy of every department's ledger. The ledger in each
 * department database stays the record: the feed is best effort and skips entries while the broker
 * is away; the centre finds the gap and asks the node for them again (see node/control.ts).
 */
export function auditFeed(publisher: Publisher, topology: Topology, department: string): (entries: StoredEntry[]) => void {
  return (entries) => {
    if (!publisher.isOpen || entries.length === 0) return;
    const first = entries[0].seq;
    publishFeedEvent(publisher, topology, { type: 'entries', department, entries }, `${department}:ledger:${first}+${entries.length}`)
      .catch((err) => log.debug('ledger entries not published to the audit feed', { department, seq: first, error: errorMessage(err) }));
  };
}
