import type { Project } from '../config/project';
import { DxgError, errorMessage } from '../errors';
import { log } from '../log';
import type { GeneratedEnterprise, GeneratedPerson } from './generate';
import { sql } from '../../adapters/sql';
import { demoDatabase, resetDatabase, type DemoDatabase, type SetupConnection } from './server';
import { DEMO_TABLES } from './tables';

export interface BuiltDepartment {
  db: DemoDatabase;
  connection: SetupConnection;
  tables: string[];
  rows: number;
}

/**
 * Resets every department database of the config and creates its business tables; fills market
 * regulation's and public security's registers. Every database name is checked before any is dropped.
 */
export async function buildDepartments(project: Project, enterprises: GeneratedEnterprise[], persons: GeneratedPerson[]): Promise<Map<string, BuiltDepartment>> {
  const departments = [...project.config.departments.values()];
  const known = Object.keys(DEMO_TABLES);
  const missing = known.filter((d) => !project.config.departments.has(d));
  const unknown = departments.map((d) => d.id).filter((d) => !known.includes(d));
  if (missing.length || unknown.length) {
    throw new DxgError('DXG_USAGE', `the demo scenario has the departments ${known.join(', ')}${missing.length ? `; the config lacks ${missing.join(', ')}` : ''}${unknown.length ? `; it does not know ${unknown.join(', ')}` : ''}`);
  }
  const dbs = departments.map(demoDatabase);
  for (const [i, db] of dbs.entries()) {
    const other = dbs.slice(0, i).find((o) => o.engine === db.engine && sameServer(o, db) && o.name === db.name);
    if (other) throw new DxgError('DXG_USAGE', `departments ${other.department.id} and ${db.department.id} share the database ${db.name}; the demo gives each department its own`);
  }
  const built = new Map<string, BuiltDepartment>();
  const reset = await Promise.allSettled(dbs.map(async (db) => {
    log.info('demo: resetting database', { department: db.department.id, database: db.name });
    const connection = await resetDatabase(db).catch((err: unknown) => {
      throw new DxgError('DXG_DB', `cannot reset database ${db.name}: ${errorMessage(err)}`, `department ${db.department.id}`, { cause: err });
    });
    const tables = DEMO_TABLES[db.department.id];
    built.set(db.department.id, { db, connection, tables: tables.map((t) => t.name), rows: 0 });
    for (const t of tables) for (const statement of t.ddl[db.engine]) await connection.run(sql.raw(statement));
  }));
  try {
    const failed = reset.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const fill = async (department: string, table: string, rows: object[]) => {
      log.info('demo: writing the register', { department, table, rows: rows.length });
      const b = built.get(department)!;
      await b.connection.insert(table, rows);
      b.rows = rows.length;
    };
    await Promise.all([
      fill('amr', 'ent_registry', enterprises.map((e) => e.row)),
      fill('police', 'rk_person', persons.map((p) => p.row)),
    ]);
  } catch (err) {
    await closeAll(built);
    throw err;
  }
  return built;
}

export async function closeAll(built: Map<string, BuiltDepartment>): Promise<void> {
  await Promise.all([...built.values()].map((b) => b.connection.close().catch(() => undefined)));
}

function sameServer(a: DemoDatabase, b: DemoDatabase): boolean {
  return new URL(a.department.database.url).host === new URL(b.department.database.url).host;
}
