import { connect } from '../../adapters';
import { createBookkeeping, type BookkeepingReport } from '../bookkeeping/schema';
import { Broker } from '../broker/connection';
import { Topology } from '../broker/topology';
import type { Project } from '../config/project';
import { errorMessage } from '../errors';
import { bindSource, bindTarget, CatalogError } from '../flow/binding';
import { changeChannel } from '../flow/extract';

export interface InitReport {
  departments: { id: string; ok: boolean; message: string }[];
  queues: string[];
  problems: string[];
}

/**
 * Creates the bookkeeping tables in every department database, checks every flow against the
 * catalogs, and declares the broker topology. Safe to run again at any time.
 */
export async function initExchange(project: Project): Promise<InitReport> {
  const { config, flows, indicators } = project;
  const report: InitReport = { departments: [], queues: [], problems: [] };
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
  const broker = await Broker.connect(config.broker.url, 'init');
  try {
    const topology = new Topology(config.exchange, config.broker);
    await broker.withChannel(async (ch) => {
      await topology.declareExchanges(ch);
      for (const dept of config.departments.keys()) {
        const inbound = flows.filter((f) => f.targets.some((t) => t.department === dept)).map((f) => f.id);
        report.queues.push(...(await topology.declareDepartment(ch, dept, inbound)));
      }
    });
  } finally {
    await broker.close();
  }
  return report;
}

const upgraded = (r: BookkeepingReport): string =>
  (r.upgrades.length ? ` (schema upgraded from version ${r.from} to ${r.to}: ${r.upgrades.join('; ')})` : '');
