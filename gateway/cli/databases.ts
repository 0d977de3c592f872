import type { Database } from '../../adapters/adapter';
import { connect } from '../../adapters';
import type { Project } from '../config/project';
import { errorMessage } from '../errors';

/** Opens every department database that answers; the others are reported, not fatal. */
export async function withDatabases<T>(project: Project, fn: (dbs: Map<string, Database>, unreachable: Map<string, string>) => Promise<T>): Promise<T> {
  const dbs = new Map<string, Database>();
  const unreachable = new Map<string, string>();
  await Promise.all([...project.config.departments.values()].map(async (d) => {
    try {
      dbs.set(d.id, await connect(d.database, d.id));
    } catch (err) {
      unreachable.set(d.id, errorMessage(err));
    }
  }));
  try {
    return await fn(dbs, unreachable);
  } finally {
    await Promise.all([...dbs.values()].map((db) => db.close().catch(() => undefined)));
  }
}
