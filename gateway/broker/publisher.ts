import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { Broker } from './connection';

/** a nacked channel is replaced at most this often, however many nacks a queue sends */
const RENEW_MS = 1000;

export class PublishError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'PublishError';
  }
}

/**
 * Publishes persistent, mandatory messages on a confirm channel. `publish` resolves when the broker
 * has taken responsibility for the message (routed to a queue and confirmed) and rejects otherwise:
 * nacked (a full queue rejects publishes), returned unroutable, or the channel closed before the
 * confirm. It honours back-pressure: when the channel's buffer is full it waits for `drain`.
 *
 * A nacked channel is replaced by a fresh one (at most once a second), the old one closing once its
 * confirms are in. In RabbitMQ 3.10 a channel learns a quorum queue's leader at its first publish
 * there and asks that node until it has once reached the queue: a channel that first publishes
 * while the leader's node has just died (as one opened by a failover does at once) asks the dead
 * node for good, and every publish of it to that queue is nacked, while a new channel finds the new
 * leader. Publishing again after a nack is safe: a target applies a message id once.
 */
export class Publisher {
  private channel: ConfirmChannel | null = null;
  /** the connection the channel is on, where a fresh channel is opened */
  private model: ChannelModel | null = null;
  private openedAt = 0;
  /** confirms each channel awaits: a channel replaced closes once it awaits none */
  private readonly awaiting = new Map<ConfirmChannel, number>();
  private waiting: Array<() => void> = [];
  private drained: Promise<void> = Promise.resolve();
  private readonly returned = new Set<string>();
  private readonly attach = (model: ChannelModel) => this.open(model);

  /** `user`: the broker user this connection is, stated on every message as its validated AMQP user-id */
  constructor(private readonly broker: Broker, private readonly user: string) {}

  async start(): Promise<void> {
    await this.broker.attach(this.attach);
  }

  async stop(): Promise<void> {
    this.broker.detach(this.attach);
    const ch = this.channel;
    this.channel = null;
    this.model = null;
    if (ch) await ch.close().catch(() => undefined);
  }

  /** Whether a channel is open now (a feed that may drop events checks this instead of waiting). */
  get isOpen(): boolean {
    return this.channel !== null;
  }

  /** `mandatory: false` only for feeds nobody is obliged to consume (the audit exchange). */
  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish & { messageId: string }, mandatory = true): Promise<void> {
    const ch = await this.ready();
    await this.drained;
    return new Promise<void>((resolve, reject) => {
      this.awaiting.set(ch, (this.awaiting.get(ch) ?? 0) + 1);
      const ok = ch.publish(exchange, routingKey, body, { ...options, userId: this.user, persistent: true, mandatory }, (err) => {
        this.confirmed(ch);
        const unroutable = this.returned.delete(options.messageId);
        if (unroutable) reject(new PublishError(`no queue is bound to ${exchange} for '${routingKey}' (run: dxg init)`, false));
        else if (err) reject(new PublishError(`broker did not accept message ${options.messageId}: ${errorMessage(err)}`, true));
        else resolve();
      });
      if (!ok) {
        this.drained = new Promise((r) => ch.once('drain', r));
      }
    });
  }

  /** Resolves with an open channel, waiting across reconnections. */
  private ready(): Promise<ConfirmChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    return new Promise((resolve) => this.waiting.push(() => resolve(this.channel!)));
  }

  private async open(model: ChannelModel): Promise<void> {
    this.model = model;
    this.openedAt = Date.now();
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => log.warn('publish channel error', { error: errorMessage(err) }));
    ch.on('return', (msg: Message) => {
      if (msg.properties.messageId) this.returned.add(String(msg.properties.messageId));
    });
    ch.on('nack', () => this.renew(ch));
    ch.on('close', () => {
      this.awaiting.delete(ch);
      if (this.channel !== ch) return;
      this.channel = null;
      this.drained = Promise.resolve();
      // the broker closed the channel but not the connection (a publish to an exchange not there, 404):
      // a new channel after a pause; a lost connection's reconnection opens its own
      setTimeout(() => {
        if (this.model === model && !this.channel) this.open(model).catch(() => undefined);
      }, RENEW_MS).unref();
    });
    const before = this.channel;
    this.channel = ch;
    this.drained = Promise.resolve();
    if (before) this.confirmed(before, 0);
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w();
  }

  /** Publishes from now on go on a fresh channel of the same connection (see the class). */
  private renew(ch: ConfirmChannel): void {
    const model = this.model;
    if (this.channel !== ch || !model || Date.now() - this.openedAt < RENEW_MS) return;
    log.warn('publish nacked; publishing on a fresh channel', { user: this.user });
    // a connection lost meanwhile: its reconnection opens the next channel
    this.open(model).catch((err) => log.warn('cannot open a fresh publish channel', { error: errorMessage(err) }));
  }

  /** Counts a confirm (or none) in; a channel replaced is closed once its last confirm is in. */
  private confirmed(ch: ConfirmChannel, count = 1): void {
    const left = (this.awaiting.get(ch) ?? 0) - count;
    this.awaiting.set(ch, left);
    if (left <= 0 && ch !== this.channel) {
      this.awaiting.delete(ch);
      ch.close().catch(() => undefined);
    }
  }
}
