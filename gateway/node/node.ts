import type { ConsumeMessage } from 'amqplib';
import type { Database } from '../../adapters/adapter';
import { connect } from '../../adapters';
import { Consumer } from '../broker/consumer';
import type { Broker } from '../broker/connection';
import type { Publisher } from '../broker/publisher';
import type { Topology } from '../broker/topology';
import type { Project } from '../config/project';
import type { Department, Flow } from '../config/model';
import { dismissItems, type QuarantineRow } from '../bookkeeping/quarantine';
import { noteAnchor } from '../bookkeeping/anchors';
import { removeFromOutbox, type OutboxItem } from '../bookkeeping/outbox';
import { sql } from '../../adapters/sql';
import type { Governance } from '../grants/governance';
import { keepGrants, type SignedGrantList } from '../grants/list';
import type { TakenBack } from '../centre/enforcer';
import { purgeFlow } from '../flow/purge';
import { requireBookkeeping } from '../bookkeeping/schema';
import { EnvelopeError, HEADERS, open, type EnvelopeMeta } from '../envelope/envelope';
import type { Keyring } from '../envelope/keys';
import { Applier } from '../flow/apply';
import { bindSource, bindTarget, CatalogError } from '../flow/binding';
import { claimsOf, DeadLetters, type Raw } from '../flow/dead-letters';
import { Extractor } from '../flow/extract';
import { ReceiptBook } from '../flow/receipts';
import { Reconciler } from '../flow/reconcile';
import { Resender } from '../flow/resend';
import { Resyncer } from '../flow/resync';
import { retrying } from '../flow/retry';
import { OutboxRelay } from '../flow/relay';
import { Ledger, restores } from '../ledger/ledger';
import { auditFeed } from '../ledger/feed';
import { log } from '../log';
import { ControlDesk } from './control';
import type { FigureSources } from './figures';
import { HeartbeatSender } from './heartbeat';
import { NodeMetrics } from './metrics';
import { Readiness } from './ready';

export interface NodeContext {
  project: Project;
  broker: Broker;
  publisher: Publisher;
  keyring: Keyring;
  topology: Topology;
  /** the catalog and the grant list in force: which targets may receive (shared by the nodes of a process) */
  governance: Governance;
}

/**
 * One department's exchange node (前置机): its database, the flows it sends (extractors), the flows
 * it receives (appliers, one queue each), its receipts and dead letters, and its outbox relay.
 */
export class DepartmentNode {
  readonly extractors = new Map<string, Extractor>();
  readonly reconcilers = new Map<string, Reconciler>();
  readonly appliers = new Map<string, Applier>();
  readonly receipts: ReceiptBook;
  readonly relay: OutboxRelay;
  /** what its /ready and /metrics tell (see NodeEndpoint) */
  readonly readiness: Readiness;
  readonly metrics: NodeMetrics;
  private readonly consumers: Consumer[] = [];
  private readonly deadLetters: DeadLetters;
  private readonly ledger: Ledger;
  private readonly resender: Resender;
  private readonly resyncer: Resyncer;
  /** with a centre: its requests, and this node's heartbeat to it */
  private readonly control?: ControlDesk;
  private readonly heartbeat?: HeartbeatSender;
  /** the newest restore declared in the ledger (restores are declared before a node starts) */
  private restoredAt: string | null = null;

  private constructor(
    readonly department: Department,
    readonly db: Database,
    private readonly ctx: NodeContext,
  ) {
    this.ledger = new Ledger(ctx.keyring, department.id, auditFeed(ctx.publisher, ctx.topology, department.id));
    this.deadLetters = new DeadLetters(db, this.ledger, { flows: new Set(ctx.project.flows.map((f) => f.id)), departments: new Set(ctx.project.config.departments.keys()) });
    this.relay = new OutboxRelay(db, ctx.publisher, department.id, ctx.topology, (item) => this.withhold(item));
    const sent = new Map(ctx.project.flows.filter((f) => f.source.department === department.id).map((f) => [f.id, f]));
    this.receipts = new ReceiptBook(db, this.ledger, sent, this.deadLetters);
    const flows = new Map(ctx.project.flows.map((f) => [f.id, f]));
    this.resender = new Resender(department.id, db, this.ledger, ctx.keyring, ctx.topology, ctx.publisher, flows, this.deadLetters, ctx.project.config.broker.messageMaxBytes);
    this.resyncer = new Resyncer(department.id, db, this.ledger, flows, this.extractors, this.deadLetters);
    this.readiness = new Readiness(db, ctx.broker);
    const me = department.id;
    const queues = [...this.receives.map((f) => ({ queue: ctx.topology.flowQueue(me, f.id), flow: f.id })),
      { queue: ctx.topology.receiptQueue(me), flow: '' }, { queue: ctx.topology.deadQueue(me), flow: '' }];
    const figures: FigureSources = {
      department: me, db, project: ctx.project, sends: this.sends, receives: this.receives, extractors: this.extractors, broker: ctx.broker, queues, readiness: this.readiness,
    };
    this.metrics = new NodeMetrics(figures);
    const centre = ctx.project.config.centre;
    if (centre) {
      this.control = new ControlDesk(me, db, ctx.keyring, ctx.topology, ctx.publisher, ctx.broker, () => this);
      this.heartbeat = new HeartbeatSender(figures, () => this.ledger.load(db).then(() => this.ledger.head), ctx.publisher, ctx.topology, centre.heartbeatMs,
        () => ({ keyList: ctx.keyring.keyList?.version ?? 0, grantList: ctx.governance.version }), () => this.restoredAt);
    }
  }

  /** Connects, checks every flow against the catalog, and prepares (not yet starts) the node. */
  static async open(department: Department, ctx: NodeContext): Promise<DepartmentNode> {
    const db = await connect(department.database, department.id);
    try {
      await requireBookkeeping(db, department.id);
      const node = new DepartmentNode(department, db, ctx);
      await node.ledger.load(db);
      if (ctx.project.config.centre) node.restoredAt = (await restores(db)).pop()?.seq ?? null;
      await node.bind();
      return node;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  get sends(): Flow[] {
    return this.ctx.project.flows.filter((f) => f.source.department === this.department.id);
  }

  get receives(): Flow[] {
    return this.ctx.project.flows.filter((f) => f.targets.some((t) => t.department === this.department.id));
  }

  private async bind(): Promise<void> {
    const { project, keyring, topology } = this.ctx;
    const problems: string[] = [];
    const me = this.department.id;
    for (const flow of this.sends) {
      try {
        const binding = await bindSource(this.db, flow, project.indicators.get(flow.resource)!);
        for (const w of binding.warnings) log.warn(w, { department: me, flow: flow.id });
        const context = {
          db: this.db, binding, keyring, ledger: this.ledger, department: me, topology, relay: this.relay, messageMaxBytes: project.config.broker.messageMaxBytes, envelopeFormat: project.config.broker.envelopeFormat,
          governance: this.ctx.governance,
        };
        this.extractors.set(flow.id, new Extractor(context));
        this.reconcilers.set(flow.id, new Reconciler(context));
      } catch (err) {
        if (err instanceof CatalogError) problems.push(...err.problems);
        else throw err;
      }
    }
    for (const flow of this.receives) {
      const target = flow.targets.find((t) => t.department === me)!;
      try {
        const binding = await bindTarget(this.db, flow, target, project.indicators.get(flow.resource)!);
        this.appliers.set(flow.id, new Applier({
          db: this.db, binding, keyring, ledger: this.ledger, department: me, topology, deadLetters: this.deadLetters, relay: this.relay,
        }));
      } catch (err) {
        if (err instanceof CatalogError) problems.push(...err.problems);
        else throw err;
      }
    }
    if (problems.length) throw new CatalogError(problems);
  }

  /** Delivers what a previous run left in the outbox, then starts consuming. */
  async start(): Promise<void> {
    const { broker, topology, project } = this.ctx;
    const { prefetch } = project.config.broker;
    await this.endGrants();
    await this.relay.recover();
    this.relay.sweep();
    await this.resyncer.resume();
    const me = this.department.id;
    // batches apply two at a time (the version guard makes their order irrelevant); a key set's parts
    // must each see everything before them, so they run alone
    const records = { prefetch, concurrency: Math.min(2, prefetch), exclusive: (msg: ConsumeMessage) => msg.properties.headers?.['dxg-kind'] === 'reconcile' };
    for (const [flowId, applier] of this.appliers) {
      this.consumers.push(new Consumer(broker, topology.flowQueue(me, flowId), records, (msg, signal) => this.onMessage(msg, signal, (m) => applier.admits(m), (m, p, raw) => this.metrics.run('apply', flowId, () => applier.handle(m, p, raw, signal)))));
    }
    // receipts, and the targets' requests: send a dead letter again, or the whole flow to a restored target
    const answers = (m: EnvelopeMeta) => (m.kind === 'resend' ? this.resender : m.kind === 'resync' ? this.resyncer : this.receipts);
    this.consumers.push(new Consumer(broker, topology.receiptQueue(me), { prefetch, concurrency: 1 }, (msg, signal) => this.onMessage(msg, signal, (m) => answers(m).admits(m), (m, p, raw) => this.metrics.run('receipts', m.flow, () => answers(m).handle(m, p, raw, signal)))));
    this.consumers.push(new Consumer(broker, topology.deadQueue(me), { prefetch: 1, concurrency: 1 }, (msg, signal) => this.onBrokerDeadLetter(msg, signal)));
    for (const c of this.consumers) await c.start();
    await this.control?.start();
    this.heartbeat?.start();
    await this.readiness.takingWork();
  }

  /**
   * Stops consuming and lets the work in hand finish (a cycle's page, a message), waiting at most
   * `graceMs` before interrupting it (unfinished work is redone after a restart: nothing is lost);
   * then lets the outbox drain briefly and closes.
   */
  async stop(now = false, graceMs = 10_000): Promise<void> {
    this.readiness.draining();
    this.resyncer.stop();
    await this.heartbeat?.stop();
    await this.control?.stop(now);
    const finishing = Promise.all([
      ...this.consumers.map((c) => c.stop()),
      ...[...this.extractors.values()].map((e) => e.idle()),
      ...[...this.reconcilers.values()].map((r) => r.idle()),
    ]);
    const grace = now ? 0 : graceMs;
    const finished = await Promise.race([finishing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), grace).unref())]);
    if (!finished) {
      log.warn('work in hand not finished in time; interrupting it (it is redone after restart)', { department: this.department.id });
      await Promise.all(this.consumers.map((c) => c.stop(true)));
    }
    if (!now) await Promise.race([this.relay.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
    this.relay.stop();
    await this.db.close().catch(() => undefined);
  }

  private async onMessage(
    msg: ConsumeMessage,
    signal: AbortSignal,
    admit: (meta: EnvelopeMeta) => string | null,
    next: (meta: EnvelopeMeta, payload: unknown, raw: Raw) => Promise<void>,
  ): Promise<void> {
    const raw: Raw = { headers: (msg.properties.headers ?? {}) as Record<string, unknown>, contentEncoding: msg.properties.contentEncoding, body: msg.content };
    let opened;
    try {
      // RabbitMQ has checked the user-id against the connection it came on: the broker user of the department that claims to send it
      const sender = (meta: EnvelopeMeta) => (msg.properties.userId === this.ctx.topology.user(meta.from) ? null
        : `published by broker user '${String(msg.properties.userId ?? '(none)')}', not by '${this.ctx.topology.user(meta.from)}' of department '${meta.from}' it claims to come from`);
      opened = await open(this.ctx.keyring, { messageId: msg.properties.messageId, ...raw }, this.ctx.project.config.broker.messageMaxBytes, (m) => sender(m) ?? admit(m));
    } catch (err) {
      if (!(err instanceof EnvelopeError)) throw err;
      return this.deadLetters.store(claimsOf(msg.properties.messageId, raw.headers), raw, err.reason, signal);
    }
    const { head, from } = opened.meta;
    if (head) await retrying(signal, `note the ledger head of ${from}`, () => noteAnchor(this.db, from, head), this.db, true);
    await next(opened.meta, opened.payload, raw);
  }

  /** Messages the broker dead-lettered itself (delivery limit reached): stored like any dead letter. */
  private async onBrokerDeadLetter(msg: ConsumeMessage, signal: AbortSignal): Promise<void> {
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    const death = (headers['x-death'] as Array<{ reason?: string; queue?: string; count?: number }> | undefined)?.[0];
    const reason = death
      ? `dead-lettered by the broker from ${death.queue}: ${death.reason === 'delivery_limit' ? `delivery limit reached (${this.ctx.project.config.broker.deliveryLimit} deliveries)` : death.reason}`
      : `dead-lettered by the broker: ${String(headers['x-first-death-reason'] ?? 'unknown reason')}`;
    await this.deadLetters.store(claimsOf(msg.properties.messageId, headers), { headers, contentEncoding: msg.properties.contentEncoding, body: msg.content }, reason, signal);
  }

  /** The centre's grant list, newer than the one held: taken, its ended grants carried out here, then kept for the next start. */
  async takeGrants(list: SignedGrantList): Promise<void> {
    const { governance, project } = this.ctx;
    if (!governance.governed) return;
    governance.adopt(list);
    await this.endGrants();
    if (governance.grantList) keepGrants(project.config.dirs.keys, governance.grantList);
  }

  /**
   * Each ended grant of this department is carried out once (the ledger says which were): on_end purge
   * removes what its flows delivered, keep keeps it; both are entered in the ledger. A target still
   * covered by another grant keeps its data.
   */
  private async endGrants(): Promise<void> {
    const me = this.department.id;
    const ended = this.ctx.governance.grantList?.grants.filter((g) => g.department === me && g.ended) ?? [];
    if (ended.length === 0) return;
    const rows = await this.db.query<{ flow: string; detail: string }>(sql`SELECT flow, detail FROM dxg_ledger WHERE kind = 'grant-end' AND to_dept = ${me}`);
    const done = new Set(rows.map((r) => `${r.flow} ${(JSON.parse(r.detail) as { grant?: string }).grant}`));
    for (const g of ended) {
      for (const flow of this.receives.filter((f) => f.resource === g.resource && !done.has(`${f.id} ${g.id}`))) {
        const applier = this.appliers.get(flow.id)!;
        const target = flow.targets.find((t) => t.department === me)!;
        const still = this.ctx.governance.cover(flow, target);
        const purge = g.onEnd === 'purge' && !still.ok;
        const result = await this.db.transaction(async (tx) => {
          const r = purge ? await purgeFlow(tx, applier.binding) : { removed: 0, unmatched: 0 };
          await this.ledger.append(tx, [{
            kind: 'grant-end', flow: flow.id, from: flow.source.department, to: me, count: r.removed,
            detail: { grant: g.id, ended: g.ended!.as, reason: g.ended!.reason, onEnd: g.onEnd, ...(purge ? r : {}), ...(still.ok && still.grant ? { stillUnder: still.grant } : {}) },
          }]);
          return r;
        });
        log.info(`grant ${g.ended!.as}: ${purge ? 'what it delivered is purged' : 'delivered data kept'}`, { department: me, flow: flow.id, grant: g.id, ...result });
      }
    }
  }

  /**
   * Envelopes the centre took back from this department's queues when their grant ended (it never
   * reads them): each is counted as rejected, "grant revoked", with a receipt to its source. Claims
   * that name no flow this department receives from that source are logged and left.
   */
  async takenBack(envelopes: readonly TakenBack[], signal: AbortSignal): Promise<void> {
    for (const e of envelopes) {
      const flow = this.receives.find((f) => f.id === e.flow && f.source.department === e.from);
      if (!flow || e.kind !== 'records' || !e.messageId) {
        log.warn('envelope taken back by the centre not counted: not records of a flow received here', { department: this.department.id, messageId: e.messageId, flow: e.flow, kind: e.kind });
        continue;
      }
      const meta: EnvelopeMeta = {
        kind: 'records', messageId: e.messageId, flow: flow.id, resource: flow.resource, from: e.from, to: this.department.id, sequence: e.sequence, count: e.count,
        ...(e.grant ? { grant: e.grant } : {}),
      };
      await this.appliers.get(flow.id)!.refuseTakenBack(meta, `grant revoked${e.grant ? ` (${e.grant})` : ''}: taken back from this department's queue when the grant ended`, signal);
    }
  }

  /**
   * Closes these open quarantine items of this department for good, with the reason, in the ledger
   * (one entry per flow and stage); returns how many were open.
   */
  async dismiss(ids: readonly number[], reason: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const items = await dismissItems(tx, ids);
      const groups = new Map<string, QuarantineRow[]>();
      for (const i of items) {
        const group = `${i.flow ?? ''}\n${i.stage}`;
        groups.set(group, [...(groups.get(group) ?? []), i]);
      }
      await this.ledger.append(tx, [...groups.values()].map((group) => ({
        kind: 'dismiss' as const, flow: group[0].flow ?? undefined, from: group[0].from_dept ?? undefined, to: group[0].to_dept ?? undefined, count: group.length,
        keys: group.map((i) => i.record_key ?? ''), detail: { stage: group[0].stage, items: group.map((i) => i.id), reason },
      })));
      return items.length;
    });
  }

  /**
   * A target of a flow this department sends was granted the resource: it gets the whole flow when
   * it misses records, as the records withheld from it before (and the rows from before it joined)
   * were never sent, and a grant that ended meanwhile took back what waited in its queue or purged
   * what it held. The grant list that names the grant came first on the same control queue.
   */
  async granted(flowId: string, target: string, grant: string): Promise<void> {
    const flow = this.sends.find((f) => f.id === flowId);
    const t = flow?.targets.find((x) => x.department === target);
    if (!flow || !t || !this.ctx.governance.cover(flow, t).ok) {
      log.warn('grant notice not acted on: not a target this department sends to under a grant in force', { department: this.department.id, flow: flowId, target, grant });
      return;
    }
    const missing = await this.missedSinceResync(flow, target);
    if (!missing) return;
    log.info(`target granted the resource: sending it the whole flow, as ${missing}`, { flow: flowId, target, grant });
    await this.resyncer.resyncTarget(flowId, target, { reason: `grant ${grant} approved: the whole flow, as ${missing}`, grant });
  }

  /**
   * Why the target misses records of the flow since its last resync (the only way they reach it
   * again), or null: records were withheld from it, or a grant of it for the resource ended (what
   * waited in its queue was taken back unread; on_end purge removed what it held).
   */
  private async missedSinceResync(flow: Flow, target: string): Promise<string | null> {
    const rows = await this.db.query<{ seq: string; at: string; kind: string; to_dept: string | null; detail: string | null }>(sql`SELECT seq, at, kind, to_dept, detail FROM dxg_ledger
      WHERE flow = ${flow.id} AND (kind = 'withhold' OR (kind IN ('extract', 'replay') AND detail LIKE ${'%"withheld":{"%'}) OR (kind = 'replay' AND to_dept = ${target}))`);
    let withheld = -1n;
    let resynced = { seq: -1n, at: '' };
    for (const r of rows) {
      const d = r.detail ? (JSON.parse(r.detail) as { stage?: string; withheld?: Record<string, number> }) : {};
      if ((r.kind === 'withhold' && r.to_dept === target) || (d.withheld?.[target] ?? 0) > 0) withheld = BigInt(r.seq) > withheld ? BigInt(r.seq) : withheld;
      if (r.kind === 'replay' && r.to_dept === target && d.stage === 'resync' && BigInt(r.seq) > resynced.seq) resynced = { seq: BigInt(r.seq), at: r.at };
    }
    if (withheld > resynced.seq) return 'records were withheld from it before';
    const ended = (this.ctx.governance.grantList?.grants ?? []).filter((g) => g.resource === flow.resource && g.department === target && g.ended && g.ended.at > resynced.at);
    if (ended.length) return `grant ${ended.map((g) => `${g.id} ${g.ended!.as}${g.onEnd === 'purge' ? ' (purged)' : ''}`).join(', ')} ended since it last had the whole flow`;
    return null;
  }

  /** Why this department may not receive the flow now (no grant in force), or null. */
  receiveRefusal(flowId: string): string | null {
    const flow = this.receives.find((f) => f.id === flowId);
    const cover = flow ? this.ctx.governance.cover(flow, flow.targets.find((t) => t.department === this.department.id)!) : null;
    return cover && !cover.ok ? cover.problem : null;
  }

  /**
   * An envelope the broker cannot route to a target that holds no grant any more: it leaves the
   * outbox as withheld, in the ledger, so the counts still add up. Any other stays and is tried again.
   */
  private async withhold(item: OutboxItem): Promise<boolean> {
    if (item.kind !== 'records' && item.kind !== 'reconcile') return false;
    const flow = this.sends.find((f) => f.id === item.flow);
    const target = flow?.targets.find((t) => t.department === item.to);
    if (!flow || !target) return false;
    const cover = this.ctx.governance.cover(flow, target);
    if (cover.ok) return false;
    const count = item.kind === 'records' ? Number(item.headers[HEADERS.count] ?? 0) : 0;
    await this.db.transaction(async (tx) => {
      await removeFromOutbox(tx, [item.messageId]);
      await this.ledger.append(tx, [{
        kind: 'withhold', flow: flow.id, messageId: item.messageId, from: this.department.id, to: item.to, count,
        detail: { reason: `not routed: ${cover.problem}`, envelope: item.kind },
      }]);
    });
    log.warn('envelope withheld: its target holds no grant in force', { flow: flow.id, to: item.to, messageId: item.messageId, records: count });
    return true;
  }

  /**
   * Asks the senders of these dead letters to send them again, once the cause is fixed (a public key
   * installed, a mapping corrected): see Resender. The ledger shows the new attempt. Returns the ids
   * asked for, and why others could not be.
   */
  replayDeadLetters(items: QuarantineRow[]): Promise<{ sent: string[]; refused: string[] }> {
    return this.resender.request(items);
  }
}
