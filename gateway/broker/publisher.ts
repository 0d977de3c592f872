import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { errorMessage } from '../errors';
import { log } from '../log';
import type { Broker } from './connection';

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
 */
export class Publisher {
  private channel: ConfirmChannel | null = null;
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
      const ok = ch.publish(exchange, routingKey, body, { ...options, userId: this.user, persistent: true, mandatory }, (err) => {
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
    const ch = await model.createConfirmChannel();
    ch.on('error', (err: Error) => log.warn('publish channel error', { error: errorMessage(err) }));
    ch.on('return', (msg: Message) => {
      if (msg.properties.messageId) this.returned.add(String(msg.properties.messageId));
    });
    ch.on('close', () => {
      if (this.channel === ch) this.channel = null;
      this.drained = Promise.resolve();
    });
    this.channel = ch;
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w();
  }
}
