import amqp from 'amqplib';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../../gateway/demo/random';
import { sleep } from '../../gateway/time';
import { waitFor } from '../helpers/broker';
import type { FaultExchange } from './harness';
import type { NodeProcess } from './nodes';
import type { PrivateBroker } from './private-broker';
import type { TextRow } from './registry';
import { ConcurrentWriter, type WriterOptions } from './writer';

/**
 * The faults, one scenario per case. Each leaves the exchange running; the suite then waits for it
 * to converge and checks the end state.
 */
export interface CaseContext {
  fx: FaultExchange;
  rand: Random;
  broker: PrivateBroker;
  /** what the case did, for the closing table */
  note(faults: string, killsRestarts: string): void;
}

/** What a scenario leaves for the end checks. */
export interface CaseOutcome {
  /** rows hard-deleted at the source, as they were just before */
  gone?: Map<string, TextRow>;
  /** convergence also waits for a reconciliation begun after this time (ISO) */
  reconciledAfter?: string;
}

export const RECORDS = 100_000;

/** A line in the case's faults.log (kept with the node logs). */
function record(fx: FaultExchange, line: string): void {
  appendFileSync(join(fx.dir, 'faults.log'), `${new Date().toISOString()} ${line}\n`);
}

/** Inserts `n` rows in chunks while the flow runs, so that extraction goes on across the faults. */
async function trickle(fx: FaultExchange, n: number, chunk: number, pauseMs: number): Promise<void> {
  for (let done = 0; done < n; done += chunk) {
    await fx.load(Math.min(chunk, n - done), chunk);
    await sleep(pauseMs);
  }
}

/** Kills `node` (SIGKILL) at random moments with work in flight until `wanted` such kills, restarting it each time. */
async function killRepeatedly(
  ctx: CaseContext,
  node: NodeProcess,
  wanted: number,
  inFlight: () => Promise<string | null>,
  upMs: [number, number],
): Promise<{ kills: number; midFlow: number }> {
  const { fx, rand } = ctx;
  let midFlow = 0;
  let kills = 0;
  while (midFlow < wanted && kills < wanted * 3) {
    await sleep(rand.between(...upMs));
    const doing = await inFlight();
    await node.kill();
    kills++;
    if (doing) midFlow++;
    record(fx, `SIGKILL #${kills} of ${node.label}: ${doing ?? 'nothing in flight'}`);
    await sleep(rand.between(0, 1000));
    node.launch();
    // now and then a kill while it is still starting (recovering its outbox, subscribing)
    if (kills % 3 === 2) {
      await sleep(rand.between(100, 700));
      await node.kill();
      kills++;
      record(fx, `SIGKILL #${kills} of ${node.label} while starting`);
      node.launch();
    }
    await node.ready();
  }
  return { kills, midFlow };
}

const describePending = (p: { behind: number; outbox: number; awaitingReceipt: number }) =>
  p.behind || p.outbox || p.awaitingReceipt ? `${p.behind} rows behind, ${p.outbox} in the outbox, ${p.awaitingReceipt} awaiting receipt` : null;

/** 1. The source node SIGKILLed at random points while it extracts, publishes and records receipts. */
export async function sourceKills(ctx: CaseContext): Promise<void> {
  const { fx } = ctx;
  await fx.load(RECORDS * 0.4);
  await fx.startNodes();
  const loading = trickle(fx, RECORDS * 0.6, 2000, 600);
  const { kills, midFlow } = await killRepeatedly(ctx, fx.source, 6, async () => describePending(await fx.pending()), [300, 2500]);
  await loading;
  ctx.note(`SIGKILL source node ${kills}× (${midFlow} mid-flow)`, `${kills}/${fx.source.starts - 1}`);
}

/** 2. The target nodes SIGKILLed while they apply (everything is queued for them first, so they always have work). */
export async function targetKills(ctx: CaseContext): Promise<void> {
  const { fx } = ctx;
  await fx.load(RECORDS);
  await fx.source.start();
  await fx.whenExtracted();
  await fx.target.start();
  const openTransactions = async () => {
    const p = await fx.pending();
    return p.awaitingReceipt ? `${await fx.targetCount()} rows at qs, ${p.awaitingReceipt} messages unapplied, ${await fx.qsSessions(true)} transaction(s) open at qs` : null;
  };
  const { kills, midFlow } = await killRepeatedly(ctx, fx.target, 5, openTransactions, [200, 1500]);
  ctx.note(`SIGKILL target nodes ${kills}× (${midFlow} mid-apply)`, `${kills}/${fx.target.starts - 1}`);
}

/** 3. The broker stopped and started again while messages flow; the nodes must reconnect by themselves. */
export async function brokerRestarts(ctx: CaseContext): Promise<void> {
  const { fx, rand, broker } = ctx;
  await fx.load(RECORDS);
  await fx.startNodes();
  const restarts = 2;
  for (let i = 1; i <= restarts; i++) {
    await fx.whenTargetHolds(RECORDS * (0.15 + 0.35 * (i - 1)));
    const down = rand.between(3000, 8000);
    record(fx, `broker restart #${i}: stopping with ${await fx.targetCount()} rows applied, down for ${Math.round(down)} ms`);
    await broker.restart(down);
    record(fx, `broker restart #${i}: up again`);
  }
  if (!fx.source.running || !fx.target.running) throw new Error('a node died with the broker');
  ctx.note(`RabbitMQ stopped and started ${restarts}× mid-flow; nodes never restarted`, `0/0 (broker ${restarts}/${restarts})`);
}

/** 4. The target databases unreachable for 30 s: messages wait in their queues, none is dead-lettered. */
export async function databaseOutage(ctx: CaseContext): Promise<void> {
  const { fx, broker } = ctx;
  const outageMs = 30_000;
  await fx.load(RECORDS);
  await fx.startNodes();
  await fx.whenTargetHolds(RECORDS * 0.2);
  const cutAt = Date.now();
  for (const p of fx.proxies) p.cut();
  // a COMMIT already at the server still lands; once the server has dropped the node's last connection, nothing more can
  await waitFor('the qs database to drop the target node\'s connections', async () => (await fx.qsSessions()) === 0, outageMs / 2);
  const held = await fx.targetCount();
  record(fx, `outage: target databases cut off with ${held} rows applied at qs`);
  await sleep(cutAt + outageMs / 2 - Date.now());
  const queued = await queueDepth(broker, fx, 'qs');
  await sleep(cutAt + outageMs - Date.now());
  const during = await fx.targetCount();
  const refused = fx.proxies.reduce((n, p) => n + p.refused, 0);
  for (const p of fx.proxies) p.restore();
  record(fx, `outage over: ${refused} connection attempts refused, ${queued} messages queued for qs mid-outage, qs rows ${held} → ${during}`);
  if (during !== held) throw new Error(`rows changed at qs while its database was unreachable (${held} → ${during}): the outage was not real`);
  if (queued === 0) throw new Error('no messages waited in the queue during the outage: the case did not test what it should');
  if (!fx.target.running) throw new Error('the target node died during the outage');
  ctx.note(`target DBs unreachable ${outageMs / 1000} s (${refused} connects refused, ${queued} msgs queued)`, '0/0');
}

async function queueDepth(broker: PrivateBroker, fx: FaultExchange, department: string): Promise<number> {
  const conn = await amqp.connect(broker.url);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(`dxg.${fx.ex.name}.${department}.flow.registry`)).messageCount;
  } finally {
    await conn.close();
  }
}

/** 5. A business system writing while the flow polls: long, late-committing transactions, updates, deletes. */
export async function concurrentWriter(ctx: CaseContext, options: Pick<WriterOptions, 'softDeletes' | 'hardDeletes'>): Promise<CaseOutcome> {
  const { fx, rand } = ctx;
  await fx.load(RECORDS);
  await fx.startNodes();
  const writer = new ConcurrentWriter(fx.src, rand, fx.keys, (n) => fx.generate(n), { longSessions: 3, shortSessions: 3, longSleepMs: [2000, 6000], ...options });
  await writer.start();
  await sleep(30_000);
  const s = await writer.stop();
  record(fx, `writer: ${JSON.stringify(s)}`);
  if (writer.errors.length) throw new Error(`the writer failed: ${writer.errors.slice(0, 3).join('; ')}`);
  const deletes = options.softDeletes || options.hardDeletes ? `, ${s.softDeleted} soft/${s.undeleted} un/${s.hardDeleted} hard deletes` : '';
  ctx.note(`writer: ${s.committed} txns, ${s.late} late-committing (${s.lateRows} rows), ${s.updated} updates, ${s.inserted} inserts${deletes}`, '0/0');
  // a reconciliation that walks the table from a second after the last delete committed (the ledger's clock: ISO, UTC)
  return { gone: writer.hardDeletedRows, reconciledAfter: options.hardDeletes ? new Date(Date.now() + 1000).toISOString() : undefined };
}
