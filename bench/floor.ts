/**
 * Baseline C, the floor of any gateway built as Node.js processes exchanging through RabbitMQ: the
 * same rows carried the cheapest way such a process can, with none of the gateway's guarantees
 * except the broker's. The source is read by keyset pages of `batchSize` (the gateway's read, through
 * the adapter, values typed as the gateway reads them); each page is one JSON array of arrays, gzip
 * level 1 (the gateway's codec), published persistent with confirms to a quorum queue; the consumer
 * gunzips, parses, writes the page with COPY into a table of the target's shape (one statement, so
 * one transaction) and acks after the commit. No validation, signature, outbox, inbox, versions,
 * receipts or ledger. What this reaches is what the gateway could reach if all of those cost
 * nothing. With `wire: 'copy-text'` the text wire of issue 12 (direction 6) at its cheapest: each
 * page is read with COPY … TO STDOUT and travels as those lines, which the consumer streams into
 * COPY unread; with `wire: 'copy-text-kept'` the same with the least work each guarantee takes
 * (floor-kept.ts). The consumer runs in a worker thread, so the two ends use two cores as a process
 * per department does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import amqp from 'amqplib';
import { sql, type Database, type Sql } from '../adapters';
import type { BaselineResult } from './baselines';
import { copyText, SOURCE_COLUMNS } from './data';
import { KeptSource, KeptTarget, keptBooks, keptKeyring } from './floor-kept';
import { Keyring } from '../gateway/envelope/keys';
import type { Sealed } from '../gateway/envelope/envelope';
import { CostMeter, type CostReport } from './proc';
import { BROKER_URL, bulk, open, type Db } from './services';
import { countRows, exec, SOURCE_TABLE, TARGET_COLUMNS, TARGET_SQL } from './tables';
import type { SqlExecutor } from '../adapters';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const FLOOR_TABLE = 'floor_enterprise';
const WATERMARK = SOURCE_COLUMNS.indexOf('updated_at');
const KEY = SOURCE_COLUMNS.indexOf('credit_code');

export interface FloorResult extends BaselineResult {
  /** this process's CPU (source and consumer both run in it), and the servers' */
  cost: CostReport & { benchCpuSeconds: number };
}

function copyLines(rows: (string | number | boolean | null)[][]): string {
  let text = '';
  for (const row of rows) text += `${row.map(copyText).join('\t')}\n`;
  return text;
}

function lineCount(text: Buffer): number {
  let n = 0;
  for (let i = text.indexOf(10); i !== -1; i = text.indexOf(10, i + 1)) n++;
  return n;
}

export type FloorWire = 'json' | 'copy-text' | 'copy-text-kept';

interface Page {
  /** the body before gzip */
  text: string | Buffer;
  count: number;
  /** the last row's watermark and key, where the next page begins */
  last: unknown[];
}

const after = (last: unknown[] | null): Sql => (last ? sql`WHERE (updated_at, credit_code) > (${last[0]}, ${last[1]})` : sql``);

/** A page as the gateway reads it (typed values, through the adapter), as a JSON array of arrays. */
async function readRows(db: Database, last: unknown[] | null, limit: number): Promise<Page> {
  const rows = await db.query(sql`SELECT ${sql.ids(SOURCE_COLUMNS)} FROM ${sql.id(SOURCE_TABLE)} ${after(last)} ORDER BY updated_at, credit_code LIMIT ${sql.raw(String(limit))}`);
  const arrays = rows.map((r) => SOURCE_COLUMNS.map((c) => r[c]));
  const end = arrays[arrays.length - 1];
  return { text: JSON.stringify(arrays), count: arrays.length, last: end ? [end[WATERMARK], end[KEY]] : [] };
}

/**
 * A page as COPY … TO STDOUT writes it, unread. COPY takes no bound values: the watermark and key
 * go in as literals, checked to be what the bench's generator writes (a timestamp, a credit code).
 */
async function readLines(db: Database, last: unknown[] | null, limit: number): Promise<Page> {
  if (last && !(/^[\d: .-]+$/.test(String(last[0])) && /^[0-9A-Z]+$/.test(String(last[1])))) throw new Error(`floor: unexpected keyset position ${JSON.stringify(last)}`);
  const where = last ? sql.raw(`WHERE (updated_at, credit_code) > ('${String(last[0])}', '${String(last[1])}')`) : sql``;
  const chunks: Buffer[] = [];
  for await (const chunk of await bulk(db).copyOut!(sql`SELECT ${sql.ids(SOURCE_COLUMNS)} FROM ${sql.id(SOURCE_TABLE)} ${where} ORDER BY updated_at, credit_code LIMIT ${sql.raw(String(limit))}`)) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks);
  const count = lineCount(text);
  if (count === 0) return { text, count, last: [] };
  const lastLine = text.toString('utf8', text.lastIndexOf(10, text.length - 2) + 1, text.length - 1).split('\t');
  return { text, count, last: [lastLine[WATERMARK], lastLine[KEY]] };
}

export async function pipeFloor(source: Db, target: Db, admin: SqlExecutor, runId: string, expected: number, batchSize: number,
  wire: FloorWire, progress: (done: number) => void, sourceBooks?: Db): Promise<FloorResult> {
  await exec(target, [`DROP TABLE IF EXISTS ${FLOOR_TABLE}`, TARGET_SQL[target.driver].table(FLOOR_TABLE)]);
  const queue = `dxgb.${runId}.floor`;
  const reader = await open(source);
  const keysDir = mkdtempSync(join(tmpdir(), 'dxgb-floor-keys-'));
  const books = wire === 'copy-text-kept' ? await open(sourceBooks ?? source) : undefined;
  const pubConn = await amqp.connect(BROKER_URL);
  pubConn.on('error', () => undefined);
  const meter = new CostMeter(admin, [source.name, target.name, ...(sourceBooks ? [sourceBooks.name] : [])]);
  await meter.ready();
  let consumer: Worker | undefined;
  try {
    const pub = await pubConn.createConfirmChannel();
    await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    // the consumer is up and subscribed before the clock starts, as a target node started before
    const keys = keptKeyring(keysDir);
    const kept = books ? new KeptSource(books, keys, await keptBooks(books, keys, 'amr')) : undefined;
    const worker = new Worker(__filename, { workerData: { target: { driver: target.driver, url: target.url }, queue, expected, wire, keysDir } satisfies ConsumerData });
    consumer = worker;
    let ready: () => void = () => undefined;
    const subscribed = new Promise<void>((resolve) => (ready = resolve));
    const allWritten = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { written: number }) => {
        if (m.written === 0) return ready();
        progress(m.written);
        if (m.written === expected) resolve();
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`floor: the consumer exited (${code}) before all rows were written`)));
    });
    await Promise.race([subscribed, allWritten]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const read = wire === 'json' ? (after: unknown[] | null) => readRows(reader, after, batchSize) : (after: unknown[] | null) => readLines(reader, after, batchSize);
    let unconfirmed: Promise<string>[] = [];
    const confirmed = async () => {
      const ids = await Promise.all(unconfirmed);
      unconfirmed = [];
      await kept?.confirmed(ids);
    };
    const publish = (sealed: Pick<Sealed, 'body' | 'headers'> & { meta: { messageId: string } }) => {
      unconfirmed.push(new Promise<string>((resolve, reject) => {
        pub.publish('', queue, sealed.body, { persistent: true, mandatory: true, messageId: sealed.meta.messageId, headers: sealed.headers, contentEncoding: 'gzip' },
          (err) => (err ? reject(new Error(`floor: publish not confirmed: ${String(err)}`)) : resolve(sealed.meta.messageId)));
      }));
    };
    // the next page is read while this one is encoded, and encoded while the one before commits, as the gateway's extractor does
    let reading: Promise<Page> | null = read(null);
    let committing = Promise.resolve();
    while (reading) {
      const page: Page = await reading;
      if (page.count === 0) break;
      reading = page.count < batchSize ? null : read(page.last);
      if (kept) {
        const sealed = await kept.seal(page.text as Buffer, page.last);
        await committing;
        committing = kept.commit(sealed).then(() => publish(sealed.sealed));
        committing.catch(() => undefined);
      } else publish({ body: await gzipAsync(page.text, { level: 1 }), headers: {}, meta: { messageId: randomUUID() } });
      // the gateway's relay keeps up to 32 unconfirmed envelopes
      if (unconfirmed.length >= 32) await confirmed();
    }
    await committing;
    await confirmed();
    await allWritten;
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cost = meter.stop();
    await consumer.terminate();
    consumer = undefined;
    const n = await countRows(target, FLOOR_TABLE);
    if (n !== expected) throw new Error(`baseline floor: ${n} rows arrived, ${expected} expected`);
    return {
      records: n, wallSeconds: Math.round(wall * 1000) / 1000, recordsPerSecond: Math.round(n / wall),
      cost: { ...cost, benchCpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100 },
      detail: { wire, method: `keyset pages ${wire === 'json' ? 'by query → JSON' : 'by COPY TO STDOUT → their lines'}${wire === 'copy-text-kept' ? ' checked, sealed, signed, into the outbox with checkpoint and ledger' : ''} + gzip level 1 → quorum queue, confirms → ${wire === 'copy-text-kept' ? 'verified, ' : ''}gunzip${wire === 'json' ? ', JSON.parse, COPY lines' : ''}${wire === 'copy-text-kept' ? ', checked' : ''} → COPY FROM STDIN per page${wire === 'copy-text-kept' ? ' with inbox, versions, ledger and receipt' : ''}, one transaction each, ack after commit; the consumer in a worker thread (its own core, as a target node would have)` },
    };
  } finally {
    meter.stop();
    await consumer?.terminate();
    const ch = await pubConn.createChannel().catch(() => null);
    if (ch) {
      ch.on('error', () => undefined);
      await ch.deleteQueue(queue).catch(() => undefined);
    }
    await pubConn.close().catch(() => undefined);
    await reader.close().catch(() => undefined);
    await books?.close().catch(() => undefined);
    rmSync(keysDir, { recursive: true, force: true });
    await exec(target, [`DROP TABLE IF EXISTS ${FLOOR_TABLE}`]).catch(() => undefined);
  }
}

interface ConsumerData { target: Pick<Db, 'driver' | 'url'>; queue: string; expected: number; wire: FloorWire; keysDir: string }

/** The target end: one message at a time, in order, as a target node applies a queue. */
async function consume({ target, queue, expected, wire, keysDir }: ConsumerData): Promise<void> {
  const writer = await open(target);
  const keys = new Keyring(keysDir);
  const kept = wire === 'copy-text-kept' ? new KeptTarget(writer, FLOOR_TABLE, TARGET_COLUMNS, keys, await keptBooks(writer, keys, 'qs')) : undefined;
  const conn = await amqp.connect(BROKER_URL);
  const sub = await conn.createChannel();
  await sub.prefetch(4);
  const copyPage = async (body: Buffer) => {
    const page = await gunzipAsync(body);
    const text = wire === 'json' ? Buffer.from(copyLines(JSON.parse(page.toString('utf8')) as (string | number | boolean | null)[][])) : page;
    return (await bulk(writer).copyIn(FLOOR_TABLE, TARGET_COLUMNS, Readable.from([text]))).rows;
  };
  let written = 0;
  // two messages at a time, started in delivery order, as the gateway's records consumer takes them
  const running = new Set<Promise<void>>();
  let tail = Promise.resolve();
  const handle = async (msg: amqp.ConsumeMessage) => {
    const rows = kept ? await kept.apply({ messageId: msg.properties.messageId, headers: msg.properties.headers, body: msg.content }) : await copyPage(msg.content);
    sub.ack(msg);
    written += rows;
    parentPort!.postMessage({ written });
    if (written === expected) {
      await conn.close();
      await writer.close();
    }
  };
  const subscribed = sub.consume(queue, (msg) => {
    if (!msg) return;
    tail = tail.then(async () => {
      while (running.size >= 2) await Promise.race(running);
      const done: Promise<void> = handle(msg).finally(() => running.delete(done));
      running.add(done);
    });
  });
  await subscribed;
  parentPort!.postMessage({ written: 0 });
}

if (!isMainThread && (workerData as ConsumerData | undefined)?.queue) void consume(workerData as ConsumerData);
