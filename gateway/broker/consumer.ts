import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { Broker } from './connection';

export interface ConsumerOptions {
  /** unacknowledged messages the broker hands over at once */
  prefetch: number;
  /** messages handled at the same time (they start in delivery order) */
  concurrency: number;
  /** messages that must be handled alone, after everything before them and before anything after */
  exclusive?: (msg: ConsumeMessage) => boolean;
}

/**
 * Consumes one queue with manual acks. The handler returns once the message's outcome is durable
 * (applied, rejected, or stored as a dead letter); only then is it acked. Messages start in delivery
 * order, a few at a time. A message whose channel died meanwhile is not acked: the broker redelivers
 * it and the inbox recognises it.
 */
export class Consumer {
  private channel: Channel | null = null;
  private tag: string | null = null;
  /** dispatching, in delivery order: resolves once the last message has started */
  private tail: Promise<void> = Promise.resolve();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly attach = (model: ChannelModel) => this.open(model);

  constructor(
    private readonly broker: Broker,
    readonly queue: string,
    private readonly options: ConsumerOptions,
    private readonly handler: (msg: ConsumeMessage, signal: AbortSignal) => Promise<void>,
  ) {}

  async start(): Promise<void> {
    await this.broker.attach(this.attach);
  }

  /**
   * Stops taking new messages and lets the ones being handled finish; with `now`, also interrupts
   * handlers waiting for their database (those messages stay unacked and are delivered again).
   */
  async stop(now = false): Promise<void> {
    this.stopped = true;
    this.broker.detach(this.attach);
    const ch = this.channel;
    if (ch && this.tag) await ch.cancel(this.tag).catch(() => undefined);
    if (now) this.abort.abort();
    await this.tail;
    await Promise.all(this.running);
    this.channel = null;
    if (ch) await ch.close().catch(() => undefined);
  }

  private async open(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => log.warn('consumer channel error', { queue: this.queue, error: errorMessage(err) }));
    ch.on('close', () => {
      if (this.channel === ch) this.channel = null;
    });
    await ch.prefetch(this.options.prefetch);
    this.channel = ch;
    try {
      const { consumerTag } = await ch.consume(this.queue, (msg) => {
        if (!msg) return; // cancelled by the broker (queue deleted); a reconnection re-subscribes
        this.tail = this.tail.then(() => this.dispatch(ch, msg));
      });
      this.tag = consumerTag;
    } catch (err) {
      if (!/ACCESS_REFUSED|403/.test(errorMessage(err))) throw err;
      // a target without a grant in force: the centre closes the connection when one is approved, and this subscribes again
      log.warn('not allowed to read the queue (no grant in force for it); the other queues go on', { queue: this.queue });
    }
  }

  /** Starts a message once there is room for it; an exclusive one runs alone, to its end. */
  private async dispatch(ch: Channel, msg: ConsumeMessage): Promise<void> {
    if (this.options.exclusive?.(msg)) {
      await Promise.all(this.running);
      await this.handle(ch, msg);
      return;
    }
    while (this.running.size >= this.options.concurrency) await Promise.race(this.running);
    const done: Promise<void> = this.handle(ch, msg).finally(() => this.running.delete(done));
    this.running.add(done);
  }

  private async handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    if (this.abort.signal.aborted) return; // left unacked: redelivered after the channel closes
    try {
      await this.handler(msg, this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) return;
      // not done: back to the queue; the broker dead-letters it after the delivery limit
      log.error('message handling failed; returned to the queue', { queue: this.queue, error: errorMessage(err) });
      if (this.channel === ch) ch.nack(msg, false, true);
      return;
    }
    if (this.channel === ch) ch.ack(msg);
  }
}

/** What a batch handler makes of each message it was given, in the same order: null when done, else why not. */
export type Outcomes = (Error | null)[];

/**
 * A handler of one message made from a handler of many: for a consumer whose concurrency lets all its
 * prefetched messages start, so that they reach `handle` together (in delivery order) and share its
 * work. Those that start while a batch runs make the next batch. Each message's own outcome settles
 * its promise: the consumer then acks it, or returns it to the queue, alone, as with any handler.
 */
export function batched(handle: (msgs: ConsumeMessage[], signal: AbortSignal) => Promise<Outcomes>): (msg: ConsumeMessage, signal: AbortSignal) => Promise<void> {
  let waiting: { msg: ConsumeMessage; settle: (failure: Error | null) => void }[] = [];
  let running = false;
  const run = async (signal: AbortSignal): Promise<void> => {
    // the messages that came in the same read from the socket start in the same tick: wait for them
    await new Promise((resolve) => setImmediate(resolve));
    while (waiting.length) {
      const batch = waiting;
      waiting = [];
      const outcomes = await handle(batch.map((b) => b.msg), signal).catch((err: unknown) => batch.map(() => (err instanceof Error ? err : new Error(String(err)))));
      batch.forEach((b, i) => b.settle(outcomes[i] === null ? null : outcomes[i] ?? new Error('the batch handler gave this message no outcome')));
    }
    running = false;
  };
  return (msg, signal) => new Promise<void>((resolve, reject) => {
    waiting.push({ msg, settle: (failure) => (failure ? reject(failure) : resolve()) });
    if (!running) {
      running = true;
      void run(signal);
    }
  });
}
