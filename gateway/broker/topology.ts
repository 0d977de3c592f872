import type { Channel } from 'amqplib';
import type { BrokerConfig } from '../config/model';

/**
 * Names and declarations of everything the exchange uses on the broker, namespaced by the exchange's
 * name so that several exchanges can share one RabbitMQ. Queues are quorum queues that dead-letter
 * at-least-once; exchanges and queues are durable.
 */
export class Topology {
  readonly prefix: string;

  constructor(exchange: string, private readonly broker: BrokerConfig) {
    this.prefix = `dxg.${exchange}`;
  }

  get recordsExchange(): string {
    return `${this.prefix}.records`;
  }
  get receiptsExchange(): string {
    return `${this.prefix}.receipts`;
  }
  get deadExchange(): string {
    return `${this.prefix}.dead`;
  }
  get auditExchange(): string {
    return `${this.prefix}.audit`;
  }

  /** queue of one flow's envelopes for one target department */
  flowQueue(department: string, flow: string): string {
    return `${this.prefix}.${department}.flow.${flow}`;
  }
  flowRoute(department: string, flow: string): string {
    return `${department}.${flow}`;
  }
  receiptQueue(department: string): string {
    return `${this.prefix}.${department}.receipts`;
  }
  deadQueue(department: string): string {
    return `${this.prefix}.${department}.dead`;
  }

  private queueArgs(department: string, deadLettered: boolean): Record<string, unknown> {
    const args: Record<string, unknown> = { 'x-queue-type': 'quorum' };
    if (deadLettered) {
      Object.assign(args, {
        'x-dead-letter-exchange': this.deadExchange,
        'x-dead-letter-routing-key': department,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-delivery-limit': this.broker.deliveryLimit,
      });
    }
    return args;
  }

  async declareExchanges(ch: Channel): Promise<void> {
    await ch.assertExchange(this.recordsExchange, 'direct', { durable: true });
    await ch.assertExchange(this.receiptsExchange, 'direct', { durable: true });
    await ch.assertExchange(this.deadExchange, 'direct', { durable: true });
    await ch.assertExchange(this.auditExchange, 'topic', { durable: true });
  }

  /** The queues a department consumes: one per flow it receives, its receipts, its dead letters. */
  async declareDepartment(ch: Channel, department: string, inboundFlows: string[]): Promise<string[]> {
    const declared: string[] = [];
    const dead = this.deadQueue(department);
    await ch.assertQueue(dead, { durable: true, arguments: this.queueArgs(department, false) });
    await ch.bindQueue(dead, this.deadExchange, department);
    declared.push(dead);
    const receipts = this.receiptQueue(department);
    await ch.assertQueue(receipts, { durable: true, arguments: this.queueArgs(department, true) });
    await ch.bindQueue(receipts, this.receiptsExchange, department);
    declared.push(receipts);
    for (const flow of inboundFlows) {
      const q = this.flowQueue(department, flow);
      await ch.assertQueue(q, { durable: true, arguments: this.queueArgs(department, true) });
      await ch.bindQueue(q, this.recordsExchange, this.flowRoute(department, flow));
      declared.push(q);
    }
    return declared;
  }
}
