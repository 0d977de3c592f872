import { connect } from '../../adapters';
import { createBookkeeping, type BookkeepingReport } from '../bookkeeping/schema';
import { Broker } from '../broker/connection';
import { BrokerAdmin } from '../broker/admin';
import { brokerPassword, departmentUrl } from '../broker/credentials';
import { Publisher } from '../broker/publisher';
import { staleQueues } from '../broker/teardown';
import { routesOf, Topology } from '../broker/topology';
import type { Project } from '../config/project';
import { DxgError, errorMessage } from '../errors';
import { bindSource, bindTarget, CatalogError } from '../flow/binding';
import { exchangeKeyring } from '../envelope/keys';
import { changeChannel } from '../flow/extract';
import { requestResyncs } from '../flow/resync';
import { Ledger } from '../ledger/ledger';
import { currentGovernance } from '../grants/current';

export interface InitReport {
  departments: { id: string; ok: boolean; message: string }[];
  queues: string[];
  /** the departments' broker users */
  users: string[];
  problems: string[];
  /** what may be wrong without being certain (a source key its table does not hold unique) */
  warnings: string[];
  /** the exchange's queues on the broker that the config no longer uses (see dxg teardown --stale) */
  stale: { name: string; messages?: number }[];
  /** with a catalog: the targets left unbound for want of a grant, and where the grant list came from */
  unbound: string[];
  grants: string | null;
}

/**
 * Creates the bookkeeping tables in every department database, checks every flow against the
 * catalogs, and declares the broker topology. Safe to run again at any time.
 */
export async function initExchange(project: Project): Promise<InitReport> {
  const { config, flows, indicators } = project;
  const report: InitReport = { departments: [], queues: [], users: [], problems: [], warnings: [], stale: [], unbound: [], grants: null };
  for (const dept of config.departments.values()) {
    let db;
    try {
      db = await connect(dept.database, dept.id);
    } catch (err) {
      report.departments.push({ id: dept.id, ok: false, message: errorMessage(err) });
      continue;
    }
    try {
      const bookkeeping = await createBookkeeping(db, dept.id);
      const before = report.problems.length;
      for (const flow of flows) {
        const set = indicators.get(flow.resource)!;
        try {
          if (flow.source.department === dept.id) {
            const binding = await bindSource(db, flow, set);
            report.warnings.push(...binding.warnings);
            if (flow.source.notify) {
              if (!db.changes.notifications) throw new CatalogError([`${flow.doc.at(['source', 'notify'])}: ${db.driver} has no change notification; remove notify (the schedule drives the flow)`]);
              await db.changes.notifications.watch(binding.change, changeChannel(flow.id));
            }
          }
          for (const t of flow.targets) if (t.department === dept.id) await bindTarget(db, flow, t, set);
        } catch (err) {
          if (err instanceof CatalogError) report.problems.push(...err.problems);
          else report.problems.push(`${flow.doc.display}: ${errorMessage(err)}`);
        }
      }
      const ok = report.problems.length === before;
      report.departments.push({ id: dept.id, ok, message: ok ? `${dept.database.driver}: bookkeeping ready${upgraded(bookkeeping)}` : `${dept.database.driver}: flows do not match the tables` });
    } catch (err) {
      report.departments.push({ id: dept.id, ok: false, message: errorMessage(err) });
    } finally {
      await db.close();
    }
  }
  const topology = Topology.of(config);
  const routes = routesOf(flows);
  // with a catalog, a target without a grant is neither bound nor allowed to read its queue
  const { governance, from, note } = await currentGovernance(project, exchangeKeyring(config), true);
  report.grants = governance.governed ? (note ?? `grant list version ${governance.version} from the centre`) : null;
  const readable = (d: string) => (governance.governed ? governance.readable(flows, d).map((f) => f.id) : undefined);
  const kept = from === 'kept' && governance.grantList ? ' (kept grant list)' : '';
  for (const u of governance.uncovered(flows)) report.unbound.push(`${u.flow.id} → ${u.target.department}: ${u.problem}${kept}`);
  // each department's own broker user, allowed only its own exchanges and queues
  const admin = BrokerAdmin.of(config.broker);
  for (const dept of config.departments.keys()) {
    await admin.putUser(topology.user(dept), brokerPassword(config, dept, true));
    await admin.setPermissions(topology.user(dept), topology.permissions(dept, readable(dept)));
  }
  report.users = [...config.departments.keys()].map((d) => topology.user(d));
  const broker = await Broker.connect(config.broker.url, 'init', false, config.broker.ca);
  try {
    await broker.withChannel(async (ch) => {
      await topology.declareExchanges(ch, config.departments.keys());
      for (const dept of config.departments.keys()) {
        const may = readable(dept);
        report.queues.push(...(await topology.declareDepartment(ch, dept, routes, may && new Set(may))));
      }
    });
  } finally {
    await broker.close();
  }
  // the first release's shared exchanges, which every department could write to (their bindings go with them)
  for (const legacy of topology.legacyExchanges) await admin.deleteExchange(legacy);
  report.stale = await staleQueues(config, flows, admin);
  return report;
}

const upgraded = (r: BookkeepingReport): string =>
  (r.upgrades.length ? ` (schema upgraded from version ${r.from} to ${r.to}: ${r.upgrades.join('; ')})` : '');

/**
 * `dxg init --restored D`: department D's database was restored from a backup. Enters a signed
 * `restored` event in its ledger, so that the heads its peers saw before, now above or unlike what
 * the restored ledger holds, are no longer taken for tampering (`dxg audit verify` names them).
 * What the restore rolled back at a source is sent again from its restored checkpoint, and the
 * targets' version guards keep it from being applied twice; what it rolled back at a target, the
 * target asks each of its sources to send again (see Resyncer), as itself over the broker.
 */
export async function declareRestored(project: Project, departments: string[]): Promise<string[]> {
  const { config, flows } = project;
  const keyring = exchangeKeyring(config);
  const topology = Topology.of(config);
  const lines: string[] = [];
  for (const id of departments) {
    const db = await connect(config.departments.get(id)!.database, id);
    try {
      const ledger = new Ledger(keyring, id);
      await ledger.load(db);
      const receives = flows.filter((f) => f.targets.some((t) => t.department === id));
      const [entry] = await db.transaction((tx) => ledger.append(tx, [{
        kind: 'restored', count: 0,
        detail: { reason: 'database restored from a backup (dxg init --restored)', headAfterRestore: ledger.head, resyncs: receives.map((f) => ({ flow: f.id, of: f.source.department })) },
      }]));
      lines.push(`${id}: restore declared at ledger entry ${entry.seq} (the restored ledger held ${BigInt(entry.seq) - 1n} entries)`);
      if (receives.length === 0) continue;
      const user = topology.user(id);
      const broker = await Broker.connect(departmentUrl(config, id, user), `init ${id}`, false, config.broker.ca);
      const publisher = new Publisher(broker, user);
      try {
        await publisher.start();
        for (const r of await requestResyncs(id, receives, entry.seq, keyring, ledger, topology, publisher)) {
          lines.push(`${id}: asked ${r.source} to send flow ${r.flow} again (its node does it when it runs)`);
        }
      } catch (err) {
        throw new DxgError('DXG_BROKER', `${id}: the restore is declared, but asking its sources to send again failed (${errorMessage(err)}); run dxg init --restored ${id} again once the broker is reachable`);
      } finally {
        await publisher.stop().catch(() => undefined);
        await broker.close();
      }
    } finally {
      await db.close();
    }
  }
  return lines;
}
