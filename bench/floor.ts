/**
 * Baseline C, the floor of any gateway built as Node.js processes exchanging through RabbitMQ: the
 * same rows carried the cheapest way such a process can, with none of the gateway's guarantees
 * except the broker's. The source is read by keyset pages of `batchSize` (the gateway's read) with
 * every value left as PostgreSQL's text; each page is one JSON array of arrays, gzip level 1 (the
 * gateway's codec), published persistent with confirms to a quorum queue; the consumer gunzips,
 * parses, writes the page as COPY text into a table of the target's shape in its own transaction,
 * and acks after the commit. No validation, signature, outbox, inbox, versions, receipts or ledger.
 * What this reaches is what the gateway could reach if all of those cost nothing. With `wire:
 * 'copy-text'` the page travels as the target's COPY lines instead (the text wire of issue 12,
 * direction 6): the consumer streams the bytes into COPY as they come. The consumer runs
 * in a worker thread, so the two ends use two cores as a process per department does.
 */
import { randomUUID } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import amqp from 'amqplib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BaselineResult } from './baselines';
import { SOURCE_COLUMNS } from './data';
import { CostMeter, type CostReport } from './proc';
import { BROKER_URL, type Db } from './services';
import { countRows, exec, SOURCE_TABLE, TARGET_COLUMNS, TARGET_SQL } from './tables';
import type { SqlExecutor } from '../adapters';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const FLOOR_TABLE = 'floor_enterprise';
/** PostgreSQL's text of every value, unparsed: it goes back into COPY as it came */
const asText = { getTypeParser: () => (value: string) => value };

export interface FloorResult extends BaselineResult {
  /** this process's CPU (source and consumer both run in it), and the servers' */
  cost: CostReport & { benchCpuSeconds: number };
}

const ESCAPE = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyValue = (v: string | null) => (v === null ? '\\N' : v.replace(ESCAPE, (c) => ESCAPES[c]));

function copyLines(rows: (string | null)[][]): string {
  let text = '';
  for (const row of rows) text += `${row.map(copyValue).join('\t')}\n`;
  return text;
}

function lineCount(text: Buffer): number {
  let n = 0;
  for (let i = text.indexOf(10); i !== -1; i = text.indexOf(10, i + 1)) n++;
  return n;
}

export type FloorWire = 'json' | 'copy-text';

export async function pipeFloor(source: Db, target: Db, admin: SqlExecutor, runId: string, expected: number, batchSize: number,
  wire: FloorWire, progress: (done: number) => void): Promise<FloorResult> {
  await exec(target, [`DROP TABLE IF EXISTS ${FLOOR_TABLE}`, TARGET_SQL[target.driver].table(FLOOR_TABLE)]);
  const queue = `dxgb.${runId}.floor`;
  const reader = new pg.Client({ connectionString: source.url, types: asText });
  const pubConn = await amqp.connect(BROKER_URL);
  pubConn.on('error', () => undefined);
  await reader.connect();
  const meter = new CostMeter(admin, [source.name, target.name]);
  await meter.ready();
  let consumer: Worker | undefined;
  try {
    const pub = await pubConn.createConfirmChannel();
    await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const columns = SOURCE_COLUMNS.map((c) => `"${c}"`).join(', ');
    const copy = `COPY ${FLOOR_TABLE} (${TARGET_COLUMNS.join(', ')}) FROM STDIN`;
    // the consumer is up and subscribed before the clock starts, as a target node started before
    const worker = new Worker(__filename, { workerData: { targetUrl: target.url, queue, expected, copy, wire } satisfies ConsumerData });
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
    const read = (after: string[] | null) => reader.query<string[]>({
      text: `SELECT ${columns} FROM ${SOURCE_TABLE}${after ? ' WHERE (updated_at, credit_code) > ($1, $2)' : ''} ORDER BY updated_at, credit_code LIMIT ${batchSize}`,
      values: after ?? [], rowMode: 'array',
    });
    let unconfirmed: Promise<void>[] = [];
    // the next page is read while this one is encoded and published, as the gateway reads ahead
    let reading: ReturnType<typeof read> | null = read(null);
    while (reading) {
      const rows: string[][] = (await reading).rows;
      if (rows.length === 0) break;
      const last = rows[rows.length - 1];
      reading = rows.length < batchSize ? null : read([last[SOURCE_COLUMNS.indexOf('updated_at')], last[SOURCE_COLUMNS.indexOf('credit_code')]]);
      const body = await gzipAsync(wire === 'json' ? JSON.stringify(rows) : copyLines(rows), { level: 1 });
      unconfirmed.push(new Promise<void>((resolve, reject) => {
        pub.publish('', queue, body, { persistent: true, mandatory: true, messageId: randomUUID(), contentEncoding: 'gzip' },
          (err) => (err ? reject(new Error(`floor: publish not confirmed: ${String(err)}`)) : resolve()));
      }));
      // the gateway's relay keeps up to 32 unconfirmed envelopes
      if (unconfirmed.length >= 32) {
        await Promise.all(unconfirmed);
        unconfirmed = [];
      }
    }
    await Promise.all(unconfirmed);
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
      detail: { wire, method: `keyset pages as text → ${wire === 'json' ? 'JSON' : 'COPY lines'} + gzip level 1 → quorum queue, confirms → gunzip${wire === 'json' ? ', JSON.parse, COPY lines' : ''} → COPY FROM STDIN per page, one transaction each, ack after commit; the consumer in a worker thread (its own core, as a target node would have)` },
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
    await reader.end().catch(() => undefined);
    await exec(target, [`DROP TABLE IF EXISTS ${FLOOR_TABLE}`]).catch(() => undefined);
  }
}

interface ConsumerData { targetUrl: string; queue: string; expected: number; copy: string; wire: FloorWire }

/** The target end: one message at a time, in order, as a target node applies a queue. */
async function consume({ targetUrl, queue, expected, copy, wire }: ConsumerData): Promise<void> {
  const writer = new pg.Client({ connectionString: targetUrl });
  await writer.connect();
  const conn = await amqp.connect(BROKER_URL);
  const sub = await conn.createChannel();
  await sub.prefetch(4);
  let written = 0;
  let applying = Promise.resolve();
  const subscribed = sub.consume(queue, (msg) => {
    if (!msg) return;
    applying = applying.then(async () => {
      const page = await gunzipAsync(msg.content);
      let text: Buffer;
      let count: number;
      if (wire === 'json') {
        const rows = JSON.parse(page.toString('utf8')) as (string | null)[][];
        text = Buffer.from(copyLines(rows));
        count = rows.length;
      } else {
        text = page;
        count = lineCount(page);
      }
      await writer.query('BEGIN');
      const stream = writer.query(copyFrom(copy));
      stream.end(text);
      await finished(stream);
      await writer.query('COMMIT');
      sub.ack(msg);
      written += count;
      parentPort!.postMessage({ written });
      if (written === expected) {
        await conn.close();
        await writer.end();
      }
    });
  });
  await subscribed;
  parentPort!.postMessage({ written: 0 });
}

if (!isMainThread && (workerData as ConsumerData | undefined)?.copy) void consume(workerData as ConsumerData);
