import type { Database, SqlExecutor } from '../../adapters/adapter';
import type { Sealed } from '../envelope/envelope';
import { inChunks, sql } from '../../adapters/sql';
import { now } from '../time';

/**
 * Envelopes are committed to the outbox in the same transaction as the work that produced them
 * (a page's checkpoint, a batch's apply), and leave it only once the broker has confirmed them.
 * A crash in between costs a second delivery, which the receiving inbox recognises.
 */
export interface OutboxItem {
  messageId: string;
  flow: string;
  kind: string;
  exchange: string;
  routingKey: string;
  headers: Record<string, string | number>;
  body: Buffer;
  contentEncoding?: string;
  to: string;
}

export function outboxItem(sealed: Sealed, exchange: string, routingKey: string): OutboxItem {
  return {
    messageId: sealed.meta.messageId,
    flow: sealed.meta.flow,
    kind: sealed.meta.kind,
    exchange,
    routingKey,
    headers: sealed.headers,
    body: sealed.body,
    contentEncoding: sealed.contentEncoding,
    to: sealed.meta.to,
  };
}

const COLUMNS = sql.raw('message_id, flow, kind, exchange_name, routing_key, headers, body, content_encoding, to_dept, created_at');

export async function putOutbox(tx: SqlExecutor, items: readonly OutboxItem[]): Promise<void> {
  const at = now();
  await inChunks(items, 50, async (chunk) => {
    const rows = chunk.map((o) => sql.list([o.messageId, o.flow, o.kind, o.exchange, o.routingKey, JSON.stringify(o.headers), o.body, o.contentEncoding ?? null, o.to, at]));
    await tx.execute(sql`INSERT INTO dxg_outbox (${COLUMNS}) VALUES ${sql.join(rows)}`);
  });
}

/** The oldest envelopes in the outbox (only those created before `olderThan`, an ISO time, if given). */
export async function pendingOutbox(db: Database, limit: number, olderThan?: string): Promise<OutboxItem[]> {
  const rows = await db.query<{
    message_id: string; flow: string; kind: string; exchange_name: string; routing_key: string;
    headers: string; body: Buffer; content_encoding: string | null; to_dept: string;
  }>(db.sql.limit(sql`SELECT ${COLUMNS} FROM dxg_outbox${olderThan ? sql` WHERE created_at < ${olderThan}` : sql``} ORDER BY created_at, message_id`, limit));
  return rows.map((r) => ({
    messageId: r.message_id,
    flow: r.flow,
    kind: r.kind,
    exchange: r.exchange_name,
    routingKey: r.routing_key,
    headers: JSON.parse(r.headers),
    body: Buffer.from(r.body),
    contentEncoding: r.content_encoding ?? undefined,
    to: r.to_dept,
  }));
}

export async function removeFromOutbox(db: SqlExecutor, messageIds: readonly string[]): Promise<void> {
  await inChunks(messageIds, 500, async (chunk) => {
    await db.execute(sql`DELETE FROM dxg_outbox WHERE message_id IN ${sql.list(chunk)}`);
  });
}

export async function outboxCount(db: SqlExecutor, flow?: string): Promise<number> {
  const [row] = await db.query<{ n: string | number }>(sql`SELECT count(*) AS n FROM dxg_outbox${flow ? sql` WHERE flow = ${flow}` : sql``}`);
  return Number(row.n);
}
