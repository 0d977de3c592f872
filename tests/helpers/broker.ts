import amqp from 'amqplib';
import { gunzipSync } from 'node:zlib';
import { BROKER_URL } from './exchange';

/** Envelopes as a tap queue saw them: headers and the decoded body. */
export interface Tapped {
  messageId: string;
  headers: Record<string, unknown>;
  contentEncoding?: string;
  raw: Buffer;
  body: { records: { key: string; version: string; op: string; data: Record<string, unknown> }[] };
}

/**
 * A tap: an extra queue bound to the exchange's records exchange for one route, receiving a copy of
 * every envelope, so tests can assert on what a target was actually sent.
 */
export async function tap(exchange: string, route: string): Promise<{ drain(): Promise<Tapped[]>; close(): Promise<void> }> {
  const conn = await amqp.connect(BROKER_URL);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, `dxg.${exchange}.records`, route);
  return {
    async drain() {
      const out: Tapped[] = [];
      for (;;) {
        const m = await ch.get(queue, { noAck: true });
        if (!m) return out;
        const json = m.properties.contentEncoding === 'gzip' ? gunzipSync(m.content) : m.content;
        out.push({ messageId: String(m.properties.messageId), headers: m.properties.headers ?? {}, contentEncoding: m.properties.contentEncoding, raw: m.content, body: JSON.parse(json.toString()) });
      }
    },
    async close() {
      await conn.close();
    },
  };
}

/** Publishes a message straight to a queue, as anybody with broker access could. */
export async function inject(queue: string, body: Buffer, properties: amqp.Options.Publish): Promise<void> {
  const conn = await amqp.connect(BROKER_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(queue, body, { persistent: true, ...properties });
  await ch.waitForConfirms();
  await conn.close();
}

/** Deletes an exchange's queues and exchanges (tests leave nothing behind on the shared broker). */
export async function removeTopology(exchange: string, queues: string[]): Promise<void> {
  const conn = await amqp.connect(BROKER_URL);
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
  for (const x of ['records', 'receipts', 'dead', 'audit']) await ch.deleteExchange(`dxg.${exchange}.${x}`).catch(() => undefined);
  await conn.close().catch(() => undefined);
}

/** The promise's value, or a failure naming what did not happen in time (a hang, not a speed). */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms))),
  ]);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
