import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DxgError } from '../errors';
import { IndicatorRegistry } from '../indicators/registry';
import { checkFlows } from './checks';
import { checkFlowsAgainstCatalog, loadCatalog, type CatalogEntry } from '../catalog/catalog';
import type { SourceDocument } from './document';
import { loadExchange } from './exchange';
import { loadFlow } from './flow';
import type { ExchangeConfig, Flow } from './model';
import { hasErrors, Problem, sortProblems } from './problems';

/** Everything the gateway reads from disk: the exchange config, its flows and the indicator sets they use. */
export interface Project {
  config: ExchangeConfig;
  flows: Flow[];
  indicators: IndicatorRegistry;
  /** the resource catalog, when the configuration names one */
  catalog: CatalogEntry[] | null;
}

/** A flow or department named on the command line that is not in the exchange: say so, rather than find nothing. */
export function requireKnown(p: Project, names: { flow?: string | readonly string[]; department?: string | readonly string[] }): void {
  for (const id of [names.flow ?? []].flat()) {
    if (!p.flows.some((f) => f.id === id)) throw new DxgError('DXG_USAGE', `unknown flow '${id}' (known: ${p.flows.map((f) => f.id).join(', ')})`);
  }
  for (const id of [names.department ?? []].flat()) {
    if (!p.config.departments.has(id)) throw new DxgError('DXG_USAGE', `unknown department '${id}' (known: ${[...p.config.departments.keys()].join(', ')})`);
  }
}

export interface Loaded {
  project: Project | null;
  problems: Problem[];
}

export function loadProject(configFile: string, env: NodeJS.ProcessEnv = process.env): Loaded {
  const { doc, config } = loadExchange(configFile, env);
  const docs: SourceDocument[] = [doc];
  if (!config) return { project: null, problems: collect(docs) };
  if (!existsSync(config.dirs.flows)) return { project: null, problems: collect(docs) };

  const indicators = new IndicatorRegistry(config.dirs.schemas);
  const flows: Flow[] = [];
  for (const file of flowFiles(config.dirs.flows)) {
    const loaded = loadFlow(file, env);
    docs.push(loaded.doc);
    if (loaded.flow) flows.push(loaded.flow);
  }
  checkFlows(config, flows, indicators);
  let catalog: CatalogEntry[] | null = null;
  if (config.dirs.catalog) {
    const loaded = loadCatalog(config.dirs.catalog, config, indicators, env);
    docs.push(...loaded.docs);
    catalog = loaded.entries;
    checkFlowsAgainstCatalog(flows, catalog, config.dirs.catalog);
  }
  for (const name of schemaFiles(config.dirs.schemas)) indicators.get(name);
  docs.push(...indicators.documents.values());
  const problems = collect(docs);
  return { project: hasErrors(problems) ? null : { config, flows, indicators, catalog }, problems };
}

function flowFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Indicator sets are `<resource>.json`; `dxg-*.schema.json` are the product's own file-format schemas. */
function schemaFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('dxg-')).map((f) => f.replace(/\.json$/, '')).sort();
  } catch {
    return [];
  }
}

function collect(docs: SourceDocument[]): Problem[] {
  return sortProblems(docs.flatMap((d) => d.problems));
}
