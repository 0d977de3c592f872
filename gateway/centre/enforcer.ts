import type { GetMessage } from 'amqplib';
import type { BrokerAdmin } from '../broker/admin';
import type { Broker } from '../broker/connection';
import type { Publisher } from '../broker/publisher';
import { routesOf, type Topology } from '../broker/topology';
import { CENTRE } from '../config/duration';
import type { Project } from '../config/project';
import type { Keyring } from '../envelope/keys';
import { errorMessage } from '../errors';
import { Governance } from '../grants/governance';
import type { SignedGrantList } from '../grants/list';
import { log } from '../log';
import type { ControlRequest } from '../node/control';
import type { Applications } from './applications';
import type { CatalogStore } from './catalog-store';

/** RabbitMQ's default statistics interval (collect_statistics_interval), and a second to spare. */
const STATS_MS = 6000;

/** Envelopes per notice to a target of what was taken back from its queue. */
const TAKE_BACK_PAGE = 500;

/** An envelope taken back, as its (signed) headers claim it: the target checks the claims against its inbox and flows. */
export interface TakenBack {
  messageId: string;
  flow: string;
  from: string;
  kind: string;
  count: number;
  sequence: number;
  grant: string | null;
}

function takenBack(m: GetMessage): TakenBack {
  const h = (m.properties.headers ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (Number.isSafeInteger(Number(v)) && Number(v) >= 0 ? Number(v) : 0);
  return {
    messageId: String(m.properties.messageId ?? ''), flow: String(h['dxg-flow'] ?? ''), from: String(h['dxg-from'] ?? ''), kind: String(h['dxg-kind'] ?? ''),
    count: n(h['dxg-count']), sequence: n(h['dxg-sequence']), grant: typeof h['dxg-grant'] === 'string' ? h['dxg-grant'] : null,
  };
}

/** What one round of enforcement did, for the log and the tests. */
export interface Enforced {
  version: number;
  /** flow → target pairs bound now / unbound now */
  bound: string[];
  unbound: string[];
  /** messages queued for a target that lost its grant, taken back (counted as rejected: "grant revoked") */
  takenBack: number;
}

/**
 * Carries the grant list out at the broker (DESIGN §9), with the administrator's credentials only the
 * centre holds: a target without a grant in force is not bound to its source and its broker user may
 * not read its queue; when a grant ends, what waits in the queue is rejected into the target's dead
 * letters and the target's connections are closed, so its consumer subscribes again under the new
 * permissions (RabbitMQ checks them when a consumer registers). Sends each new list to every node.
 */
export class Enforcer {
  /** the targets allowed at the last round, as `flow target` */
  private allowed: Set<string> | null = null;
  /** the queues of the targets not allowed at the last round */
  private ended: { queue: string; target: string }[] = [];
  private version = -1;
  private running: Promise<Enforced | null> = Promise.resolve(null);

  constructor(
    private readonly project: Project,
    private readonly applications: Applications,
    private readonly catalog: CatalogStore,
    private readonly keyring: Keyring,
    private readonly topology: Topology,
    private readonly admin: BrokerAdmin,
    /** a connection with broker.url's administrator, for bindings and draining */
    private readonly setup: Broker,
    private readonly publisher: Publisher,
  ) {}

  /** One round at a time: a decision and the periodic check may ask together. */
  enforce(force = false): Promise<Enforced | null> {
    this.running = this.running.catch(() => null).then(() => this.round(force));
    return this.running;
  }

  /**
   * The catalog and the grants in force now: which flow targets may receive, under which grant (one
   * approved for fewer items than a target maps covers nothing). Null without a catalog (nothing is
   * governed).
   */
  async inForce(): Promise<Governance | null> {
    return this.project.catalog ? this.governedBy(await this.applications.signed()) : null;
  }

  private async governedBy(list: SignedGrantList): Promise<Governance> {
    return new Governance(await this.catalog.entries(), list, () => this.keyring.publicKey(CENTRE), this.project.config.exchange);
  }

  private async round(force: boolean): Promise<Enforced | null> {
    const list = await this.applications.signed();
    if (!force && list.version === this.version) {
      // what a consumer the broker had not yet listed held unacknowledged came back to the queue since
      const takenBack = await this.takeBack();
      return takenBack ? { version: list.version, bound: [], unbound: [], takenBack } : null;
    }
    const { flows, config } = this.project;
    const governance = await this.governedBy(list);
    const allowed = new Set(flows.flatMap((f) => f.targets.filter((t) => governance.cover(f, t).ok).map((t) => `${f.id} ${t.department}`)));
    const result: Enforced = { version: list.version, bound: [], unbound: [], takenBack: 0 };
    const losing = new Set<string>();
    const gaining = new Set<string>();
    for (const d of config.departments.keys()) {
      await this.admin.setPermissions(this.topology.user(d), this.topology.permissions(d, governance.readable(flows, d).map((f) => f.id)));
    }
    const ended: { queue: string; target: string }[] = [];
    await this.setup.withChannel(async (ch) => {
      for (const d of config.departments.keys()) {
        await this.topology.declareDepartment(ch, d, routesOf(flows), new Set(governance.readable(flows, d).map((f) => f.id)));
      }
      for (const f of routesOf(flows)) {
        for (const t of f.targets) {
          const key = `${f.id} ${t}`;
          const was = this.allowed?.has(key);
          if (allowed.has(key)) {
            if (was === false) (result.bound.push(`${f.id} → ${t}`), gaining.add(t));
          } else {
            // at the first round the centre cannot know what was bound before: it closes and drains as for a revocation
            if (was !== false) (result.unbound.push(`${f.id} → ${t}`), losing.add(t));
            ended.push({ queue: this.topology.flowQueue(t, f.id), target: t });
          }
        }
      }
    });
    this.ended = ended;
    // consumers registered under the old permissions: closed (before the queues are emptied, so none
    // takes what is taken back), and they register again under the new
    await this.reconnect(new Set([...losing, ...gaining]));
    result.takenBack = await this.takeBack();
    this.allowed = allowed;
    this.version = list.version;
    for (const d of config.departments.keys()) await this.sendTo(d, undefined, list);
    // after the list, on the same queue: the source sends a newly granted target the whole flow
    for (const pair of result.bound) {
      const [flowId, target] = pair.split(' → ');
      const flow = flows.find((f) => f.id === flowId)!;
      const grant = governance.cover(flow, flow.targets.find((t) => t.department === target)!);
      const request: ControlRequest = { request: 'granted', id: `${list.version}:${flowId}:${target}`, flow: flowId, target, grant: grant.ok ? String(grant.grant) : '' };
      await this.publisher.publish(this.topology.controlExchange, flow.source.department, Buffer.from(JSON.stringify(request)), { messageId: `centre:granted:${request.id}`, contentType: 'application/json', type: 'dxg.control' })
        .catch((err) => log.warn('grant not told to the source; run dxg run --once --full --flow there to send the target what was withheld', { flow: flowId, target, error: errorMessage(err) }));
    }
    if (result.bound.length || result.unbound.length || result.takenBack) log.info('grants carried out at the broker', { ...result });
    return result;
  }

  /**
   * Closes the departments' connections now, and once more after the broker's statistics interval:
   * its management API lists a connection only once statistics for it came in, so one opened just
   * before would be missed.
   */
  private async reconnect(departments: ReadonlySet<string>): Promise<void> {
    const close = async () => {
      for (const d of departments) await this.admin.closeConnections(this.topology.user(d), 'grants changed: reconnect under the new permissions');
    };
    await close();
    const again = async () => {
      await close();
      await this.takeBack();
    };
    if (departments.size) setTimeout(() => void again().catch((err) => log.warn('closing connections again failed', { error: errorMessage(err) })), STATS_MS).unref();
  }

  /**
   * Takes back what waits in the queues of targets without a grant: the target never reads it (not
   * even as a dead letter); it is told, by its control queue, of each envelope by its claims alone, and
   * counts its records as rejected ("grant revoked"), with a receipt to the source. A message is
   * acknowledged only once the notice is confirmed: should the centre stop between, it is taken back
   * again, and the target recognises it.
   */
  private async takeBack(): Promise<number> {
    let taken = 0;
    if (this.ended.length === 0) return 0;
    await this.setup.withChannel(async (ch) => {
      for (const { queue, target } of this.ended) {
        for (;;) {
          const batch: GetMessage[] = [];
          for (let m = await ch.get(queue, { noAck: false }); m; m = batch.length < TAKE_BACK_PAGE ? await ch.get(queue, { noAck: false }) : false) batch.push(m);
          if (batch.length === 0) break;
          const envelopes = batch.map((m) => takenBack(m));
          const request: ControlRequest = { request: 'revoked', id: `${envelopes[0].messageId}+${envelopes.length}`, envelopes };
          await this.publisher.publish(this.topology.controlExchange, target, Buffer.from(JSON.stringify(request)), { messageId: `centre:revoked:${target}:${request.id}`, contentType: 'application/json', type: 'dxg.control' });
          for (const m of batch) ch.ack(m);
          taken += batch.length;
        }
      }
    });
    return taken;
  }

  /** Sends the list to a node that holds an older one (from its heartbeat), or to every node after a change. */
  async sendTo(department: string, held: number | undefined, list?: SignedGrantList): Promise<void> {
    if (!this.project.catalog) return;
    const current = list ?? (await this.applications.signed());
    if (held !== undefined && held >= current.version) return;
    const request: ControlRequest = { request: 'grants', id: `${current.version}`, list: current };
    await this.publisher.publish(this.topology.controlExchange, department, Buffer.from(JSON.stringify(request)), { messageId: `centre:grants:${department}:${current.version}`, contentType: 'application/json', type: 'dxg.control' })
      .catch((err) => log.warn('grant list not sent; the node gets it after its next heartbeat', { department, error: errorMessage(err) }));
  }
}

