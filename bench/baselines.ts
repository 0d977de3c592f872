/**
 * The two baselines the gateway is measured against, on the same rows and the same machine:
 * A, the physical limit of moving the rows between the databases (COPY … TO STDOUT piped into COPY …
 * FROM STDIN; into MariaDB, LOAD DATA LOCAL INFILE fed by the same COPY stream), and B, the broker's
 * limit for the gateway's batches (persistent, confirmed, quorum queue, acked, nothing else done).
 */
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import amqp from 'amqplib';
import { sql, type Sql } from '../adapters';
import { enterprise, generation, SOURCE_COLUMNS, wireRecord } from './data';
import { BROKER_URL, bulk, open, type Db } from './services';
import { COPY_TABLE, countRows, exec, SOURCE_TABLE, TARGET_COLUMNS, TARGET_SQL } from './tables';

export interface BaselineResult {
  records: number;
  wallSeconds: number;
  recordsPerSecond: number;
  detail: Record<string, unknown>;
}

const rate = (n: number, s: number) => Math.round(n / s);
const round = (s: number) => Math.round(s * 1000) / 1000;

/** COPY (SELECT …) TO STDOUT from the source piped into COPY … FROM STDIN of the PostgreSQL target. */
export function copyPostgres(source: Db, target: Db, expected: number): Promise<BaselineResult> {
  return copyTable('copy-pg', source, target, expected, sql`SELECT ${sql.ids(SOURCE_COLUMNS)} FROM ${sql.id(SOURCE_TABLE)}`, () => ({
    method: 'COPY TO STDOUT | COPY FROM STDIN (text format), one transaction, into a table with the same primary key',
  }));
}

/**
 * LOAD DATA LOCAL INFILE into MariaDB, the file being the source's COPY TO STDOUT stream (booleans as
 * 0/1). In the source's order (the order the gateway reads, by watermark), or sorted by the primary
 * key: InnoDB clusters rows by the key, so once the table outgrows the buffer pool, inserts in key
 * order are appends while inserts in any other order are random page writes.
 */
export function copyMariadb(source: Db, target: Db, expected: number, keyOrder = false): Promise<BaselineResult> {
  const columns = SOURCE_COLUMNS.map((c) => (c === 'is_listed' ? sql`${sql.id(c)}::int` : sql.id(c)));
  const select = sql`SELECT ${sql.join(columns)} FROM ${sql.id(SOURCE_TABLE)}${keyOrder ? sql` ORDER BY credit_code` : sql``}`;
  return copyTable('copy-my', source, target, expected, select, (warnings) => ({
    method: 'LOAD DATA LOCAL INFILE fed by COPY TO STDOUT, one transaction, into a table with the same primary key',
    order: keyOrder ? 'primary key (credit_code)' : 'source order (= the watermark order the gateway reads)', warnings,
  }));
}

/**
 * The rows of `select` on the source, streamed out by the source's bulk copy straight into the
 * target's, into a fresh table of the target's shape: nothing of the gateway in between. Timed from
 * the COPY's start to the load's end, on connections opened before.
 */
async function copyTable(part: string, source: Db, target: Db, expected: number, select: Sql,
  detail: (warnings: number) => BaselineResult['detail']): Promise<BaselineResult> {
  await exec(target, [`DROP TABLE IF EXISTS ${COPY_TABLE}`, TARGET_SQL[target.driver].table(COPY_TABLE)]);
  const src = await open(source);
  const dst = await open(target);
  let wall: number;
  let warnings: number;
  try {
    const out = bulk(src);
    if (!out.copyOut) throw new Error(`baseline ${part}: the ${source.driver} adapter cannot stream rows out`);
    const t0 = performance.now();
    ({ warnings } = await bulk(dst).copyIn(COPY_TABLE, TARGET_COLUMNS, await out.copyOut(select)));
    wall = (performance.now() - t0) / 1000;
  } finally {
    await src.close();
    await dst.close();
  }
  const n = await countRows(target, COPY_TABLE);
  await exec(target, [`DROP TABLE ${COPY_TABLE}`]);
  if (n !== expected) throw new Error(`baseline ${part}: ${n} rows arrived, ${expected} expected`);
  return { records: n, wallSeconds: round(wall), recordsPerSecond: rate(n, wall), detail: detail(warnings) };
}

/**
 * The gateway's envelopes without the gateway: the same number of records per message, the same
 * JSON shape gzip-compressed the same way, similar headers; published persistent and mandatory with
 * confirms (at most `window` unconfirmed, as the gateway's outbox relay) to a quorum queue declared
 * like the gateway's, consumed with manual acks (prefetch as the gateway's) by a second connection.
 */
export async function brokerLimit(runId: string, records: number, batchSize: number, window: number, prefetch: number,
  progress: (acked: number, messages: number) => void): Promise<BaselineResult> {
  const messages = Math.ceil(records / batchSize);
  const gen = generation(records);
  // distinct bodies for the first messages, reused round-robin after (the broker does not look inside)
  const distinct = Math.min(messages, 64);
  const bodies: { body: Buffer; count: number; sha: string }[] = [];
  let jsonBytes = 0;
  for (let m = 0; m < distinct; m++) {
    const count = Math.min(batchSize, records - m * batchSize);
    const list = [];
    for (let i = 0; i < count; i++) list.push(wireRecord(enterprise(m * batchSize + i, gen)));
    const json = Buffer.from(JSON.stringify({ records: list }));
    jsonBytes += json.length;
    const body = gzipSync(json, { level: 1 });
    bodies.push({ body, count, sha: createHash('sha256').update(body).digest('hex') });
  }
  const exchange = `dxgb.${runId}.baseline`;
  const queue = `dxgb.${runId}.baseline.q`;
  const pubConn = await amqp.connect(BROKER_URL);
  const subConn = await amqp.connect(BROKER_URL);
  pubConn.on('error', () => undefined);
  subConn.on('error', () => undefined);
  try {
    const pub = await pubConn.createConfirmChannel();
    await pub.assertExchange(exchange, 'direct', { durable: true });
    await pub.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum', 'x-dead-letter-exchange': `${exchange}.dead`, 'x-dead-letter-routing-key': 'bench',
        'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish', 'x-delivery-limit': 50,
      },
    });
    await pub.bindQueue(queue, exchange, 'bench');
    const sub = await subConn.createChannel();
    await sub.prefetch(prefetch);
    let acked = 0;
    let ackedRecords = 0;
    let lastReport = 0;
    const allAcked = new Promise<void>((resolve) => {
      void sub.consume(queue, (msg) => {
        if (!msg) return;
        sub.ack(msg);
        acked++;
        ackedRecords += Number(msg.properties.headers?.['dxg-count'] ?? 0);
        if (acked - lastReport >= 100) {
          lastReport = acked;
          progress(acked, messages);
        }
        if (acked === messages) resolve();
      });
    });
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let confirmed = 0;
      let inFlight = 0;
      let waitingDrain = false;
      const pump = () => {
        while (!waitingDrain && inFlight < window && sent < messages) {
          const b = bodies[sent % distinct];
          const count = sent === messages - 1 ? records - (messages - 1) * batchSize : batchSize;
          inFlight++;
          sent++;
          const ok = pub.publish(exchange, 'bench', b.body, {
            persistent: true, mandatory: true, messageId: randomUUID(), contentType: 'application/json', contentEncoding: 'gzip',
            type: 'dxg.records', appId: 'dxg-bench', timestamp: Math.floor(Date.now() / 1000),
            headers: {
              'dxg-kind': 'records', 'dxg-flow': 'bench', 'dxg-resource': 'enterprise.basic', 'dxg-from': 'amr', 'dxg-to': 'qs',
              'dxg-sequence': sent, 'dxg-count': count, 'dxg-sha256': b.sha, 'dxg-signature': randomUUID().repeat(3).slice(0, 88),
            },
          }, (err) => {
            if (err) return reject(new Error(`baseline publish not confirmed: ${String(err)}`));
            inFlight--;
            confirmed++;
            if (confirmed === messages) resolve();
            else pump();
          });
          if (!ok) {
            waitingDrain = true;
            pub.once('drain', () => {
              waitingDrain = false;
              pump();
            });
          }
        }
      };
      pump();
    });
    const confirmedAt = (performance.now() - t0) / 1000;
    await allAcked;
    const wall = (performance.now() - t0) / 1000;
    await sub.close().catch(() => undefined);
    await pub.deleteQueue(queue).catch(() => undefined);
    await pub.deleteExchange(exchange).catch(() => undefined);
    if (ackedRecords !== records) throw new Error(`baseline broker: ${ackedRecords} records consumed, ${records} expected`);
    const gz = bodies.reduce((a, b) => a + b.body.length, 0) / distinct;
    return {
      records, wallSeconds: round(wall), recordsPerSecond: rate(records, wall),
      detail: {
        messages, recordsPerMessage: batchSize, avgBodyBytes: Math.round(gz), avgJsonBytes: Math.round(jsonBytes / distinct),
        publishWindow: window, prefetch, allConfirmedSeconds: Math.round(confirmedAt * 100) / 100,
        messagesPerSecond: Math.round(messages / wall), megabytesPerSecond: Math.round(((gz * messages) / wall / 1e6) * 10) / 10,
      },
    };
  } finally {
    // on failure the queue may still be there: delete on a fresh channel
    const ch = await pubConn.createChannel().catch(() => null);
    if (ch) {
      ch.on('error', () => undefined);
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.deleteExchange(exchange).catch(() => undefined);
    }
    await pubConn.close().catch(() => undefined);
    await subConn.close().catch(() => undefined);
  }
}
