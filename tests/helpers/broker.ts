import amqp from 'amqplib';
import { gunzipSync } from 'node:zlib';
import { departmentUrl } from '../../gateway/broker/credentials';
import { Topology } from '../../gateway/broker/topology';
import { loadProject } from '../../gateway/config/project';
import { HEADERS } from '../../gateway/envelope/envelope';
import { recordsFromRows, type WireRecord } from '../../gateway/flow/records';
import { BROKER_URL, type TestExchange } from './exchange';

/** Envelopes as a tap queue saw them: headers and the decoded body. */
export interface Tapped {
  messageId: string;
  headers: Record<string, unknown>;
  contentEncoding?: string;
  raw: Buffer;
  /** the records of the body, as objects whatever its layout */
  body: { records: WireRecord[] };
}

/** The records of an envelope's body (compressed or not, laid out in rows or as objects), as objects. */
export function bodyRecords(headers: Record<string, unknown> | undefined, content: Buffer, contentEncoding?: string): WireRecord[] {
  const parsed = JSON.parse((contentEncoding === 'gzip' ? gunzipSync(content) : content).toString());
  if (headers?.[HEADERS.layout] !== 'rows') return parsed.records;
  // what was sent, as it was declared: the tap has no flow of its own to hold it against
  const decoded = recordsFromRows(parsed, { indicators: new Set(parsed.indicators ?? []), key: parsed.key ?? [], flow: 'tapped' });
  if (!decoded.ok) throw new Error(`tapped envelope's rows cannot be read: ${decoded.reason}`);
  return decoded.value;
}

/**
 * A tap: an extra queue bound to a source department's records exchange for one route, receiving a
 * copy of every envelope, so tests can assert on what a target was actually sent.
 */
export async function tap(exchange: TestExchange, source: string, route: string): Promise<{ drain(): Promise<Tapped[]>; close(): Promise<void> }> {
  const conn = await amqp.connect(BROKER_URL);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, topologyOf(exchange).topology.recordsExchange(source), route);
  return {
    async drain() {
      const out: Tapped[] = [];
      for (;;) {
        const m = await ch.get(queue, { noAck: true });
        if (!m) return out;
        const { headers = {}, contentEncoding } = m.properties;
        out.push({ messageId: String(m.properties.messageId), headers, contentEncoding, raw: m.content, body: { records: bodyRecords(headers, m.content, contentEncoding) } });
      }
    },
    async close() {
      await conn.close();
    },
  };
}

/** The exchange's configuration and broker names. */
function topologyOf(exchange: TestExchange) {
  const { config } = loadProject(exchange.config).project!;
  return { config, topology: Topology.of(config) };
}

/** The broker URL as one department's own user: what its node connects with. */
export function departmentBrokerUrl(exchange: TestExchange, department: string): string {
  const { config, topology } = topologyOf(exchange);
  return departmentUrl(config, department, topology.user(department));
}

/**
 * Publishes as one department could with its own broker credentials: into its own records or
 * receipts exchange, with its validated user-id. What a department (or anyone holding its
 * credentials) can inject.
 */
export async function publishAs(exchange: TestExchange, department: string, into: 'records' | 'receipts', route: string, body: Buffer, properties: amqp.Options.Publish & { messageId: string }): Promise<void> {
  const { topology } = topologyOf(exchange);
  const conn = await amqp.connect(departmentBrokerUrl(exchange, department));
  try {
    const ch = await conn.createConfirmChannel();
    const target = into === 'records' ? topology.recordsExchange(department) : topology.receiptsExchange(department);
    ch.publish(target, route, body, { persistent: true, userId: topology.user(department), ...properties });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

/** Publishes a message straight to a queue, as the broker's administrator could. */
export async function inject(queue: string, body: Buffer, properties: amqp.Options.Publish): Promise<void> {
  const conn = await amqp.connect(BROKER_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(queue, body, { persistent: true, ...properties });
  await ch.waitForConfirms();
  await conn.close();
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
