import type { Channel } from 'amqplib';
import { CENTRE } from '../config/duration';
import type { BrokerConfig, ExchangeConfig } from '../config/model';

/** What a department's broker user may do, as RabbitMQ's permission patterns. */
export interface Permissions {
  configure: string;
  write: string;
  read: string;
  /** topic permission on the audit exchange: the routing keys it may publish with */
  audit: { exchange: string; write: string; read: string };
}

/** A flow as the broker sees it: who sends it, who receives it. */
export interface FlowRoute {
  id: string;
  source: string;
  targets: string[];
}

const escape = (name: string): string => name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/**
 * Names and declarations of everything the exchange uses on the broker, namespaced by the exchange's
 * name so that several exchanges can share one RabbitMQ. Queues are quorum queues that dead-letter
 * at-least-once; exchanges and queues are durable.
 *
 * Each department publishes into exchanges of its own (`records.<dept>`, `receipts.<dept>`) and
 * reads only its own queues: RabbitMQ grants write by exchange name, so this is what lets its broker
 * user write only where it sends as itself. A target's queue of a flow is bound to the records
 * exchange of that flow's source, and to nothing else.
 */
export class Topology {
  readonly prefix: string;

  /** `withCentre`: the exchange has a centre, which asks each node through a control queue of its own */
  constructor(readonly exchange: string, private readonly broker: Pick<BrokerConfig, 'deliveryLimit'>, readonly withCentre = false) {
    this.prefix = `dxg.${exchange}`;
  }

  static of(config: Pick<ExchangeConfig, 'exchange' | 'broker' | 'centre'>): Topology {
    return new Topology(config.exchange, config.broker, config.centre !== null);
  }

  /** the exchange a department publishes its envelopes (records, key sets) into */
  recordsExchange(sender: string): string {
    return `${this.prefix}.records.${sender}`;
  }
  /** the exchange a department publishes its receipts (and resend requests) into */
  receiptsExchange(sender: string): string {
    return `${this.prefix}.receipts.${sender}`;
  }
  get deadExchange(): string {
    return `${this.prefix}.dead`;
  }
  get auditExchange(): string {
    return `${this.prefix}.audit`;
  }
  /** the exchange the centre asks nodes through (send ledger entries again, verify the ledger), by department */
  get controlExchange(): string {
    return `${this.prefix}.control`;
  }
  /** a department's queue of the centre's requests */
  controlQueue(department: string): string {
    return `${this.prefix}.${department}.control`;
  }
  /** the centre's queue: every department's audit feed (ledger entries, heartbeats, answers); no department queue has this name */
  get centreQueue(): string {
    return `${this.prefix}.${CENTRE}`;
  }
  /** The centre's broker user (`centre` is then no department's id). */
  get centreUser(): string {
    return `${this.exchange}.${CENTRE}`;
  }
  /** The shared exchanges of the first release's topology, which `dxg init` takes down. */
  get legacyExchanges(): string[] {
    return [`${this.prefix}.records`, `${this.prefix}.receipts`];
  }

  /**
   * Where an envelope committed to an outbox goes now: envelopes written by the first release name
   * a shared exchange that `dxg init` has taken down.
   */
  currentExchange(stored: string, sender: string): string {
    if (stored === `${this.prefix}.records`) return this.recordsExchange(sender);
    if (stored === `${this.prefix}.receipts`) return this.receiptsExchange(sender);
    return stored;
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

  /** The department's broker user. */
  user(department: string): string {
    return `${this.exchange}.${department}`;
  }

  /**
   * Configure nothing; write only its own exchanges (and its own routing keys on the audit feed); read
   * only its own queues — of the flows it receives, only those in `readable` when the exchange is
   * governed by a catalog (a target without a grant may not read its queue).
   */
  permissions(department: string, readable?: readonly string[]): Permissions {
    const own = escape(`${this.prefix}.${department}.`);
    const flows = readable === undefined ? ['flow\\..+'] : readable.map((f) => `flow\\.${escape(f)}`);
    return {
      configure: '^$',
      write: `^(${escape(this.recordsExchange(department))}|${escape(this.receiptsExchange(department))}|${escape(this.auditExchange)})$`,
      read: `^${own}(${[...flows, 'receipts', 'dead', 'control'].join('|')})$`,
      audit: { exchange: this.auditExchange, write: `^${escape(department)}\\.`, read: '^$' },
    };
  }

  /** The centre configures nothing, reads only its queue and writes only its requests to the nodes. */
  centrePermissions(): Omit<Permissions, 'audit'> {
    return { configure: '^$', write: `^${escape(this.controlExchange)}$`, read: `^${escape(this.centreQueue)}$` };
  }

  /** The centre's queue, bound to everything on the audit feed (a classic queue would lose entries to a broker restart). */
  async declareCentre(ch: Channel): Promise<void> {
    // a message the centre cannot take is not redelivered for ever (the node sends the entries again on request)
    await ch.assertQueue(this.centreQueue, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 } });
    await ch.bindQueue(this.centreQueue, this.auditExchange, '#');
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

  async declareExchanges(ch: Channel, departments: Iterable<string>): Promise<void> {
    for (const d of departments) {
      await ch.assertExchange(this.recordsExchange(d), 'direct', { durable: true });
      await ch.assertExchange(this.receiptsExchange(d), 'direct', { durable: true });
    }
    await ch.assertExchange(this.deadExchange, 'direct', { durable: true });
    await ch.assertExchange(this.auditExchange, 'topic', { durable: true });
    if (this.withCentre) await ch.assertExchange(this.controlExchange, 'direct', { durable: true });
  }

  /**
   * The queues a department consumes: one per flow it receives (bound to that flow's source, unless
   * `bound` leaves it out: a target without a grant), its receipts (bound to the receipts exchanges
   * of its flows' targets), its dead letters.
   */
  async declareDepartment(ch: Channel, department: string, flows: readonly FlowRoute[], bound?: ReadonlySet<string>): Promise<string[]> {
    const declared: string[] = [];
    const dead = this.deadQueue(department);
    await ch.assertQueue(dead, { durable: true, arguments: this.queueArgs(department, false) });
    await ch.bindQueue(dead, this.deadExchange, department);
    declared.push(dead);
    if (this.withCentre) {
      const control = this.controlQueue(department);
      await ch.assertQueue(control, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await ch.bindQueue(control, this.controlExchange, department);
      declared.push(control);
    }
    const receipts = this.receiptQueue(department);
    await ch.assertQueue(receipts, { durable: true, arguments: this.queueArgs(department, true) });
    // the targets of its flows answer here: receipts, and requests to send a dead letter again
    const answering = new Set(flows.filter((f) => f.source === department).flatMap((f) => f.targets));
    for (const t of answering) await ch.bindQueue(receipts, this.receiptsExchange(t), department);
    declared.push(receipts);
    for (const flow of flows.filter((f) => f.targets.includes(department))) {
      const q = this.flowQueue(department, flow.id);
      await ch.assertQueue(q, { durable: true, arguments: this.queueArgs(department, true) });
      if (!bound || bound.has(flow.id)) await ch.bindQueue(q, this.recordsExchange(flow.source), this.flowRoute(department, flow.id));
      else await ch.unbindQueue(q, this.recordsExchange(flow.source), this.flowRoute(department, flow.id));
      declared.push(q);
    }
    return declared;
  }

  /** Every queue of the exchange (for status and clean-up). */
  queues(departments: Iterable<string>, flows: readonly FlowRoute[]): string[] {
    return [...departments].flatMap((d) => [this.receiptQueue(d), this.deadQueue(d), ...(this.withCentre ? [this.controlQueue(d)] : []), ...flows.filter((f) => f.targets.includes(d)).map((f) => this.flowQueue(d, f.id))]);
  }

  /** Every exchange of the exchange, the first release's included. */
  exchanges(departments: Iterable<string>): string[] {
    return [...[...departments].flatMap((d) => [this.recordsExchange(d), this.receiptsExchange(d)]), this.deadExchange, this.auditExchange, this.controlExchange, ...this.legacyExchanges];
  }
}

export const routesOf = (flows: readonly { id: string; source: { department: string }; targets: { department: string }[] }[]): FlowRoute[] =>
  flows.map((f) => ({ id: f.id, source: f.source.department, targets: f.targets.map((t) => t.department) }));
