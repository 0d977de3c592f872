import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SourceDocument } from '../config/document';
import type { ExchangeConfig, Flow } from '../config/model';
import { specChecker } from '../config/spec-check';
import { closest, didYouMean } from '../config/suggest';
import type { IndicatorRegistry } from '../indicators/registry';
import { catalogSpec, type SHARING_TYPES, type UPDATE_CYCLES } from './entry.spec';

const checkSpec = specChecker(catalogSpec);

/** One resource of the catalog (信息资源目录), as its YAML says, with each item's type from the indicator set. */
export interface CatalogEntry {
  resource: string;
  code: string;
  title: string;
  provider: string;
  abstract: string;
  classification: { class: string; item: string; subitem?: string };
  themes: string[];
  format: string;
  items: { name: string; title: string; type: string; sensitive: boolean }[];
  sharing: { type: (typeof SHARING_TYPES)[number]; condition?: string; basis?: string };
  method: string;
  open: 'open' | 'conditional' | 'closed';
  updateCycle: (typeof UPDATE_CYCLES)[number];
  published: string;
  related: string[];
  doc: SourceDocument;
}

type Raw = Omit<CatalogEntry, 'doc' | 'updateCycle' | 'items'> & { update_cycle: CatalogEntry['updateCycle']; items: { name: string; title?: string; sensitive: boolean }[] };

/**
 * Reads `catalog/*.yaml` and checks each entry against its spec, the exchange's departments and its
 * indicator set; problems are recorded on the entry's document at their place.
 */
export function loadCatalog(dir: string, config: ExchangeConfig, indicators: IndicatorRegistry, env: NodeJS.ProcessEnv = process.env): { docs: SourceDocument[]; entries: CatalogEntry[] } {
  const docs: SourceDocument[] = [];
  const entries: CatalogEntry[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
  } catch {
    config.doc.problem(['catalog'], `catalog folder ${dir} cannot be read`);
  }
  for (const file of files) {
    const doc = SourceDocument.read(file);
    docs.push(doc);
    if (!doc.ok) continue;
    doc.interpolate(env);
    const raw = doc.value() as Raw;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      doc.problem([], 'a catalog entry must be a mapping (resource:, code:, title:, provider:, …)');
      continue;
    }
    checkSpec(doc, raw);
    if (!Array.isArray(raw.items) || typeof raw.sharing !== 'object' || raw.sharing === null) continue;
    const entry = check(doc, raw, config, indicators);
    const twice = entries.find((e) => e.resource === entry.resource || e.code === entry.code);
    if (twice) doc.problem([twice.resource === entry.resource ? 'resource' : 'code'], `${twice.resource === entry.resource ? `resource '${entry.resource}'` : `code '${entry.code}'`} is already in ${twice.doc.display}`);
    else entries.push(entry);
  }
  return { docs, entries };
}

function check(doc: SourceDocument, raw: Raw, config: ExchangeConfig, indicators: IndicatorRegistry): CatalogEntry {
  const departments = [...config.departments.keys()];
  if (typeof raw.provider === 'string' && !config.departments.has(raw.provider)) {
    const hint = closest(raw.provider, departments);
    doc.problem(['provider'], `provider '${raw.provider}' is not a department of ${config.doc.display}${hint ? ` (did you mean '${hint}'?)` : `; known: ${departments.join(', ')}`}`);
  }
  if (raw.sharing.type === 'none' && !raw.sharing.basis?.trim()) doc.problem(['sharing'], 'sharing: a resource that is not shared (none) names its legal basis (basis:)');
  if (raw.sharing.type === 'conditional' && !raw.sharing.condition?.trim()) doc.problem(['sharing'], 'sharing: a conditional resource says its condition (condition:)');
  const set = typeof raw.resource === 'string' && indicators.exists(raw.resource) ? indicators.get(raw.resource) : null;
  // a set that is there but broken has its own problems reported in its file
  if (typeof raw.resource === 'string' && !indicators.exists(raw.resource)) doc.problem(['resource'], indicators.missing(raw.resource));
  const known = set ? Object.keys(set.properties) : [];
  const seen = new Set<string>();
  const items = raw.items.map((item, i) => {
    if (set && !set.has(item.name)) {
      doc.problem(['items', i, 'name'], `information item '${item.name}' is not an indicator of ${raw.resource}${didYouMean(item.name, known)}`);
    }
    if (seen.has(item.name)) doc.problem(['items', i, 'name'], `information item '${item.name}' is listed twice`);
    seen.add(item.name);
    const prop = (set?.properties[item.name] ?? {}) as { title?: string; type?: string | string[]; format?: string };
    const type = [prop.type ?? 'any'].flat().filter((t) => t !== 'null').join('|') + (prop.format ? ` (${prop.format})` : '');
    return { name: item.name, title: item.title ?? prop.title ?? item.name, type, sensitive: item.sensitive ?? false };
  });
  const { update_cycle: updateCycle, items: _items, ...rest } = raw;
  return { ...rest, updateCycle, items, themes: raw.themes ?? [], related: raw.related ?? [], published: String(raw.published), doc };
}

/**
 * With a catalog, the flows are governed by it (DESIGN §9): every resource a flow moves has an entry,
 * comes from the department the entry names as its provider, and no target is given an indicator the
 * entry does not list as an information item.
 */
export function checkFlowsAgainstCatalog(flows: readonly Flow[], entries: readonly CatalogEntry[], catalogDir: string): void {
  for (const flow of flows) {
    const entry = entries.find((e) => e.resource === flow.resource);
    if (!entry) {
      flow.doc.problem(['resource'], `resource '${flow.resource}' has no entry in the catalog (${catalogDir}): nothing is shared outside the catalog`);
      continue;
    }
    if (entry.provider !== flow.source.department) {
      flow.doc.problem(['source', 'department'], `the catalog names ${entry.provider} as the provider of ${flow.resource} (${entry.doc.display}), not ${flow.source.department}`);
    }
    if (entry.sharing.type === 'none') flow.doc.problem(['resource'], `${flow.resource} is not shared (sharing: none, ${entry.sharing.basis ?? 'no basis given'}; ${entry.doc.display})`);
    const listed = new Set(entry.items.map((i) => i.name));
    for (const t of flow.targets) {
      for (const indicator of Object.keys(t.fields)) {
        if (!listed.has(indicator)) flow.doc.problem(['targets', t.index, 'fields', indicator], `indicator '${indicator}' is not an information item of ${flow.resource} in the catalog (${entry.doc.display})`, 'error', 'key');
      }
    }
  }
}
