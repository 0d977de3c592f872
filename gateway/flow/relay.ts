import type { Database } from '../../adapters/adapter';
import { pendingOutbox, removeFromOutbox, type OutboxItem } from '../bookkeeping/outbox';
import { PublishError, Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import { errorMessage } from '../errors';
import { Backoff } from '../backoff';
import { sleep } from '../time';
import { log } from '../log';

const WINDOW = 32; // envelopes awaiting confirms at once
const BACKLOG = 64; // envelopes held in memory before producers wait
const RECOVER_CHUNK = 32;
const SWEEP_MS = 10_000;

/**
 * Moves a department's outbox to the broker: publishes with confirms, a window at a time, and
 * deletes each envelope from the outbox once confirmed. Envelopes just committed are handed over in
 * memory; at start the relay first delivers whatever a previous run left in the table, and then it
 * sweeps the table now and then for envelopes nobody handed over (a transaction that committed
 * although the answer to its COMMIT was lost, so its work was never told it succeeded).
 */
export class OutboxRelay {
  private readonly queue: OutboxItem[] = [];
  /** envelopes handed over and not yet cleared from the outbox */
  private readonly known = new Set<string>();
  private sweeper: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private confirmed: string[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];
  private spaceWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly publisher: Publisher,
    private readonly department: string,
    private readonly topology: Topology,
    /** an envelope the broker cannot route: true when it was dealt with (withheld for want of a grant) and leaves the outbox */
    private readonly unroutable: (item: OutboxItem) => Promise<boolean> = async () => false,
  ) {}

  /** Delivers what an earlier run left in the outbox, in bounded chunks. */
  async recover(): Promise<number> {
    let total = 0;
    for (;;) {
      const items = await pendingOutbox(this.db, RECOVER_CHUNK);
      if (items.length === 0) return total;
      total += items.length;
      log.info('delivering envelopes left in the outbox', { department: this.department, count: items.length });
      this.enqueue(items);
      await this.idle();
    }
  }

  /** From now on, delivers envelopes that sit in the outbox unknown to this relay. */
  sweep(): void {
    this.sweeper ??= setInterval(() => void this.sweepOnce(), SWEEP_MS).unref();
  }

  private async sweepOnce(): Promise<void> {
    try {
      const stale = (await pendingOutbox(this.db, RECOVER_CHUNK, new Date(Date.now() - SWEEP_MS).toISOString())).filter((i) => !this.known.has(i.messageId));
      if (stale.length) {
        log.warn('delivering envelopes left in the outbox by work that was not told it committed', { department: this.department, count: stale.length });
        await this.enqueue(stale);
      }
    } catch {
      // the database is away: the next sweep tries again
    }
  }

  /** Hands over committed envelopes; resolves when there is room for more (back-pressure). */
  async enqueue(items: readonly OutboxItem[]): Promise<void> {
    for (const i of items) this.known.add(i.messageId);
    this.queue.push(...items);
    this.pump();
    while (!this.stopped && this.queue.length + this.inFlight > BACKLOG) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when everything handed over is confirmed and removed from the outbox. */
  async idle(): Promise<void> {
    while (this.pending > 0) await new Promise<void>((r) => this.waiters.push(r));
    await this.flushing;
  }

  stop(): void {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < WINDOW && this.queue.length) {
      const item = this.queue.shift()!;
      this.inFlight++;
      void this.publishOne(item);
    }
  }

  private async publishOne(item: OutboxItem): Promise<void> {
    try {
      await this.publisher.publish(this.topology.currentExchange(item.exchange, this.department), item.routingKey, item.body, {
        messageId: item.messageId,
        headers: item.headers,
        contentType: 'application/json',
        contentEncoding: item.contentEncoding,
        type: `dxg.${item.kind}`,
        appId: 'dxg',
        timestamp: Math.floor(Date.now() / 1000),
      });
      this.confirmed.push(item.messageId);
      this.flush();
    } catch (err) {
      const retryable = !(err instanceof PublishError) || err.retryable;
      if (!retryable && (await this.unroutable(item).catch(() => false))) {
        this.known.delete(item.messageId);
        return;
      }
      log.warn(retryable ? 'publish not confirmed; retrying' : 'publish refused; retrying later', { messageId: item.messageId, error: errorMessage(err) });
      await sleep(retryable ? 1000 : 15000);
      this.queue.unshift(item);
    } finally {
      this.inFlight--;
      this.pump();
      this.settle();
    }
  }

  /** Removes confirmed envelopes from the outbox, batched; a failed delete is retried (a duplicate publish is harmless). */
  private flush(): void {
    this.flushing = this.flushing.then(async () => {
      while (this.confirmed.length) {
        const ids = this.confirmed.splice(0);
        const backoff = new Backoff(1000, 30_000);
        for (;;) {
          try {
            await removeFromOutbox(this.db, ids);
            for (const id of ids) this.known.delete(id);
            break;
          } catch (err) {
            if (this.stopped) return; // they stay in the outbox; the next start delivers them again, harmlessly
            log.warn('cannot clear confirmed envelopes from the outbox; retrying', { department: this.department, error: errorMessage(err) });
            await backoff.wait();
          }
        }
      }
    });
  }

  private settle(): void {
    if (this.queue.length + this.inFlight <= BACKLOG) for (const w of this.spaceWaiters.splice(0)) w();
    if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
  }
}
