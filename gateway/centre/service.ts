import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { connect, createDatabase } from '../../adapters';
import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import { BrokerAdmin } from '../broker/admin';
import { Broker } from '../broker/connection';
import { brokerPassword } from '../broker/credentials';
import { Publisher } from '../broker/publisher';
import { Topology } from '../broker/topology';
import { withCredentials } from '../broker/urls';
import { CENTRE } from '../config/duration';
import type { Project } from '../config/project';
import { Keyring } from '../envelope/keys';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import { Alarms } from './alarms';
import { Archiver } from './archive';
import { Asker } from './asker';
import { buildApi } from './api';
import { Collector } from './collector';
import { Journal } from './journal';
import { KeyRegistry } from './registry';
import { LedgerCopy } from './ledger-copy';
import { SignatureChecks } from './signatures';
import { CentreMetrics } from './metrics';
import { Monitor } from './monitor';
import { createCentreSchema } from './schema';
import { Verifier } from './verify';
import { Applications } from './applications';
import { WorkingCalendar } from './calendar';
import { CatalogStore } from './catalog-store';
import { Enforcer } from './enforcer';

/**
 * The exchange centre (交换中心, DESIGN §8): one service beside the exchange, never on its data path.
 * It holds the broker's management credentials (to set up its own broker user, and later to carry
 * out grants); it reads the audit feed as that user and asks nodes through their control queues.
 */
export class Centre {
  private ticker: NodeJS.Timeout | null = null;
  private ticking: Promise<void> = Promise.resolve();

  private constructor(
    readonly db: Database,
    private readonly broker: Broker,
    private readonly publisher: Publisher,
    private readonly collector: Collector,
    readonly monitor: Monitor,
    private readonly api: FastifyInstance,
    private readonly archiver: Archiver,
    /** archive entries older than this (null: never) */
    private readonly archiveAfterMs: number | null,
    private readonly tls: boolean,
    readonly applications: Applications,
    private readonly enforcer: Enforcer,
    private readonly adminBroker: Broker,
    private readonly grantsCheckMs: number,
    private readonly alarms: Alarms,
  ) {}

  private archivedAt = 0;
  private analyzedAt = 0;
  private grantsCheckedAt = 0;
  /** the centre's start carries the list out whole */
  private grantsForcedAt = Date.now();

  static async start(project: Project): Promise<Centre> {
    const { config } = project;
    const centre = config.centre;
    if (!centre) throw new DxgError('DXG_CONFIG', `${config.doc.display} names no centre: add centre: (docs/centre.md)`);
    const keyring = new Keyring(config.dirs.keys);
    if (keyring.generate([CENTRE]).length) log.info('the centre\'s key pair was created', { dir: config.dirs.keys });
    keyring.privateKey(CENTRE);
    const db = await openDatabase(centre.database);
    const closing: (() => Promise<void>)[] = [() => db.close()];
    try {
      await createCentreSchema(db);
      const topology = Topology.of(config);
      const user = topology.centreUser;
      const admin = BrokerAdmin.of(config.broker);
      await admin.putUser(user, brokerPassword(config, CENTRE, true));
      await admin.setPermissions(user, topology.centrePermissions());
      // declared as dxg init declares, with broker.url's credentials (the centre's own user configures
      // nothing); the connection stays open: grants are carried out with them (bindings, draining)
      const setup = await Broker.connect(config.broker.url, 'centre setup', false, config.broker.ca);
      closing.push(() => setup.close());
      await setup.withChannel((ch) => topology.declareExchanges(ch, config.departments.keys()));
      await setup.withChannel((ch) => topology.declareCentre(ch)).catch(async (err) => {
        if (!/PRECONDITION_FAILED/.test(errorMessage(err))) throw err;
        // declared by an earlier release with other arguments: what it holds the nodes send again on request
        log.warn('the centre\'s queue had other arguments; declared anew', { queue: topology.centreQueue });
        await admin.deleteQueue(topology.centreQueue);
        await setup.withChannel((ch) => topology.declareCentre(ch));
      });
      const broker = await Broker.connect(withCredentials(config.broker.url, user, brokerPassword(config, CENTRE)), 'centre', true, config.broker.ca);
      closing.push(() => broker.close());
      const publisher = new Publisher(broker, user);
      await publisher.start();
      const alarms = new Alarms(db, centre.alarms.webhook, centre.alarms.webhookRetryMs);
      const journal = new Journal(db, keyring);
      const registry = new KeyRegistry(db, config, keyring, journal, publisher, topology);
      await registry.importFolder();
      const copy = new LedgerCopy(db, keyring, alarms);
      const monitor = new Monitor(db, project, copy, alarms, keyring, publisher, topology, registry);
      const asker = new Asker(db, publisher, topology, monitor);
      const collector = new Collector(broker, topology, new Set(config.departments.keys()), copy, monitor, alarms, registry, asker, new SignatureChecks(keyring));
      const catalog = new CatalogStore(db, journal);
      const applications = new Applications(db, config, catalog, journal, keyring, WorkingCalendar.read(centre.approval.calendar), centre.approval.answerWithin);
      const enforcer = new Enforcer(project, applications, catalog, keyring, topology, admin, setup, publisher);
      if (project.catalog) {
        await catalog.publish(project.catalog, `${CENTRE} (start)`);
        await enforcer.enforce(true);
        monitor.grantList = (d, held) => enforcer.sendTo(d, held);
      }
      const api = await buildApi({
        db, project, monitor, alarms, journal, verifier: new Verifier(db, project, asker, alarms), asker, registry, metrics: new CentreMetrics(db, monitor), catalog, applications, enforcer,
        ready: async () => {
          const reasons: string[] = [];
          await db.query(sql`SELECT 1`).catch((err) => reasons.push(`database: ${errorMessage(err)}`));
          if (!publisher.isOpen) reasons.push('broker: not connected (reconnecting)');
          return { ready: reasons.length === 0, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
        },
      });
      closing.push(() => api.close());
      await listen(api, centre.listen);
      await collector.start();
      const self = new Centre(db, broker, publisher, collector, monitor, api, new Archiver(db, config, keyring, journal), centre.archive?.afterMs ?? null, centre.tls !== null,
        applications, enforcer, setup, project.catalog ? centre.approval.checkMs : 0, alarms);
      self.startTicking(Math.max(200, Math.min(centre.heartbeatMs, centre.alarms.silentAfterMs / 3, 5000)));
      log.info('centre up', { url: self.url, exchange: config.exchange, departments: [...config.departments.keys()] });
      return self;
    } catch (err) {
      for (const close of closing.reverse()) await close().catch(() => undefined);
      throw err;
    }
  }

  /** Where it serves (the port it was given, when told port 0). */
  get url(): string {
    const { address, port, family } = this.api.server.address() as AddressInfo;
    return `${this.tls ? 'https' : 'http'}://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.ticking;
    await this.api.close();
    await this.collector.stop();
    await this.publisher.stop();
    await this.broker.close();
    await this.adminBroker.close();
    await this.db.close();
  }

  /** Archiving runs at most twice per archive age, and at least hourly. */
  private async archiveWhenDue(): Promise<void> {
    if (this.archiveAfterMs === null || Date.now() - this.archivedAt < Math.min(this.archiveAfterMs / 2, 3_600_000)) return;
    this.archivedAt = Date.now();
    await this.archiver.run();
  }

  /** A tick that comes while the last one still runs is skipped: under a backlog they would pile up and hold a stop. */
  private startTicking(everyMs: number): void {
    let busy = false;
    this.ticker = setInterval(() => {
      if (busy) return;
      busy = true;
      this.ticking = this.monitor.tick().then(() => this.alarms.retry()).then(() => this.grantsWhenDue()).then(() => this.archiveWhenDue()).then(() => this.analyzeWhenDue()).catch((err) => {
        log.warn('centre checks failed; trying again', { error: errorMessage(err) });
      }).finally(() => {
        busy = false;
      });
    }, everyMs);
  }

  /**
   * Grants past their validity end; a changed grant list is carried out, and every five minutes the
   * broker is made to match it again anyway (a binding or permission changed by hand is undone).
   */
  private async grantsWhenDue(): Promise<void> {
    if (this.grantsCheckMs === 0 || Date.now() - this.grantsCheckedAt < this.grantsCheckMs) return;
    this.grantsCheckedAt = Date.now();
    await this.applications.expireDue();
    const again = Date.now() - this.grantsForcedAt > 300_000;
    if (again) this.grantsForcedAt = Date.now();
    await this.enforcer.enforce(again);
  }

  /** The planner's statistics of the growing tables, every five minutes: a server may run no autovacuum. */
  private async analyzeWhenDue(): Promise<void> {
    if (Date.now() - this.analyzedAt < 300_000) return;
    this.analyzedAt = Date.now();
    await this.db.execute(sql`ANALYZE centre_ledger, centre_record_keys, centre_departments`);
  }
}

/** The centre's database, created on its server the first time. */
async function openDatabase(config: { driver: string; url: string; pool: number }): Promise<Database> {
  try {
    return await connect(config, 'centre');
  } catch (err) {
    if (!/does not exist/.test(errorMessage(err))) throw err;
    await createDatabase(config);
    log.info('the centre\'s database was created', { url: config.url });
    return connect(config, 'centre');
  }
}

async function listen(api: FastifyInstance, at: { host: string; port: number }): Promise<void> {
  try {
    await api.listen({ host: at.host, port: at.port });
  } catch (err) {
    throw new DxgError('DXG_LISTEN', `the centre cannot serve on ${at.host}:${at.port}: ${errorMessage(err)}; set centre.listen to a free host:port`);
  }
}
