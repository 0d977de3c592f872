import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';
import type { CatalogEntry } from '../catalog/catalog';
import { entryJson } from '../catalog/views';
import type { Journal } from './journal';

/** An entry as the centre holds and serves it: the YAML's content, the file it came from. */
export type PublishedEntry = ReturnType<typeof entryJson>;

/**
 * The catalog as last published to the centre (DESIGN §9): the entries in `catalog/` are the source
 * of truth; publishing replaces the centre's copy with them, and the journal records who did it.
 */
export class CatalogStore {
  constructor(private readonly db: Database, private readonly journal: Journal) {}

  async publish(entries: readonly (CatalogEntry | PublishedEntry)[], actor: string): Promise<{ published: number; withdrawn: string[] }> {
    const json = entries.map((e) => ('doc' in e ? entryJson(e) : e));
    return this.db.transaction(async (tx) => {
      const before = await tx.query<{ resource: string }>(sql`SELECT resource FROM centre_catalog`);
      const withdrawn = before.map((r) => r.resource).filter((r) => !json.some((e) => e.resource === r));
      if (withdrawn.length) await tx.execute(sql`DELETE FROM centre_catalog WHERE resource IN ${sql.list(withdrawn)}`);
      for (const e of json) {
        await tx.execute(sql`INSERT INTO centre_catalog (resource, code, provider, sharing, entry, published_by) VALUES (${e.resource}, ${e.code}, ${e.provider}, ${e.sharing.type}, ${JSON.stringify(e)}, ${actor})
          ON CONFLICT (resource) DO UPDATE SET code = EXCLUDED.code, provider = EXCLUDED.provider, sharing = EXCLUDED.sharing, entry = EXCLUDED.entry, published_at = now(), published_by = EXCLUDED.published_by`);
      }
      await this.journal.recordIn(tx, actor, 'catalog published', `${json.length} entries`, withdrawn.length ? `withdrawn: ${withdrawn.join(', ')}` : null);
      return { published: json.length, withdrawn };
    });
  }

  async entries(): Promise<PublishedEntry[]> {
    const rows = await this.db.query<{ entry: PublishedEntry | string }>(sql`SELECT entry FROM centre_catalog ORDER BY code`);
    return rows.map((r) => (typeof r.entry === 'string' ? (JSON.parse(r.entry) as PublishedEntry) : r.entry));
  }

  async entry(resource: string): Promise<PublishedEntry | null> {
    return (await this.entries()).find((e) => e.resource === resource || e.code === resource) ?? null;
  }
}
