import { renderCsv } from '../csv';
import type { CatalogEntry } from './catalog';

const HEAD = ['code', 'resource', 'title', 'provider', 'class', 'item', 'subitem', 'themes', 'sharing', 'condition', 'basis', 'method', 'open', 'update_cycle', 'published', 'items', 'sensitive_items'];

/** The catalog as CSV, one row per resource (dxg catalog export --format csv, and the centre's export). */
export function catalogCsv(entries: readonly Omit<CatalogEntry, 'doc'>[]): string {
  return renderCsv(HEAD, entries.map((e) => [e.code, e.resource, e.title, e.provider, e.classification.class, e.classification.item, e.classification.subitem ?? '', e.themes.join(';'),
    e.sharing.type, e.sharing.condition ?? '', e.sharing.basis ?? '', e.method, e.open, e.updateCycle, e.published, e.items.map((i) => i.name).join(';'), e.items.filter((i) => i.sensitive).map((i) => i.name).join(';')]));
}
