import amqp, { Channel, ChannelModel, RecoveringChannelModel } from 'amqplib';
import { readFileSync } from 'node:fs';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import { maskText } from '../mask';
import { brokerUrls, connectTarget, nodeAddress } from './urls';

export type Attach = (model: ChannelModel) => Promise<void>;

/**
 * One broker connection per process that reconnects by itself. Components (publishers, consumers)
 * register an `attach` that opens their channels; it runs on every (re)connection, so a broker
 * restart costs a pause, not the process.
 */
export class Broker {
  private readonly attachments = new Set<Attach>();
  private current: ChannelModel | null = null;
  private closing = false;

  private constructor(private readonly model: RecoveringChannelModel) {}

  /**
   * `url` is broker.url: one URL, or the nodes of a cluster separated by commas. amqplib's recovery
   * retries the one address object it was given and reads it again on each attempt, so the object
   * moves to the next node of the list whenever an attempt is scheduled: a node that died is left
   * for the next one (at start too), without a reconnect loop of our own.
   * `patient`: keep trying to reach the broker forever, also at start (long-running nodes);
   * otherwise give up after a few seconds with a clear error (one-shot commands).
   */
  static async connect(url: string, label: string, patient = false, ca?: string): Promise<Broker> {
    const nodes = brokerUrls(url);
    let at = 0;
    const target = connectTarget(nodes[0]);
    const model = await amqp.connect(target, {
      // amqps: the broker's certificate is verified, against this authority when one is configured
      ...(ca ? { ca: [readCa(ca)] } : {}),
      clientProperties: { connection_name: `dxg ${label}` },
      // a one-shot command tries every node of the list twice before it gives up
      recovery: { initialDelay: 200, maxDelay: 5000, initialMaxRetries: patient ? Infinity : Math.max(4, 2 * nodes.length - 1), maxRetries: Infinity, waitForConnect: false },
    });
    const broker = new Broker(model);
    model.on('connect', (m: ChannelModel) => {
      if (nodes.length > 1) log.info('broker connected', { connection: label, node: nodeAddress(nodes[at]) });
      void broker.connected(m);
    });
    model.on('disconnect', (err: Error) => {
      broker.current = null;
      if (!broker.closing && !/CONNECTION_FORCED/.test(errorMessage(err))) log.warn('broker connection lost; reconnecting', { node: nodeAddress(nodes[at]), error: errorMessage(err) });
    });
    model.on('reconnect-scheduled', ({ attempt, delay, error }: { attempt: number; delay: number; error: Error }) => {
      const failed = nodes[at];
      at = (at + 1) % nodes.length;
      Object.assign(target, connectTarget(nodes[at]));
      if (attempt === 1 && /CONNECTION_FORCED/.test(errorMessage(error))) {
        // closed on purpose (the centre after a change of grants, an operator): not an outage
        log.info('the broker closed the connection; reconnecting', { connection: label, reason: errorMessage(error) });
      } else if (attempt === 1 || attempt % 10 === 0) {
        log.warn('broker unreachable; retrying', { attempt, delayMs: delay, node: nodeAddress(failed), ...(nodes.length > 1 ? { next: nodeAddress(nodes[at]) } : {}), error: errorMessage(error) });
      }
    });
    model.on('blocked', (reason: string) => log.warn('broker blocks publishing (resource alarm)', { reason }));
    model.on('unblocked', () => log.info('broker unblocked publishing'));
    model.on('error', (err: Error) => log.warn('broker connection error', { error: errorMessage(err) }));
    model.on('handler-error', (err: Error) => log.error('broker event handler failed', { error: errorMessage(err) }));
    try {
      await model.waitForConnect();
    } catch (err) {
      const where = nodes.length > 1 ? `any of ${nodes.map((n) => maskText(n.toString())).join(', ')}` : maskText(nodes[0].toString());
      throw new DxgError('DXG_BROKER', `cannot connect to RabbitMQ at ${where}: ${errorMessage(err)}`, undefined, { cause: err });
    }
    return broker;
  }

  /** Registers a component; it is attached now (if connected) and after every reconnection. */
  async attach(fn: Attach): Promise<void> {
    this.attachments.add(fn);
    if (this.current) await fn(this.current);
  }

  detach(fn: Attach): void {
    this.attachments.delete(fn);
  }

  /** A short-lived channel for declarations and checks; closed after use. */
  async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const ch = await this.model.createChannel();
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.attachments.clear();
    await this.model.close().catch(() => undefined);
  }

  private async connected(model: ChannelModel): Promise<void> {
    this.current = model;
    for (const fn of this.attachments) {
      try {
        await fn(model);
      } catch (err) {
        log.error('broker channel setup failed', { error: errorMessage(err) });
      }
    }
  }
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new DxgError('DXG_CONFIG', `cannot read broker.ca ${file}: ${errorMessage(err)}`);
  }
}
