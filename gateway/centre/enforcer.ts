import type { Channel } from 'amqplib';
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

/** What one round of enforcement did, for the log and the tests. */
export interface Enforced {
  version: number;
  /** flow → target pairs bound now / unbound now */
  bound: string[];
  unbound: string[];
  /** messages queued for a target that lost its grant, turned into dead letters ("grant revoked") */
  deadLettered: number;
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

  private async round(force: boolean): Promise<Enforced | null> {
    const list = await this.applications.signed();
    if (!force && list.version === this.version) return null;
    const { flows, config } = this.project;
    const governance = new Governance(await this.catalog.entries(), list, () => this.keyring.publicKey(CENTRE));
    const allowed = new Set(flows.flatMap((f) => f.targets.filter((t) => governance.cover(f, t).ok).map((t) => `${f.id} ${t.department}`)));
    const result: Enforced = { version: list.version, bound: [], unbound: [], deadLettered: 0 };
    const losing = new Set<string>();
    const gaining = new Set<string>();
    for (const d of config.departments.keys()) {
      await this.admin.setPermissions(this.topology.user(d), this.topology.permissions(d, governance.readable(flows, d).map((f) => f.id)));
    }
    const ended: string[] = [];
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
            ended.push(this.topology.flowQueue(t, f.id));
          }
        }
      }
    });
    // consumers registered under the old permissions: closed (before the drain, so none takes what is
    // drained), and they register again under the new
    await this.reconnect(new Set([...losing, ...gaining]));
    await this.setup.withChannel(async (ch) => {
      for (const queue of ended) result.deadLettered += await drain(ch, queue);
    });
    this.allowed = allowed;
    this.version = list.version;
    for (const d of config.departments.keys()) await this.sendTo(d, undefined, list);
    if (result.bound.length || result.unbound.length || result.deadLettered) log.info('grants carried out at the broker', { ...result });
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
    if (departments.size) setTimeout(() => void close().catch((err) => log.warn('closing connections again failed', { error: errorMessage(err) })), STATS_MS).unref();
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

/** Rejects everything waiting in the queue without requeueing: the broker dead-letters it to the target's dead letters. */
async function drain(ch: Channel, queue: string): Promise<number> {
  let n = 0;
  for (;;) {
    const msg = await ch.get(queue, { noAck: false });
    if (!msg) return n;
    ch.nack(msg, false, false);
    n++;
  }
}
