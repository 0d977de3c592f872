import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { StoredEntry } from './ledger';

/**
 * Committed ledger entries, as events on the exchange's audit topic exchange (routing key
 * `<department>.<kind>`), for an exchange centre to follow all departments live. The ledger in each
 * department database stays the record: the feed is best effort and skips events while the broker is
 * away rather than holding them.
 */
export function auditFeed(publisher: Publisher, topology: Topology, department: string): (entries: StoredEntry[]) => void {
  return (entries) => {
    if (!publisher.isOpen) return;
    for (const e of entries) {
      const event = {
        department, seq: Number(e.seq), at: e.at, kind: e.kind, flow: e.flow, messageId: e.message_id, from: e.from_dept, to: e.to_dept,
        count: e.record_count, digest: e.digest, hash: e.hash,
      };
      publisher
        .publish(topology.auditExchange, `${department}.${e.kind}`, Buffer.from(JSON.stringify(event)), {
          messageId: `${department}:${e.seq}`, contentType: 'application/json', type: 'dxg.audit', appId: 'dxg',
        }, false)
        .catch((err) => log.debug('audit event not published', { department, seq: e.seq, error: errorMessage(err) }));
    }
  };
}
